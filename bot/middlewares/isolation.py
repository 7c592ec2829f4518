"""One update of a person at a time, around everything of ours including the commit.

aiogram takes this lock inside its FSM middleware, which would release it before our session
middleware commits: the person's next update could then read the state of before the commit
(aiogram issues #960, #1317). So the lock is taken here, outermost, and aiogram's FSM middleware
runs inside the session with isolation disabled (its state read is then one more statement of the
update's transaction instead of a connection of its own)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import TelegramObject

FSM_KEY = "fsm_storage_key"


class EventIsolationMiddleware(BaseMiddleware):
    def __init__(self, isolation: BaseEventIsolation, fsm: FSMContextMiddleware) -> None:
        self.isolation = isolation
        self.fsm = fsm  # only to build the same per-person key as the FSM does

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        context = self.fsm.resolve_event_context(data["bot"], data)
        if context is None:
            return await handler(event, data)
        data[FSM_KEY] = context.key  # resolved once per update; ArrivalMiddleware reads it
        async with self.isolation.lock(key=context.key):
            return await handler(event, data)
