"""The permission table (`bot/services/access.py`) around the handlers.

`Refusals` wraps the update's transaction: an action a service refused (`access.Denied`) has rolled
back everything it did when it arrives here, and the person is told why in one translated sentence
(as the button's alert, or a message).

`Requires` is for a router whose every handler is one action of the table: it checks the action in
the update's own transaction once a handler has matched (the router's filters only keep other
people's updates away cheaply; this is the permission)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import logging

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import TelegramObject, Update
from aiogram.utils.i18n import I18n

from bot.i18n import N_, locale_of
from bot.services import access
from bot.services.access import Act, Denied, Refusal

log = logging.getLogger(__name__)

REFUSALS = {
    Refusal.NOT_STAFF: N_("This is for active operators of the front-offices. If you were one, ask your coordinator."),
    Refusal.NOT_ALLOWED: N_("Your role does not allow this. Ask a coordinator of the national front-office."),
    Refusal.OTHER_OFFICE: N_("This belongs to another front-office: you can act only on your own front-office's requests, people, deeds and announcements."),
}


class Refusals(BaseMiddleware):
    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n

    async def __call__(
        self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]], event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        except Denied as refused:
            assert isinstance(event, Update)
            log.info("refused", extra={"update_id": event.update_id, "act": refused.act.value, "reason": refused.reason.value})
            await self._tell(event, data, self.i18n.gettext(REFUSALS[refused.reason], locale=locale_of(self.i18n, data)))
            return None

    async def _tell(self, update: Update, data: dict[str, Any], text: str) -> None:
        bot: Bot = data["bot"]
        try:
            if update.callback_query is not None:
                await bot.answer_callback_query(update.callback_query.id, text, show_alert=True)
            elif (chat := data.get("event_chat")) is not None:
                await bot.send_message(chat.id, text)
        except TelegramAPIError:
            log.warning("could not tell the person about a refusal", extra={"update_id": update.update_id})


class Requires(BaseMiddleware):
    def __init__(self, act: Act) -> None:
        self.act = act

    async def __call__(
        self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]], event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        data["operator"] = await access.require(data["session"], data.get("operator"), self.act)
        return await handler(event, data)
