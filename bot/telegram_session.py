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
from aiohttp import BytesPayload, ClientConnectorError, ConnectionTimeoutError, FormData
from pydantic import ValidationError


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# Telegram lets a bot send about 30 messages a second in all; beyond, it answers 429 for a while.
SENDS_PER_SECOND = 29
# A 429 Telegram asks to wait out this long at most is waited for once, then the call is made again:
# a person's answer must not be lost to a moment of flood control. Only while answering an update:
# the outbox worker and the announcer handle 429s themselves, without holding a row or a lane.
RETRY_AFTER_AT_MOST = 5
_answering: ContextVar[bool] = ContextVar("answering_an_update", default=False)


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
    """The messages this process sent to Telegram in the last second. Announcements send only while
    there is room under `SENDS_PER_SECOND` beside what people are answered, so a broadcast never
    pushes a person's answer into Telegram's flood control."""

    def __init__(self, per_second: int = SENDS_PER_SECOND) -> None:
        self.per_second = per_second
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
            if len(self._sent) < self.per_second - keep_free:
                return
            await asyncio.sleep(max(0.005, self._sent[0] + 1.0 - now))


def delivery_unknown(error: TelegramNetworkError) -> bool:
    """Whether Telegram may have carried out a call that failed with this network error. It may,
    unless the connection was never made (refused, no route, a timeout while connecting): a timeout
    or a broken connection after the request went out says nothing of whether the message was
    delivered. aiogram raises the aiohttp error as the cause."""
    return not isinstance(error.__cause__, (ClientConnectorError, ConnectionTimeoutError))


def _is_message(method: TelegramMethod[Any]) -> bool:
    name = method.__api_method__
    return name.startswith(("send", "edit", "copy", "forward"))


class TelegramSession(AiohttpSession):
    """Also: orjson for the Bot API's JSON, several times faster than the standard library's; the
    process's send budget; and, while answering an update, one retry of a call that met flood
    control for a short while."""

    _response_types: ClassVar[dict[Any, type[Response[Any]]]] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(json_loads=orjson.loads, json_dumps=_dumps, **kwargs)
        self.budget = SendBudget()

    async def make_request(self, bot: Any, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        counted = _is_message(method)
        if counted:
            self.budget.record()
        try:
            return await super().make_request(bot, method, timeout)
        except TelegramRetryAfter as error:
            if error.retry_after > RETRY_AFTER_AT_MOST or not _answering.get():
                raise
            await asyncio.sleep(error.retry_after)
            if counted:
                self.budget.record()
            return await super().make_request(bot, method, timeout)

    def build_form_data(self, bot: Any, method: TelegramMethod[Any]) -> FormData:
        files: dict[str, Any] = {}
        fields = {}
        for key, value in method.model_dump(warnings=False).items():
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
                response = response_type.model_validate_json(content, context={"bot": bot})
            except ValidationError:
                pass  # aiogram's path below raises its own decode error
            else:
                if response.ok:
                    return response
        return super().check_response(bot, method, status_code, content)
