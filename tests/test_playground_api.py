"""The playground page's JSON: what it refuses, and what it keeps across a restart."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.standin import BotApiServer, picture
from bot.playground.cast import PLAYGROUND_TOKEN, seed_people
from bot.playground.web import MAX_UPLOAD, Playground

EMMA = 700103
TOKEN_HEADER = "X-Playground-Token"


async def page_token(url: str) -> str | None:
    """The token as the page's script finds it: in the page itself."""
    async with aiohttp.ClientSession() as http, http.get(url + "/") as response:
        found = re.search(r'<meta name="playground-token" content="([^"]+)">', await response.text())
    return found and found.group(1)


@pytest.fixture
async def playground(i18n, tmp_path) -> AsyncIterator[tuple[Playground, aiohttp.ClientSession, str]]:
    """The page's server, and a client that sends what the page sends (its token)."""
    api = BotApiServer()
    page = Playground(api, i18n, people_file=tmp_path / "people.json")
    seed_people(page, (700001,))
    api.person(EMMA).started = True  # she has used the bot before: it may write to her first
    await api.start()
    token = await page_token(api.url)
    async with aiohttp.ClientSession(headers={TOKEN_HEADER: token} if token else None) as http:
        yield page, http, api.url
    await api.stop()


async def bot_api(url: str, method: str, **params) -> dict | list:
    """The bot's side: the Bot API endpoints, which know nothing of the page's token."""
    async with aiohttp.ClientSession() as http, http.post(f"{url}/bot{PLAYGROUND_TOKEN}/{method}", json=params) as response:
        answer = await response.json()
    assert answer["ok"], answer
    return answer["result"]


def every_action(message_id: int) -> list[tuple[str, dict]]:
    """Each state-changing request of the page, as (path, what aiohttp sends)."""
    upload = aiohttp.FormData()
    upload.add_field("file", picture("a cat"), filename="cat.jpg", content_type="image/jpeg")
    return [
        ("/api/people", {"json": {"name": "Mallory", "language": "en", "id": "666"}}),
        (f"/api/chats/{EMMA}/text", {"json": {"text": "/start"}}),
        (f"/api/chats/{EMMA}/file", {"data": upload}),
        (f"/api/chats/{EMMA}/contact", {}),
        (f"/api/chats/{EMMA}/location", {"json": {"latitude": 43.25, "longitude": 76.95}}),
        (f"/api/chats/{EMMA}/press", {"json": {"message_id": message_id, "data": "yes"}}),
        (f"/api/chats/{EMMA}/read", {}),
        (f"/api/chats/{EMMA}/block", {"json": {"blocked": True}}),
    ]


async def emma_unread(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(f"{url}/api/people") as response:
        return next(p["unread"] for p in await response.json() if p["id"] == EMMA)


async def a_question_to_emma(url: str) -> int:
    sent = await bot_api(url, "sendMessage", chat_id=EMMA, text="Жалғастырайық па?",
                         reply_markup={"inline_keyboard": [[{"text": "Иә", "callback_data": "yes"}]]})
    return sent["message_id"]


async def test_a_request_without_the_pages_token_is_refused_and_reaches_nobody(playground):
    """Another site open in the same browser can post forms and fetch to 127.0.0.1, but cannot read
    the page, so it lacks the token: whatever it sends is refused and nothing changes."""
    page, http, url = playground
    question = await a_question_to_emma(url)
    forged = [
        {},                                                  # no token at all
        {TOKEN_HEADER: "0" * 43},                            # a guessed one
        {TOKEN_HEADER: ""},
    ]
    async with aiohttp.ClientSession() as other_site:
        for headers in forged:
            for path, request in every_action(question):
                async with other_site.post(url + path, headers=headers, **request) as response:
                    assert response.status == 403, (path, headers, response.status)
                    assert response.content_type == "application/json"
                    assert (await response.json())["error"] == "not_from_the_page"
        # What an HTML form on another site sends: no custom header, a simple content type.
        for path in (f"/api/chats/{EMMA}/contact", f"/api/chats/{EMMA}/read", f"/api/chats/{EMMA}/location"):
            async with other_site.post(url + path, data={"x": "1"}) as response:
                assert response.status == 403, path
    assert await bot_api(url, "getUpdates", timeout=0) == []  # the bot received nothing
    assert [m.message_id for m in page.api.chat(EMMA)] == [question]
    assert not page.api.people[EMMA].blocked_bot and 666 not in page.api.people
    assert await emma_unread(http, url) == 1


async def test_another_sites_origin_is_refused_even_with_the_token(playground):
    page, http, url = playground
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                    {"Origin": "http://evil.example"}, {"Origin": "null"}, {"Origin": url.replace("127.0.0.1", "localhost")}):
        async with http.post(f"{url}/api/chats/{EMMA}/contact", headers=headers) as response:
            assert response.status == 403, headers
    assert page.api.chat(EMMA) == []


async def test_with_the_pages_token_every_action_reaches_the_bot(playground):
    page, http, url = playground
    token = await page_token(url)
    assert token and len(token) >= 32, "the page carries its token"
    question = await a_question_to_emma(url)
    # As Chromium sends the page's own requests.
    browser = {TOKEN_HEADER: token, "Origin": url, "Sec-Fetch-Site": "same-origin"}
    async with aiohttp.ClientSession() as tab:
        for path, request in every_action(question):
            async with tab.post(url + path, headers=browser, **request) as response:
                assert response.status == 200, (path, await response.text())
    updates = await bot_api(url, "getUpdates", timeout=0)
    kinds = [next(k for k in ("text", "photo", "contact", "location") if k in u["message"]) if "message" in u
             else "callback_query" for u in updates]
    assert kinds == ["text", "photo", "contact", "location", "callback_query"]
    assert page.api.people[666].first_name == "Mallory" and page.api.people[EMMA].blocked_bot
    assert await emma_unread(http, url) == 0
    # The bot's own calls need no page token either (it is not the page).
    assert (await bot_api(url, "getMe"))["is_bot"]


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
