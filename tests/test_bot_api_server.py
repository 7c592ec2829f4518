"""The Bot API stand-in refuses what Telegram refuses, with Telegram's own error texts."""

import io
import json
import time

import aiohttp
import pytest
from PIL import Image

from bot.standin import picture
from tests.support.telegram import FaultyBotApi

TOKEN = "123456789:AAHtestTOKENtestTOKENtestTOKENtest123"


@pytest.fixture(autouse=True)
def refusals_are_the_point(api: FaultyBotApi) -> None:
    api.expect_refusal("*", "", "these tests make the refused calls themselves, to see the refusal")


@pytest.fixture
async def call(api: FaultyBotApi):
    api.add_person(42, "Aigerim", "kk", started=True)
    async with aiohttp.ClientSession() as http:

        async def _call(method: str, **params):
            form = {k: json.dumps(v) if isinstance(v, (dict, list)) else str(v) for k, v in params.items()}
            async with http.post(f"{api.url}/bot{TOKEN}/{method}", data=form) as response:
                return response.status, await response.json()

        yield _call


async def test_a_message_goes_to_the_chat_with_its_inline_keyboard_but_not_a_reply_keyboard(call, api):
    status, body = await call("sendMessage", chat_id=42, text="<b>Сәлем</b>, досым!", parse_mode="HTML",
                              reply_markup={"keyboard": [[{"text": "Мәзір"}]]})
    assert status == 200 and body["ok"]
    assert body["result"]["text"] == "Сәлем, досым!"
    assert body["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 5}]
    assert "reply_markup" not in body["result"]
    assert api.reply_keyboard(42) == {"keyboard": [[{"text": "Мәзір"}]]}

    status, body = await call("sendMessage", chat_id=42, text="Таңдаңыз",
                              reply_markup={"inline_keyboard": [[{"text": "Иә", "callback_data": "yes"}]]})
    assert body["result"]["reply_markup"] == {"inline_keyboard": [[{"text": "Иә", "callback_data": "yes"}]]}


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        ({"text": "<b>" + "x" * 4096 + "</b>", "parse_mode": "HTML"}, None),  # 4096 after parsing is fine
        ({"text": "   "}, "Bad Request: message text is empty"),
        ({"text": "<b>bold", "parse_mode": "HTML"}, 'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"'),
        ({"text": "a <div>b</div>", "parse_mode": "HTML"}, 'Bad Request: can\'t parse entities: Unsupported start tag "div" at byte offset 2'),
        ({"text": "line<br/>break", "parse_mode": "HTML"}, 'Bad Request: can\'t parse entities: Unsupported start tag "br/" at byte offset 4'),
        ({"text": "<b>x</i>", "parse_mode": "HTML"}, 'Bad Request: can\'t parse entities: Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        # A person's text put into a message unescaped: Telegram reads every "<" as a tag.
        ({"text": "1 < 2", "parse_mode": "HTML"}, 'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2'),
        ({"text": "5<6", "parse_mode": "HTML"}, "Bad Request: can't parse entities: Unclosed start tag at byte offset 1"),
        ({"text": "a <b", "parse_mode": "HTML"}, "Bad Request: can't parse entities: Unclosed start tag at byte offset 2"),
        ({"text": "<b>Қала</b> <Алматы>", "parse_mode": "HTML"}, 'Bad Request: can\'t parse entities: Unsupported start tag "Алматы" at byte offset 16'),
        ({"text": "x</b>", "parse_mode": "HTML"}, "Bad Request: can't parse entities: Unexpected end tag at byte offset 1"),
        ({"text": "<span>x</span>", "parse_mode": "HTML"}, 'Bad Request: can\'t parse entities: Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ({"text": "<a href=x/>y</a>", "parse_mode": "HTML"}, "Bad Request: can't parse entities: Unexpected end of name token at byte offset 8"),
        ({"text": "1 &lt; 2 &amp; 3 > 2", "parse_mode": "HTML"}, None),
        ({"text": "ok", "reply_markup": {"inline_keyboard": [[{"text": "long", "callback_data": "d" * 65}]]}}, "Bad Request: BUTTON_DATA_INVALID"),
        ({"text": "ok", "reply_markup": {"inline_keyboard": [[{"text": "ok", "callback_data": "ә" * 32}]]}}, None),  # 64 bytes
        ({"text": "ok", "reply_markup": {"inline_keyboard": [[{"text": "ok", "callback_data": "ә" * 33}]]}}, "Bad Request: BUTTON_DATA_INVALID"),
    ],
)
async def test_send_message_refusals(call, params, description):
    status, body = await call("sendMessage", chat_id=42, **params)
    if description is None:
        assert status == 200, body
    else:
        assert (status, body["description"]) == (400, description)


async def test_unknown_chat_blocked_person_and_injected_flood_limit(call, api):
    status, body = await call("sendMessage", chat_id=999, text="hi")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")

    api.block(42)
    status, body = await call("sendMessage", chat_id=42, text="hi")
    assert (status, body["error_code"], body["description"]) == (403, 403, "Forbidden: bot was blocked by the user")

    api.people[42].blocked_bot = False
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    status, body = await call("sendMessage", chat_id=42, text="hi")
    assert status == 429 and body["parameters"] == {"retry_after": 3}
    status, body = await call("sendMessage", chat_id=42, text="hi")
    assert status == 200
    failed = [c for c in api.calls if not c.ok]
    assert [c.error for c in failed][-1] == "Too Many Requests: retry after 3"


async def test_flood_control_is_on_at_telegrams_rates(call, api):
    """Judged from the calls' own times, so that a slow machine changes the counts, not the verdict."""
    # One chat: a burst of 20 passes, then one a second.
    started, passed = time.monotonic(), 0
    while (status := (await call("sendMessage", chat_id=42, text=f"{passed}"))[0]) == 200:
        passed += 1
    assert status == 429 and api.calls[-1].error == "Too Many Requests: retry after 1"
    assert 20 <= passed <= 20 + (time.monotonic() - started), passed
    api.add_person(43, "Dana", "ru", started=True)
    assert (await call("sendMessage", chat_id=43, text="hi"))[0] == 200, "another chat is not held up"

    # All chats: at most 30 sends a second, and a refusal only when 30 went in the second before.
    for person in range(100, 160):
        api.add_person(person, "P", "ru", started=True)
        await call("sendMessage", chat_id=person, text="hi")
    sends = [c for c in api.calls if c.method == "sendMessage"]
    ok_times = [c.at for c in sends if c.ok]
    refused = [c for c in sends if c.error and "chat" not in (c.expected or "")]
    assert refused, "60 sends at once meet flood control"
    for c in sends:
        in_the_second = sum(1 for at in ok_times if c.at - 1.0 < at <= c.at)
        assert in_the_second <= 30
    for c in refused:
        assert sum(1 for at in ok_times if c.at - 1.0 < at < c.at) == 30


async def test_edits_and_deletes(call, api):
    _, body = await call("sendMessage", chat_id=42, text="Бірінші")
    message_id = body["result"]["message_id"]
    status, body = await call("editMessageText", chat_id=42, message_id=message_id, text="Бірінші")
    assert status == 400 and body["description"].startswith("Bad Request: message is not modified")
    status, body = await call("editMessageText", chat_id=42, message_id=message_id, text="Екінші")
    assert status == 200 and api.message(42, message_id).text == "Екінші"
    status, body = await call("editMessageText", chat_id=42, message_id=9999, text="x")
    assert body["description"] == "Bad Request: message to edit not found"
    assert (await call("deleteMessage", chat_id=42, message_id=message_id))[0] == 200
    status, body = await call("deleteMessage", chat_id=42, message_id=message_id)
    assert body["description"] == "Bad Request: message to delete not found"
    assert all(m.message_id != message_id for m in api.chat(42))


async def test_caption_limit_and_multipart_upload(api):
    api.add_person(42, "Aigerim", "kk", started=True)
    chart = picture("a chart", 1600, 900)

    async def send_photo(http, content: bytes, caption: str) -> tuple[int, dict]:
        form = aiohttp.FormData()
        form.add_field("chat_id", "42")
        form.add_field("caption", caption)
        form.add_field("photo", "attach://pic")
        form.add_field("pic", content, filename="chart.jpg", content_type="image/jpeg")
        async with http.post(f"{api.url}/bot{TOKEN}/sendPhoto", data=form) as response:
            return response.status, await response.json()

    async with aiohttp.ClientSession() as http:
        status, body = await send_photo(http, chart, "ф" * 1025)
        assert (status, body["description"]) == (400, "Bad Request: message caption is too long")
        status, body = await send_photo(http, b"\x89PNG not really", "Диаграмма")
        assert (status, body["description"]) == (400, "Bad Request: IMAGE_PROCESS_FAILED")

        status, body = await send_photo(http, chart, "Диаграмма")
        assert status == 200
        # Telegram keeps a photo in sizes, smallest first, each a file of its own.
        sizes = body["result"]["photo"]
        assert [(s["width"], s["height"]) for s in sizes] == [(90, 51), (320, 180), (800, 450), (1280, 720), (1600, 900)]
        assert len({s["file_id"] for s in sizes}) == len({s["file_unique_id"] for s in sizes}) == 5
        async with http.post(f"{api.url}/bot{TOKEN}/getFile", data={"file_id": sizes[-1]["file_id"]}) as response:
            path = (await response.json())["result"]["file_path"]
        async with http.get(f"{api.url}/file/bot{TOKEN}/{path}") as response:
            assert Image.open(io.BytesIO(await response.read())).size == (1600, 900)


async def test_every_upload_is_a_new_file_and_only_a_forward_or_a_resend_keeps_it(call, api):
    api.add_person(43, "Dana", "ru", started=True)
    _, first = await api.send_photo(42, picture("the alley"))
    _, again = await api.send_photo(42, picture("the alley"))  # the same bytes, uploaded again
    assert first.photo[-1]["file_unique_id"] != again.photo[-1]["file_unique_id"]
    assert first.photo[-1]["file_id"] != again.photo[-1]["file_id"]

    _, forwarded = await api.forward(43, first)  # Dana forwards Aigerim's photo to the bot
    assert forwarded.photo == first.photo
    update = next(u for u in await api._api_getupdates({}, {}) if u["message"]["message_id"] == forwarded.message_id
                  and u["message"]["chat"]["id"] == 43)
    assert update["message"]["forward_origin"]["sender_user"]["id"] == 42
    _, resent = await api.forward(42, first, keep_origin=False)  # from the app's recent files
    assert resent.photo == first.photo and "forward_origin" not in resent.extra

    # The bot sending a photo by the file id of any of its sizes sends that photo: the same sizes.
    status, body = await call("sendPhoto", chat_id=42, photo=first.photo[0]["file_id"])
    assert status == 200 and body["result"]["photo"] == first.photo
    _, document = await api.send_document(42, b"%PDF-1.7", "proof.pdf", "application/pdf")
    status, body = await call("sendPhoto", chat_id=42, photo=document.document["file_id"])
    assert (status, body["description"]) == (400, "Bad Request: type of file mismatch")
    status, body = await call("sendDocument", chat_id=42, document=first.photo[-1]["file_id"])
    assert (status, body["description"]) == (400, "Bad Request: type of file mismatch")
    with pytest.raises(ValueError, match="IMAGE_PROCESS_FAILED"):
        await api.send_photo(42, b"not a picture")  # an app sends only pictures as photos


async def test_updates_are_confirmed_by_offset_and_callback_queries_answered_once(call, api):
    update_id, message = await api.send_text(42, "/start")
    status, body = await call("getUpdates", offset=0, timeout=0)
    assert [u["update_id"] for u in body["result"]] == [update_id]
    assert body["result"][0]["message"]["entities"][0]["type"] == "bot_command"
    _, body = await call("getUpdates", offset=update_id + 1, timeout=0)
    assert body["result"] == []

    _, sent = await call("sendMessage", chat_id=42, text="?", reply_markup={"inline_keyboard": [[{"text": "Иә", "callback_data": "yes"}]]})
    _, query_id = await api.press(42, sent["result"]["message_id"], "yes")
    assert (await call("answerCallbackQuery", callback_query_id=query_id, text="OK"))[0] == 200
    status, body = await call("answerCallbackQuery", callback_query_id=query_id)
    assert body["description"] == "Bad Request: query is too old and response timeout expired or query ID is invalid"
    with pytest.raises(LookupError):
        await api.press(42, sent["result"]["message_id"], "no-such-button")


async def test_albums_both_ways(call, api):
    sent = await api.send_album(42, [picture("one"), picture("two"), picture("three")], caption="Три фото")
    updates = [u["message"] for u in await api._api_getupdates({}, {})]
    assert [u["message_id"] for u in updates] == [m.message_id for _, m in sent], "one update per photo, in order"
    assert len({u["media_group_id"] for u in updates}) == 1
    assert [u.get("caption") for u in updates] == ["Три фото", None, None]
    with pytest.raises(ValueError):
        await api.send_album(42, [picture("alone")])  # one photo is no album

    photos = [{"type": "photo", "media": m.photo[-1]["file_id"]} for _, m in sent]
    status, body = await call("sendMediaGroup", chat_id=42, media=photos[:2])
    assert status == 200 and len(body["result"]) == 2
    assert body["result"][0]["media_group_id"] == body["result"][1]["media_group_id"]
    assert body["result"][1]["photo"] == sent[1][1].photo, "sent by file id: the same photo"
    status, body = await call("sendMediaGroup", chat_id=42, media=photos[:1])
    assert status == 200 and "media_group_id" not in body["result"][0], "one item is a message of its own"
    refusals = [
        ([], "there are no messages to send"),
        (photos * 4, "too many messages to send as an album"),
        ([photos[0], {"type": "document", "media": photos[1]["media"]}], "document can't be mixed with other media types"),
        ([photos[0], {"type": "photo", "media": "attach://missing"}], "there is no photo in the request"),
        ([{**photos[0], "caption": "1 < 2", "parse_mode": "HTML"}, photos[1]], "can't parse entities"),
    ]
    before = len(api.chat(42))
    for media, description in refusals:
        status, body = await call("sendMediaGroup", chat_id=42, media=media)
        assert status == 400 and description in body["description"], (media, body)
    assert len(api.chat(42)) == before, "a refused album sends nothing"


async def test_edits_reach_the_bot_only_if_it_asked_and_a_missing_reply_is_refused(call, api):
    _, message = await api.send_text(42, "Менің нөмірім 8 701 111 22 33")
    await call("getUpdates", offset=0, timeout=0, allowed_updates=["message", "callback_query"])
    assert await api.edit_text(42, message, "Менің нөмірім 8 701 999 88 77") is None, "the bot did not ask for edits"
    assert api.withheld_updates == ["edited_message"]
    assert api.message(42, message.message_id).text.endswith("999 88 77"), "the chat shows the edit all the same"
    await call("getUpdates", offset=0, timeout=0, allowed_updates=[])  # empty: Telegram's default, edits included
    update_id = await api.edit_text(42, message, "Менің нөмірім 8 701 555 44 33")
    _, body = await call("getUpdates", offset=0, timeout=0)
    edited = next(u for u in body["result"] if u["update_id"] == update_id)["edited_message"]
    assert edited["text"].endswith("555 44 33") and edited["edit_date"] >= edited["date"]

    await call("deleteMessage", chat_id=42, message_id=message.message_id)
    status, body = await call("sendMessage", chat_id=42, text="?", reply_parameters={"message_id": message.message_id})
    assert (status, body["description"]) == (400, "Bad Request: message to be replied not found")
    status, body = await call("sendMessage", chat_id=42, text="?",
                              reply_parameters={"message_id": message.message_id, "allow_sending_without_reply": True})
    assert status == 200 and "reply_to_message" not in body["result"]


async def test_unknown_method_is_not_found(call):
    status, body = await call("sendTelepathy", chat_id=42)
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})


@pytest.mark.parametrize(
    ("html", "text", "entities"),
    [
        # Only &lt; &gt; &amp; &quot; and numeric references are decoded (the ; may be missing).
        ("&lt;&gt;&amp;&quot; &#1241; &#x4E9;", '<>&" ә ө', []),
        ("Tom &amp; Jerry &nbsp;&copy; &laquo;ok&raquo;", "Tom & Jerry &nbsp;&copy; &laquo;ok&raquo;", []),
        ("R&D, 5 &lt 6", "R&D, 5 < 6", []),
        # A link Telegram cannot follow is dropped, its text kept; <a> alone links its own text.
        ('<a href="javascript:alert(1)">ашу</a>', "ашу", []),
        ("<a>qazvolunteer.kz</a>", "qazvolunteer.kz", [{"type": "text_link", "offset": 0, "length": 15, "url": "http://qazvolunteer.kz/"}]),
        ("<a>мұнда</a>", "мұнда", []),
        ('<a href="https://t.me/qazvolunteer_bot?start=x">бот</a>', "бот",
         [{"type": "text_link", "offset": 0, "length": 3, "url": "https://t.me/qazvolunteer_bot?start=x"}]),
        ("<b></b>бос", "бос", []),
        ("🏟 <i>🏟</i>", "🏟 🏟", [{"type": "italic", "offset": 3, "length": 2}]),
    ],
)
async def test_html_is_read_as_telegram_reads_it(call, html, text, entities):
    status, body = await call("sendMessage", chat_id=42, text=html, parse_mode="HTML")
    assert status == 200, body
    assert body["result"]["text"] == text
    assert body["result"].get("entities", []) == entities


# --- an inline keyboard of more than 100 buttons ("reply markup is too long"), wherever one can be sent

TOO_LONG = "Bad Request: reply markup is too long"


def keyboard(buttons: int, per_row: int = 4) -> dict:
    labels = [{"text": f"№{n}", "callback_data": f"dk:pick:{n}"} for n in range(buttons)]
    return {"inline_keyboard": [labels[i:i + per_row] for i in range(0, buttons, per_row)]}


@pytest.mark.parametrize("per_row", [1, 4, 8])
async def test_a_hundred_buttons_go_and_one_more_is_refused(call, api, per_row):
    status, body = await call("sendMessage", chat_id=42, text="Requests", reply_markup=keyboard(100, per_row))
    assert status == 200, body
    assert sum(len(row) for row in body["result"]["reply_markup"]["inline_keyboard"]) == 100
    before = len(api.chat(42))
    status, body = await call("sendMessage", chat_id=42, text="Requests", reply_markup=keyboard(101, per_row))
    assert (status, body["description"]) == (400, TOO_LONG)
    assert len(api.chat(42)) == before, "nothing was sent"


async def test_edits_and_files_with_too_many_buttons_are_refused_and_change_nothing(call, api):
    status, body = await call("sendMessage", chat_id=42, text="Requests", reply_markup=keyboard(10))
    message_id = body["result"]["message_id"]
    status, body = await call("editMessageText", chat_id=42, message_id=message_id, text="More requests", reply_markup=keyboard(101))
    assert (status, body["description"]) == (400, TOO_LONG)
    status, body = await call("editMessageReplyMarkup", chat_id=42, message_id=message_id, reply_markup=keyboard(120))
    assert (status, body["description"]) == (400, TOO_LONG)
    shown = api.message(42, message_id)
    assert shown.text == "Requests" and len(shown.buttons) == 10, "the message is as it was"
    status, body = await call("editMessageReplyMarkup", chat_id=42, message_id=message_id, reply_markup=keyboard(100))
    assert status == 200 and len(api.message(42, message_id).buttons) == 100

    status, body = await call("sendDocument", chat_id=42, document="BQACAgIAAxkBAAIBdocument", reply_markup=keyboard(101))
    assert (status, body["description"]) == (400, TOO_LONG)
