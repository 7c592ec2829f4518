"""A router whose every handler is one action of the permission table (`bot/services/access.py`)
checks it here, in the update's own transaction, once a handler has matched: the router's filters
only keep other people's updates away cheaply; this is the permission."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from bot.services import access
from bot.services.access import Act


class Requires(BaseMiddleware):
    def __init__(self, act: Act) -> None:
        self.act = act

    async def __call__(
        self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]], event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        data["operator"] = await access.require(data["session"], data.get("operator"), self.act)
        return await handler(event, data)
