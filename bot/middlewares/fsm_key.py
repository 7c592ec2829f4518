"""Resolves the person's FSM key once per update, for `ArrivalMiddleware` to read their state with
their record in one statement.

One update of a person at a time, commit included, is the intake's guarantee (`bot/services/intake.py`:
a person's next update is handed out only after the previous one's handling committed, in whichever
process). aiogram's own event isolation is therefore off: its lock would be per process only, and it
is released before our commit (aiogram issues #960, #1317)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.types import TelegramObject

FSM_KEY = "fsm_storage_key"


class FsmKeyMiddleware(BaseMiddleware):
    def __init__(self, fsm: FSMContextMiddleware) -> None:
        self.fsm = fsm  # only to build the same per-person key as the FSM does

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        context = self.fsm.resolve_event_context(data["bot"], data)
        if context is not None:
            data[FSM_KEY] = context.key
        return await handler(event, data)
