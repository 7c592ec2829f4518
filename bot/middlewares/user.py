"""Who is writing: their stored record (None before consent), their conversation state, and the
language to answer in.

`ArrivalMiddleware` reads the person and the FSM row in one statement, on the update's own
connection and in its transaction (begun by the intake's claim), before aiogram's FSM middleware,
and hands the state to the storage's per-update memo: an update that only reads (most of them:
questions, menus) costs that one round trip. A person's first update of a day also writes down that
day (the retention period counts from it): one UPDATE a day per person, committed with the update."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser
from aiogram.utils.i18n import I18nMiddleware

from bot.db.storage import PostgresStorage
from bot.i18n import supported_language
from bot.middlewares.fsm_key import FSM_KEY
from bot.services.users import arrive, must_note_arrival, wrote

# During onboarding the chosen language is kept in the FSM data until the person consents.
ONBOARDING_LANGUAGE_KEY = "language"


class ArrivalMiddleware(BaseMiddleware):
    def __init__(self, storage: PostgresStorage) -> None:
        self.storage = storage

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        from_user: TelegramUser | None = data.get("event_from_user")
        storage_key = data.get(FSM_KEY)  # set by FsmKeyMiddleware
        if from_user is None or storage_key is None:
            data.update(user=None, open_ticket=None, operator=None)
            return await handler(event, data)
        key = self.storage.key_builder.build(storage_key)
        arrival = await arrive(data["driver"], from_user.id, key)  # (the update's own connection)
        if must_note_arrival(arrival):  # at most once a day per person, as a rule
            await wrote(await data["session"].connection(), from_user.id)
        self.storage.remember(key, arrival.state, arrival.data)
        data.update(user=arrival.person, open_ticket=arrival.open_ticket, operator=arrival.operator)
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
