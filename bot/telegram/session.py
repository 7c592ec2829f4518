"""The Bot API session: aiogram's aiohttp session, made cheaper per call.

Three costs of aiogram's defaults, each measured under load in `bench/`:

* aiogram parses every answer as `Response[method.__returning__]`. pydantic keeps parametrized
  generic models only in a WeakValueDictionary, so between calls the garbage collector drops them
  and the next call builds the model class again: about a fifth of the bot's CPU. Holding a strong
  reference to each response type keeps pydantic's cache warm.
* (Not aiogram's.) Every message sent or edited takes its place in the process's send budget first
  (`bot/telegram/send_budget.py`), so answers wait a moment instead of meeting flood control.
* Requests are sent as urlencoded forms, every nested value JSON-encoded on its own and then
  percent-encoded (six bytes per Cyrillic or Kazakh letter). The Bot API takes JSON bodies too; a
  request with no file to upload is sent as one JSON document. Uploads stay multipart.
* Answers are decoded into Python objects and then validated; pydantic validates the JSON text
  directly in one pass. Refusals still go through aiogram's own path, which raises its exceptions.

While a stored update is handled, each call goes through the update's `CallJournal`
(`bot/telegram/journal.py`): a call its earlier handling already made is answered from there. A
press's answer is the exception (`_answer_press`): Telegram itself refuses to take it twice.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any, ClassVar

import orjson
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, Response, TelegramMethod
from aiogram.types import InlineKeyboardMarkup
from aiohttp import BytesPayload, ClientConnectorError, ConnectionTimeoutError, FormData
from pydantic import ValidationError

from bot import metrics
from bot.telegram.journal import REFUSALS, call_answer, current_journal, status_of
from bot.telegram.send_budget import SENDS_PER_SECOND, SendBudget, announcing

log = logging.getLogger(__name__)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# A 429 Telegram asks to wait out this long at most is waited for once, then the call is made again:
# a person's answer must not be lost to a moment of flood control. Only while answering an update:
# the outbox worker and the announcer handle 429s themselves, without holding a row or a lane.
RETRY_AFTER_AT_MOST = 5
# How Telegram refuses an answer to a press it no longer takes (too late, or answered already).
_PRESS_ANSWER_EXPIRED = ("query is too old", "query ID is invalid")
# Set while an update is handled (`bot/middlewares/answering.py`).
answering_an_update: ContextVar[bool] = ContextVar("answering_an_update", default=False)


def delivery_unknown(error: TelegramNetworkError) -> bool:
    """Whether Telegram may have carried out a call that failed with this network error. It may,
    unless the connection was never made (refused, no route, a timeout while connecting): a timeout
    or a broken connection after the request went out says nothing of whether the message was
    delivered. aiogram raises the aiohttp error as the cause."""
    return not isinstance(error.__cause__, (ClientConnectorError, ConnectionTimeoutError))


def _messages_of(method: TelegramMethod[Any]) -> int:
    """How many messages a call sends or edits, as Telegram's flood control counts them: each
    photo of an album is one."""
    name = method.__api_method__
    if not name.startswith(("send", "edit", "copy", "forward")):
        return 0
    media = getattr(method, "media", None)
    return len(media) if name == "sendMediaGroup" and isinstance(media, list) else 1


def _validated(response_type: type[Response[Any]], method: TelegramMethod[Any], content: str, bot: Any) -> Response[Any]:
    """Telegram's answer as aiogram's model. A message the bot sent or edited comes back with its
    inline keyboard, which is the one the call carried: the call's own object stands for it instead
    of being built again from Telegram's copy (a region keyboard's 20 buttons were 110 of the
    150 µs an answer took to validate, and a tenth of the bot's time under load)."""
    markup = getattr(method, "reply_markup", None)
    if isinstance(markup, InlineKeyboardMarkup):
        answer = orjson.loads(content)
        result = answer.get("result")
        if isinstance(result, dict) and "reply_markup" in result:
            result["reply_markup"] = markup
            return response_type.model_validate(answer, context={"bot": bot})
    return response_type.model_validate_json(content, context={"bot": bot})


class TelegramSession(AiohttpSession):
    """Also: orjson for the Bot API's JSON, several times faster than the standard library's; the
    process's send budget; and, while answering an update, one retry of a call that met flood
    control for a short while."""

    _response_types: ClassVar[dict[Any, type[Response[Any]]]] = {}

    def __init__(self, sends_per_second: int = SENDS_PER_SECOND, **kwargs: Any) -> None:
        super().__init__(json_loads=orjson.loads, json_dumps=_dumps, **kwargs)
        # None: no budget (a Bot API server without flood control; TELEGRAM_SENDS_PER_SECOND=0).
        self.budget = SendBudget(sends_per_second) if sends_per_second else None

    async def make_request(self, bot: Any, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        if isinstance(method, AnswerCallbackQuery):
            return await self._answer_press(bot, method, timeout)
        journal = current_journal.get()
        if journal is None:
            return await self._make_request(bot, method, timeout)
        # A call is recognised by its method and its chat: should the handling go another way this
        # time (someone else changed what it reads meanwhile), a message to someone else is sent.
        chat_id = getattr(method, "chat_id", None)
        name = method.__api_method__ if chat_id is None else f"{method.__api_method__}:{chat_id}"
        earlier = journal.replay(name)
        if earlier is not None:
            return self.check_response(bot, method, status_of(earlier), earlier).result
        if journal.behind:
            await journal.record_now()  # the calls before this one first
        answer: list[str] = []
        token = call_answer.set(answer)
        try:
            return await self._make_request(bot, method, timeout)
        finally:
            call_answer.reset(token)
            if answer:  # carried out, or refused for good
                await journal.made(name, answer[-1])

    async def _answer_press(self, bot: Any, method: AnswerCallbackQuery, timeout: int | None) -> bool:
        """A press's answer (it stops the button's spinner, or shows a short text) is neither
        recorded in the journal nor kept from being repeated: Telegram takes one answer per press
        and only for a short while, and refuses any other as "query is too old … or query ID is
        invalid". That refusal says only that the answer can no longer be shown: the press was
        handled late (a backlog after downtime), or this is the next attempt at an update whose
        press was answered before a crash. The handling goes on; what the press asked is done."""
        journal = current_journal.get()
        if journal is not None and journal.behind:
            await journal.record_now()  # the calls before it first, as before any call
        try:
            answered = await self._make_request(bot, method, timeout)
        except TelegramBadRequest as refused:
            if not any(words in refused.message for words in _PRESS_ANSWER_EXPIRED):
                raise
            # Also what a second answer to one press meets: a bug if it was not a retry after all.
            log.info("a press's answer came too late or twice", extra={"method": method.__api_method__})
            metrics.PRESS_ANSWERS_EXPIRED.inc()
            answered = True
        if journal is not None:  # (not on a network failure: it may not have reached Telegram)
            journal.note_unrecorded(method.__api_method__)
        return answered

    async def _make_request(self, bot: Any, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        places = _messages_of(method) if self.budget is not None else 0
        waited = 0
        while True:
            if places and announcing.get():
                await self.budget.take_for_announcement()  # (an announcement is one message)
            elif places:
                await self.budget.take(places)
            try:
                return await super().make_request(bot, method, timeout)
            except TelegramRetryAfter as error:
                metrics.FLOOD_WAITS.labels("answers" if answering_an_update.get() else "background").inc()
                # An answer waits out a short flood wait, even several in a row (the chat's own
                # limit refills one message a second while others' messages use it too), up to
                # RETRY_AFTER_AT_MOST in all; the outbox and the announcer reschedule instead.
                if waited + error.retry_after > RETRY_AFTER_AT_MOST or not answering_an_update.get():
                    raise
                await asyncio.sleep(max(error.retry_after, 1))
                waited += max(error.retry_after, 1)
            finally:
                if places:
                    self.budget.release(places)

    def build_form_data(self, bot: Any, method: TelegramMethod[Any]) -> FormData:
        files: dict[str, Any] = {}
        fields = {}
        # Without the fields left empty (most of every button's dozen): aiogram drops them anyway,
        # after walking them; a 20-button keyboard took 105 µs so, 62 µs this way, the same JSON.
        for key, value in method.model_dump(warnings=False, exclude_none=True).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None:
                fields[key] = prepared
        if files:
            return super().build_form_data(bot, method)
        # aiohttp posts any payload it is given; the annotation is aiogram's.
        return BytesPayload(orjson.dumps(fields), content_type="application/json")  # type: ignore[return-value]

    def _response_type(self, method: TelegramMethod[Any]) -> type[Response[Any]]:
        returning = method.__returning__
        response_type = self._response_types.get(returning)
        if response_type is None:
            response_type = self._response_types[returning] = Response[returning]  # type: ignore[valid-type]
        return response_type

    def check_response(self, bot: Any, method: TelegramMethod[Any], status_code: int, content: str) -> Any:
        response_type = self._response_type(method)
        if HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            try:
                response = _validated(response_type, method, content, bot)
            except (ValidationError, ValueError):
                pass  # aiogram's path below raises its own decode error
            else:
                if response.ok:
                    if (answer := call_answer.get()) is not None:
                        answer.append(content)
                    return response
        if status_code in REFUSALS and (answer := call_answer.get()) is not None:
            # Refused for good: recorded too, so the next attempt meets the same refusal at the same
            # point and the calls after it stay in step.
            answer.append(content)
        return super().check_response(bot, method, status_code, content)
