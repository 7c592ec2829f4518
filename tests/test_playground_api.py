"""The playground page's JSON: what it refuses, and what it keeps across a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.playground.server import BotApiServer
from bot.playground.web import MAX_UPLOAD, Playground, seed_people

EMMA = 700103


@pytest.fixture
async def playground(i18n, tmp_path) -> AsyncIterator[tuple[Playground, aiohttp.ClientSession, str]]:
    api = BotApiServer()
    page = Playground(api, i18n, people_file=tmp_path / "people.json")
    seed_people(page, (700001,))
    await api.start()
    async with aiohttp.ClientSession() as http:
        yield page, http, api.url
    await api.stop()


async def test_adding_people_checks_what_it_is_given_and_keeps_them_for_the_next_start(playground, i18n, tmp_path):
    _, http, url = playground
    for bad in ({"name": "", "language": "kk"}, {"name": "A", "id": "12ab"}, {"name": "A", "id": "0"},
                {"name": "A", "id": str(EMMA)}, {"name": "A", "language": "<script>"}, {"name": ["A"]},
                {"name": "A" * 65}, {"name": "A", "id": "²"}):
        async with http.post(f"{url}/api/people", json=bad) as response:
            assert response.status == 400, bad
            assert await response.json() == {"error": "bad_person"}  # the page shows its translated text
    async with http.post(f"{url}/api/people", json={"name": "Ерлан", "language": "kk", "id": "555"}) as response:
        assert response.status == 200
        assert (await response.json())["id"] == 555
    async with http.post(f"{url}/api/people", json={"name": "Zoe", "language": "en-GB"}) as response:
        zoe = (await response.json())["id"]

    # The next start (same data folder) has them again, with the same ids the database knows.
    again = Playground(BotApiServer(), i18n, people_file=tmp_path / "people.json")
    seed_people(again, (700001,))
    again.load_added_people()
    assert again.api.people[555].first_name == "Ерлан"
    assert again.api.people[zoe].language_code == "en-GB"


async def test_requests_another_site_could_forge_are_refused(playground):
    page, http, url = playground
    # A plain form post (which any web page may send without asking) is not JSON.
    async with http.post(f"{url}/api/chats/{EMMA}/text", data="text=/start", headers={"Content-Type": "text/plain"}) as response:
        assert response.status == 415
    # A DNS name rebound to 127.0.0.1 arrives with its own Host.
    async with http.get(f"{url}/api/people", headers={"Host": "evil.example"}) as response:
        assert response.status == 403
    assert page.api.chat(EMMA) == []


async def test_malformed_actions_are_refused_and_change_nothing(playground):
    page, http, url = playground
    for path, body in ((f"/api/chats/{EMMA}/text", {"text": "  "}), (f"/api/chats/{EMMA}/text", {"text": "x" * 10_001}),
                       (f"/api/chats/{EMMA}/text", {"text": 5}), (f"/api/chats/{EMMA}/block", {"blocked": "false"}),
                       (f"/api/chats/{EMMA}/location", {"latitude": 91, "longitude": 0}),
                       (f"/api/chats/{EMMA}/location", {"latitude": "north", "longitude": 0}),
                       (f"/api/chats/{EMMA}/press", {"message_id": "1e999", "data": "x"})):
        async with http.post(url + path, json=body) as response:
            assert response.status == 400, (path, body)
    async with http.post(f"{url}/api/chats/99/text", json={"text": "hi"}) as response:
        assert response.status == 404
    async with http.post(f"{url}/api/chats/{EMMA}/press", json={"message_id": 1, "data": "x"}) as response:
        assert response.status == 409  # no such button: the page was behind
    assert page.api.chat(EMMA) == [] and not page.api.people[EMMA].blocked_bot


async def test_uploads_are_capped_and_only_pictures_open_in_the_page(playground):
    page, http, url = playground
    form = aiohttp.FormData()
    form.add_field("file", b"\0" * (MAX_UPLOAD + 1), filename="big.bin", content_type="application/octet-stream")
    async with http.post(f"{url}/api/chats/{EMMA}/file", data=form) as response:
        assert response.status == 413
    assert page.api.chat(EMMA) == []

    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    form = aiohttp.FormData()
    form.add_field("file", svg, filename="logo.svg", content_type="image/svg+xml")
    form.add_field("caption", "біздің логотип")
    async with http.post(f"{url}/api/chats/{EMMA}/file", data=form) as response:
        assert response.status == 200
    [sent] = page.api.chat(EMMA)
    assert sent.document is not None and sent.caption == "біздің логотип"  # a file, not a photo
    async with http.get(f"{url}/api/files/{sent.document['file_id']}") as response:
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
