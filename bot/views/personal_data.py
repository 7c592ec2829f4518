"""What the personal-data log shows staff: an export's filters and the retention job's actions, in words."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.services.personal_data import Action
from bot.views.callbacks import EraseChoice, ForgetChoice


def export_filters_text(subject: dict) -> str:
    """" (akmola, approved, 2026-09-01 – 2026-09-30)": the filters an export was taken with."""
    first, last = subject.get("from"), subject.get("to")
    days = f"{first or '…'} – {last or '…'}" if first or last else None
    chosen = [part for part in (subject.get("region"), subject.get("state"), days) if part]
    return f" ({', '.join(chosen)})" if chosen else ""


def retention_text(action: str, subject: dict) -> str:
    """What the retention job erased: the period through a plural form, the count as "…: N"."""
    days = int(subject.get("older_than_days", 0))
    count = next((subject[key] for key in ("tickets", "people", "deeds") if key in subject), 0)
    if action == Action.RETENTION_PEOPLE:
        what = ngettext(
            "erased the data of people who had not written to the bot for more than {days} day: {count}",
            "erased the data of people who had not written to the bot for more than {days} days: {count}", days,
        )
    elif action == Action.RETENTION_MARATHON:
        what = ngettext(
            "erased the descriptions, places and photos of the marathon's deeds, {days} day after it ended: {count}",
            "erased the descriptions, places and photos of the marathon's deeds, {days} days after it ended: {count}", days,
        )
    else:
        what = ngettext(
            "erased the personal data of requests closed more than {days} day ago: {count}",
            "erased the personal data of requests closed more than {days} days ago: {count}", days,
        )
    return what.format(days=days, count=count)


def forget_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🗑 Yes, delete my data"), callback_data=ForgetChoice(confirm=True))
    builder.button(text=_("Cancel"), callback_data=ForgetChoice(confirm=False))
    builder.adjust(1)
    return builder.as_markup()


def erase_keyboard(ticket_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🗑 Yes, erase"), callback_data=EraseChoice(ticket=ticket_id, confirm=True))
    builder.button(text=_("Cancel"), callback_data=EraseChoice(ticket=ticket_id, confirm=False))
    builder.adjust(1)
    return builder.as_markup()
