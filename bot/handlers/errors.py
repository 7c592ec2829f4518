"""The last line: log a failure with its update id and tell the person, in their language."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n

from bot.db.engine import unreachable
from bot.i18n import locale_of
from bot.telegram.journal import called_while_handling

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, bot: Bot, i18n: I18n, **data: Any) -> bool:
    log.exception(
        "update failed",
        exc_info=event.exception,
        extra={"update_id": event.update.update_id, "error": type(event.exception).__name__},
    )
    press = event.update.callback_query
    if press is not None and not called_while_handling("answerCallbackQuery"):
        # Unanswered, the button would spin until Telegram gives up on it.
        with contextlib.suppress(Exception):
            await bot.answer_callback_query(press.id)
    chat = data.get("event_chat")
    if chat is None:
        return True
    text = i18n.gettext("Sorry, something went wrong on our side. Please try again in a minute.", locale=locale_of(i18n, data))
    try:
        await bot.send_message(chat.id, text)
    except Exception:  # noqa: BLE001 - the person is unreachable; the failure is already logged
        log.warning("could not tell the person about a failure", extra={"update_id": event.update.update_id})
    return True


def is_a_failure(event: ErrorEvent) -> bool:
    """A lost database is not the handler's failure: the update is handled again once it is back
    (`bot/jobs/intake.py`), so the person gets their answer rather than an apology."""
    return not unreachable(event.exception)


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error, is_a_failure)
    return router
