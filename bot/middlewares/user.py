"""Who is writing: their stored record (None before consent), their conversation state, and the
language to answer in.

`ArrivalMiddleware` has the person and the FSM row read in one statement, in the update's
transaction, before aiogram's FSM middleware, and hands the state to the storage's per-update memo.
The intake's claim reads them in its own round trip (`ARRIVAL_READ`) for a private chat; for
anything else (a group) the middleware reads them on the update's connection. An update that only
reads (most of them: questions, menus) costs no statement of its own. A person's first update of a day also writes down that
day (the retention period counts from it): one UPDATE a day per person, committed with the update."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser
from aiogram.utils.i18n import I18nMiddleware

from bot.db.storage import PostgresStorage
from bot.i18n import supported_language
from bot.middlewares.fsm_key import FSM_KEY
from bot.services.users import Arrival, arrive, must_note_arrival, wrote

# During onboarding the chosen language is kept in the FSM data until the person consents.
ONBOARDING_LANGUAGE_KEY = "language"
# The arrival the intake's claim read in its own round trip (`bot/jobs/intake.py`), if it did.
ARRIVAL_READ = "arrival_read"


@dataclass(frozen=True, slots=True)
class ArrivalRead:
    fsm_key: str  # the key it was read for: the update's own, unless it came from a group
    arrival: Arrival


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
        read: ArrivalRead | None = data.get(ARRIVAL_READ)
        if read is not None and read.fsm_key == key:
            arrival = read.arrival
        else:
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
