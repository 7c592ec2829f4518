"""The stand-in refuses an inline keyboard of more than 100 buttons, as Telegram does ("reply markup
is too long"), wherever a keyboard can be sent: a message, a file, an edit of either."""

import json

import aiohttp
import pytest

from tests.support.telegram import FaultyBotApi

TOKEN = "123456789:AAHtestTOKENtestTOKENtestTOKENtest123"
TOO_LONG = "Bad Request: reply markup is too long"


def keyboard(buttons: int, per_row: int = 4) -> dict:
    labels = [{"text": f"№{n}", "callback_data": f"dk:pick:{n}"} for n in range(buttons)]
    return {"inline_keyboard": [labels[i:i + per_row] for i in range(0, buttons, per_row)]}


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
