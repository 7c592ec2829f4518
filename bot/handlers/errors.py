"""The last line: log a failure with its update id and tell the person, in their language. An
action the permission table refuses (`access.Denied`, raised by a service) ends here too: its
transaction is rolled back already, and the person is told why in one translated sentence."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n

from bot.i18n import N_, supported_language
from bot.services.access import Denied, Refusal

log = logging.getLogger(__name__)


def locale_of(i18n: I18n, data: dict[str, Any]) -> str:
    user, from_user = data.get("user"), data.get("event_from_user")
    if user is not None:
        return user.language
    return supported_language(from_user.language_code if from_user else None) or i18n.default_locale


REFUSALS = {
    Refusal.NOT_STAFF: N_("This is for active operators of the front-offices. If you were one, ask your coordinator."),
    Refusal.NOT_ALLOWED: N_("Your role does not allow this. Ask a coordinator of the national front-office."),
    Refusal.OTHER_OFFICE: N_("This belongs to another front-office: you can act only on your own front-office's requests, people, deeds and announcements."),
}


async def on_denied(event: ErrorEvent, bot: Bot, i18n: I18n, **data: Any) -> bool:
    error = event.exception
    assert isinstance(error, Denied)
    log.info("refused", extra={"update_id": event.update.update_id, "act": error.act.value, "reason": error.reason.value})
    text = i18n.gettext(REFUSALS[error.reason], locale=locale_of(i18n, data))
    try:
        if event.update.callback_query is not None:
            await event.update.callback_query.answer(text, show_alert=True)
        elif (chat := data.get("event_chat")) is not None:
            await bot.send_message(chat.id, text)
    except TelegramAPIError:
        log.warning("could not tell the person about a refusal", extra={"update_id": event.update.update_id})
    return True


async def on_error(event: ErrorEvent, bot: Bot, i18n: I18n, **data: Any) -> bool:
    log.exception(
        "update failed",
        exc_info=event.exception,
        extra={"update_id": event.update.update_id, "error": type(event.exception).__name__},
    )
    chat = data.get("event_chat")
    if chat is None:
        return True
    text = i18n.gettext("Sorry, something went wrong on our side. Please try again in a minute.", locale=locale_of(i18n, data))
    try:
        await bot.send_message(chat.id, text)
    except Exception:  # noqa: BLE001 - the person is unreachable; the failure is already logged
        log.warning("could not tell the person about a failure", extra={"update_id": event.update.update_id})
    return True


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_denied, ExceptionTypeFilter(Denied))
    router.errors.register(on_error)
    return router
