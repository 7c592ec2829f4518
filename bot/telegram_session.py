"""The Bot API session: aiogram's aiohttp session, made cheaper per call.

Three costs of aiogram's defaults, each measured under load in `bench/`:

* aiogram parses every answer as `Response[method.__returning__]`. pydantic keeps parametrized
  generic models only in a WeakValueDictionary, so between calls the garbage collector drops them
  and the next call builds the model class again: about a fifth of the bot's CPU. Holding a strong
  reference to each response type keeps pydantic's cache warm.
* Requests are sent as urlencoded forms, every nested value JSON-encoded on its own and then
  percent-encoded (six bytes per Cyrillic or Kazakh letter). The Bot API takes JSON bodies too; a
  request with no file to upload is sent as one JSON document. Uploads stay multipart.
* Answers are decoded into Python objects and then validated; pydantic validates the JSON text
  directly in one pass. Refusals still go through aiogram's own path, which raises its exceptions.

And one duty of its own: while a stored update is handled (`bot/jobs/intake.py`), every call and
Telegram's answer go to that update's `CallJournal`; when the same update is handled again because
its first handling never committed, the calls it already made are answered from the journal instead
of being made twice. Only a call in flight at a kill (carried out by Telegram, its answer not yet
recorded) can be made again, as with the outbox's messages: a call is recorded before the next one
goes out, and the last one only if the handling has not committed soon after it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any, ClassVar

import orjson
from aiogram import BaseMiddleware
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.types import InlineKeyboardMarkup
from aiohttp import BytesPayload, ClientConnectorError, ConnectionTimeoutError, FormData
from pydantic import ValidationError

from bot import metrics


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# Telegram lets a bot send about 30 messages a second in all; beyond, it answers 429 for a while.
SENDS_PER_SECOND = 29
# A 429 Telegram asks to wait out this long at most is waited for once, then the call is made again:
# a person's answer must not be lost to a moment of flood control. Only while answering an update:
# the outbox worker and the announcer handle 429s themselves, without holding a row or a lane.
RETRY_AFTER_AT_MOST = 5
_answering: ContextVar[bool] = ContextVar("answering_an_update", default=False)
# A call is recorded at the latest this long after it was made, if its update's handling has not
# committed by then (`CallJournal`).
RECORD_AFTER = 0.05


class CallJournal:
    """The Bot API calls made while handling one stored update, in order, with Telegram's answers.

    `earlier` are the calls of the attempts before this one. While this attempt makes the same calls
    in the same order (the handlers are deterministic given the same stored state), each is answered
    from there; from the first call that differs on, every call goes to Telegram.

    Each call Telegram carried out is passed to `record` (which stores it where a crash does not
    lose it) before the next call goes out, or `RECORD_AFTER` seconds after it was made if the
    handling has not ended by then; a handling that commits first needs no record at all (its
    commit says the update was handled). So an update answered with one call, most of them, costs
    no record: a round trip per call was a fifth of the bot's throughput (`bench/README.md`). What
    this leaves: a kill in the moments between an update's last call and its commit (at most
    `RECORD_AFTER`) makes the next attempt repeat that last call, as a kill between a call and its
    record always could."""

    def __init__(
        self, update_id: int, earlier: list[tuple[str, str]],
        record: Callable[[int, int, str, str], Awaitable[None]] | None = None,
    ) -> None:
        self.update_id = update_id
        self.calls = list(earlier)  # what Telegram carried out so far, this attempt's included
        self.recorded = 0  # records this attempt wrote (the handling's commit deletes them)
        self._replayable = len(earlier)
        self._next = 0
        self._record = record
        self._unrecorded: deque[tuple[int, str, str]] = deque()
        self._recording = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._late: asyncio.Task[None] | None = None
        # An earlier attempt's records that this attempt no longer follows are replaced as soon as
        # a call is made: left there, a kill would let the next attempt replay them.
        self._at_once = False
        self._settled = False  # the handling is committing: nothing more is recorded

    @property
    def replayed(self) -> int:
        return min(self._next, self._replayable)

    def replay(self, method: str) -> str | None:
        """Telegram's earlier answer to this call, if this is the call made at this point before."""
        if self._next < self._replayable and self.calls[self._next][0] == method:
            self._next += 1
            return self.calls[self._next - 1][1]
        # Diverged (or past the end): the earlier attempt's later calls are not this attempt's.
        if self._next < self._replayable:
            self._at_once = True
        self._replayable = 0
        del self.calls[self._next:]
        return None

    async def made(self, method: str, answer: str) -> None:
        seq = self._next
        self._next += 1
        self.calls.append((method, answer))
        if self._record is None:
            return
        self._unrecorded.append((seq, method, answer))
        if self._at_once:
            await self.record_now()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(RECORD_AFTER, self._record_late)

    def carried_out(self, method: str) -> bool:
        """Whether this handling has made (or replayed) a call of `method` so far, answered or
        refused for good."""
        return any(name == method for name, _ in self.calls[:self._next])

    @property
    def behind(self) -> bool:
        """Whether a call made is not stored yet (waiting, or being written)."""
        return bool(self._unrecorded) or self._recording.locked()

    async def record_now(self) -> None:
        """Store the calls not stored yet, in order: before the next call goes out, and before a
        failed handling lets the update go (another process may take it at once)."""
        self._cancel_timer()
        async with self._recording:
            while self._unrecorded and not self._settled:
                seq, method, answer = self._unrecorded.popleft()
                await self._record(self.update_id, seq, method, answer)  # type: ignore[misc]
                self.recorded += 1

    async def settle(self) -> None:
        """The handling is about to commit: what is unrecorded stays so (the commit covers it); a
        record being written is waited for, so that the commit's deletion of the records sees it."""
        self._cancel_timer()
        self._settled = True
        async with self._recording:
            pass

    async def unsettle(self) -> None:
        """The commit failed after all: store what was left unrecorded, before the update goes."""
        self._settled = False
        await self.record_now()

    def _record_late(self) -> None:
        self._timer = None
        self._late = asyncio.create_task(self.record_now(), name=f"record-calls-{self.update_id}")

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


# Telegram's answers that say a call was refused for good (not a flood wait or its own trouble).
REFUSALS = frozenset({HTTPStatus.BAD_REQUEST, HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND})


def _status_of(answer: str) -> int:
    """The HTTP status Telegram gave with a recorded answer: its `error_code` if it refused."""
    if '"ok":true' in answer[:20].replace(" ", ""):
        return HTTPStatus.OK
    return int(orjson.loads(answer).get("error_code") or HTTPStatus.OK)


_journal: ContextVar[CallJournal | None] = ContextVar("call_journal", default=None)
# Telegram's answer text of the call in flight in this task, for the journal.
_answer: ContextVar[list[str] | None] = ContextVar("call_answer", default=None)


def called_while_handling(method: str) -> bool:
    """Whether the update being handled has already had a call of `method` (one without a chat,
    such as answerCallbackQuery) carried out or refused."""
    journal = _journal.get()
    return journal is not None and journal.carried_out(method)


def journal_calls(journal: CallJournal | None) -> Any:
    """Make the calls of the current task (and the tasks it starts) go through `journal`; returns
    the token to reset it with."""
    return _journal.set(journal)


def stop_journal(token: Any) -> None:
    _journal.reset(token)


class AnsweringUpdates(BaseMiddleware):
    """Marks the calls made while handling an update: those are retried once after a short 429."""

    async def __call__(
        self, handler: Callable[[Any, dict[str, Any]], Awaitable[Any]], event: Any, data: dict[str, Any]
    ) -> Any:
        token = _answering.set(True)
        try:
            return await handler(event, data)
        finally:
            _answering.reset(token)


class SendBudget:
    """The messages the bot sent to Telegram in the last second: this process's, counted here, and
    the other processes' (`others`, kept current by `bot/jobs/send_rates.py`). Announcements send
    only while there is room under `SENDS_PER_SECOND` beside what people are answered, so a
    broadcast never pushes a person's answer into Telegram's flood control."""

    def __init__(self, per_second: int = SENDS_PER_SECOND) -> None:
        self.per_second = per_second
        self.others = 0
        self._sent: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - 1.0:
            self._sent.popleft()

    def record(self) -> None:
        self._sent.append(time.monotonic())

    def recent(self) -> int:
        self._expire(time.monotonic())
        return len(self._sent)

    async def room(self, keep_free: int) -> None:
        """Wait until fewer than `per_second - keep_free` messages went out in the last second."""
        while True:
            now = time.monotonic()
            self._expire(now)
            if len(self._sent) + self.others < self.per_second - keep_free:
                return
            # Until this process's oldest send leaves the window, or the others' figure is renewed.
            await asyncio.sleep(max(0.005, min(self._sent[0] + 1.0 - now if self._sent else 0.05, 0.05)))


def delivery_unknown(error: TelegramNetworkError) -> bool:
    """Whether Telegram may have carried out a call that failed with this network error. It may,
    unless the connection was never made (refused, no route, a timeout while connecting): a timeout
    or a broken connection after the request went out says nothing of whether the message was
    delivered. aiogram raises the aiohttp error as the cause."""
    return not isinstance(error.__cause__, (ClientConnectorError, ConnectionTimeoutError))


def _is_message(method: TelegramMethod[Any]) -> bool:
    name = method.__api_method__
    return name.startswith(("send", "edit", "copy", "forward"))


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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(json_loads=orjson.loads, json_dumps=_dumps, **kwargs)
        self.budget = SendBudget()

    async def make_request(self, bot: Any, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        journal = _journal.get()
        if journal is None:
            return await self._make_request(bot, method, timeout)
        # A call is recognised by its method and its chat: should the handling go another way this
        # time (someone else changed what it reads meanwhile), a message to someone else is sent.
        chat_id = getattr(method, "chat_id", None)
        name = method.__api_method__ if chat_id is None else f"{method.__api_method__}:{chat_id}"
        earlier = journal.replay(name)
        if earlier is not None:
            return self.check_response(bot, method, _status_of(earlier), earlier).result
        if journal.behind:
            await journal.record_now()  # the calls before this one first
        answer: list[str] = []
        token = _answer.set(answer)
        try:
            return await self._make_request(bot, method, timeout)
        finally:
            _answer.reset(token)
            if answer:  # carried out, or refused for good
                await journal.made(name, answer[-1])

    async def _make_request(self, bot: Any, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        counted = _is_message(method)
        if counted:
            self.budget.record()
        waited = 0
        while True:
            try:
                return await super().make_request(bot, method, timeout)
            except TelegramRetryAfter as error:
                metrics.FLOOD_WAITS.labels("answers" if _answering.get() else "background").inc()
                # An answer waits out a short flood wait, even several in a row (the chat's own
                # limit refills one message a second while others' messages use it too), up to
                # RETRY_AFTER_AT_MOST in all; the outbox and the announcer reschedule instead.
                if waited + error.retry_after > RETRY_AFTER_AT_MOST or not _answering.get():
                    raise
                await asyncio.sleep(max(error.retry_after, 1))
                waited += max(error.retry_after, 1)
                if counted:
                    self.budget.record()

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
                    if (answer := _answer.get()) is not None:
                        answer.append(content)
                    return response
        if status_code in REFUSALS and (answer := _answer.get()) is not None:
            # Refused for good: recorded too, so the next attempt meets the same refusal at the same
            # point and the calls after it stay in step.
            answer.append(content)
        return super().check_response(bot, method, status_code, content)
