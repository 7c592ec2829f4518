"""What coordinators see of the offices' working calendar (/days_off)."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext as _

from bot.services.calendar import AddedDay
from bot.services.directory import Directory
from bot.views.common import office_name

DATE_FORMAT = "%d.%m.%Y"


def usage_text() -> str:
    return _("Days off besides weekends and public holidays: the time limits of requests opened afterwards do not run on them. To add one: /days_off add 31.12.2026 and a note; the national office's coordinators name the region or all (every office), for example: /days_off add 31.12.2026 akmola staff training. To remove one: /days_off remove 31.12.2026 and the same region.")


def days_text(days: list[AddedDay], directory: Directory) -> str:
    if not days:
        return _("No days off added ahead.") + "\n\n" + usage_text()
    lines = [_("<b>Days off ahead</b> (besides weekends and public holidays):")]
    for day in days:
        where = office_name(directory, day.office) if day.office else _("every office")
        note = f" — {escape(day.note)}" if day.note else ""
        lines.append(f"{day.day.strftime(DATE_FORMAT)}: {escape(where)}{note}")
    return "\n".join(lines) + "\n\n" + usage_text()


def added_text(day: str, where: str) -> str:
    return _("Added: {day} is a day off for {office}. The time limits of requests opened from now on skip it.").format(day=day, office=escape(where))


def already_text(day: str, where: str) -> str:
    return _("{day} is already a day off for {office}.").format(day=day, office=escape(where))


def removed_text(day: str, where: str) -> str:
    return _("Removed: {day} is a working day again for {office}.").format(day=day, office=escape(where))


def not_found_text(day: str, where: str) -> str:
    return _("{day} was not a day off added for {office}.").format(day=day, office=escape(where))


def past_text() -> str:
    return _("That day has passed. Add days from today on.")


def where_text(directory: Directory, office: str | None) -> str:
    return office_name(directory, office) if office else _("every office")
