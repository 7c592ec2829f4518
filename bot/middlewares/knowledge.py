"""Each update gets the knowledge base as this process serves it at that moment (`kb`): a change
made in any process reaches the next update here without a restart (`LiveKnowledge`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from bot.services.knowledge.live import LiveKnowledge


class CurrentKnowledge(BaseMiddleware):
    def __init__(self, live: LiveKnowledge) -> None:
        self.live = live

    async def __call__(
        self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]], event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        data["kb"] = self.live.current
        return await handler(event, data)
