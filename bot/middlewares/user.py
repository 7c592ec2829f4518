"""Who is writing: their stored record (or None before consent) and the language to answer in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User as TelegramUser
from aiogram.utils.i18n import I18nMiddleware

from bot.i18n import supported_language
from bot.services.users import get_user

# During onboarding the chosen language is kept in the FSM data until the person consents.
ONBOARDING_LANGUAGE_KEY = "language"


class UserMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        from_user: TelegramUser | None = data.get("event_from_user")
        data["user"] = await get_user(data["session"], from_user.id) if from_user else None
        return await handler(event, data)


class UserLocaleMiddleware(I18nMiddleware):
    """The stored language; during onboarding the one just chosen; else Telegram's, else default."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user = data.get("user")
        if user is not None:
            return user.language
        raw_state = data.get("raw_state")
        if raw_state and raw_state.startswith("Onboarding:"):
            chosen = (await data["state"].get_data()).get(ONBOARDING_LANGUAGE_KEY)
            if chosen:
                return chosen
        from_user: TelegramUser | None = data.get("event_from_user")
        return supported_language(from_user.language_code if from_user else None) or self.i18n.default_locale
