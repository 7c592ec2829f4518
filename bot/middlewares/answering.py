"""Marks the Bot API calls made while handling an update (`bot/telegram/session.py` waits out a
short flood wait for those, and only those: the outbox and the announcer reschedule instead)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware

from bot.telegram.session import answering_an_update


class AnsweringUpdates(BaseMiddleware):
    """Marks the calls made while handling an update: those are retried once after a short 429."""

    async def __call__(
        self, handler: Callable[[Any, dict[str, Any]], Awaitable[Any]], event: Any, data: dict[str, Any]
    ) -> Any:
        token = answering_an_update.set(True)
        try:
            return await handler(event, data)
        finally:
            answering_an_update.reset(token)
