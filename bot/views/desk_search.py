"""/find at the desk: how to search, and what was found (a line per request, a button to open each)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.services.tickets import Ticket
from bot.services.tickets.search import MOST_FOUND
from bot.views.callbacks import TicketAction


def usage_text() -> str:
    return _(
        "Send /find and what you know, in any order: a request's number (12), the citizen's phone, "
        "words of the conversation, new, taken or closed, and a day or two (01.11.2026 30.11.2026: from, to). "
        "For example: /find closed medicine 01.11.2026 30.11.2026"
    )


def found_text(lines: list[str], more: bool) -> str:
    if not lines:
        return _("Nothing found among your front-office's requests.")
    head = ngettext("🔎 Found {count} request, newest first:", "🔎 Found {count} requests, newest first:", len(lines)).format(
        count=len(lines)
    )
    tail = [_("Only the newest {count} are shown: add words, a state or days to narrow the search.").format(count=MOST_FOUND)] if more else []
    return "\n".join([head, *lines, *tail])


def found_keyboard(found: list[Ticket]) -> InlineKeyboardMarkup | None:
    if not found:
        return None
    builder = InlineKeyboardBuilder()
    for ticket in found:
        builder.button(text=f"№{ticket.id}", callback_data=TicketAction(action="open", ticket=ticket.id))
    builder.adjust(4)
    return builder.as_markup()
