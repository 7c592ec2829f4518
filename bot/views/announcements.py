"""What coordinators see of an announcement: the audience in words, the preview's summary and the
progress message with its buttons. Shared by the composer (`announcements.py`) and the sending
loop (`bot/jobs/announcements.py`), which renders in the coordinator's language."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import LANGUAGE_NAMES
from bot.services.announcements import Announcement, Audience, AudienceKind, State
from bot.services.directory import Directory
from bot.views.callbacks import AnnouncementControl
from bot.views.common import office_name

BAR_WIDTH = 20


def audience_text(audience: Audience, directory: Directory) -> str:
    if audience.kind is AudienceKind.REGION:
        return _("everyone in {region}").format(region=office_name(directory, audience.value or ""))
    if audience.kind is AudienceKind.LANGUAGE:
        return _("everyone who uses the bot in {language}").format(language=LANGUAGE_NAMES[audience.value or "kk"])
    if audience.kind is AudienceKind.PARTICIPANTS:
        return _("the marathon's participants")
    if audience.kind is AudienceKind.OPERATORS:
        return _("the front-offices' operators")
    return _("everyone")


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return ngettext("{n} second", "{n} seconds", seconds).format(n=seconds)
    minutes = round(seconds / 60)
    if minutes < 60:
        return ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)
    hours, minutes = divmod(minutes, 60)
    return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)


def bar(done: int, total: int) -> str:
    filled = BAR_WIDTH if total == 0 else BAR_WIDTH * done // total
    return "▓" * filled + "░" * (BAR_WIDTH - filled)


def number(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def state_text(state: State) -> str:
    return {
        State.RUNNING: _("sending"),
        State.PAUSED: _("⏸ paused"),
        State.CANCELLED: _("✖️ cancelled"),
        State.DONE: _("✅ done"),
    }[state]


def progress_text(announcement: Announcement, directory: Directory, rate: float | None, configured_rate: float) -> str:
    """The live progress: a bar, the counts, the rate and the time left. `rate` is the one
    measured lately (None before the first sends)."""
    a = announcement
    percent = 100 if a.total == 0 else 100 * a.done_count // a.total
    state = state_text(a.state)
    lines = [
        _("📣 <b>Announcement №{number}</b>: {state}").format(number=a.id, state=state),
        _("To: {audience}").format(audience=audience_text(a.audience, directory)),
        "",
        f"<code>{bar(a.done_count, a.total)}</code> {percent}%",
        _("Sent: {sent} of {total}").format(sent=number(a.sent), total=number(a.total)),
        _("Not delivered: {failed} · blocked the bot: {blocked}").format(
            failed=number(a.failed), blocked=number(a.blocked)
        ),
    ]
    if a.unconfirmed:  # part of "not delivered": they may have it, and are not sent it again
        lines.append(
            _("Of them not confirmed (the connection broke; not sent again): {unconfirmed}").format(
                unconfirmed=number(a.unconfirmed)
            )
        )
    if a.state is State.RUNNING:
        speed = rate if rate else configured_rate
        lines.append(
            _("Rate: {rate} a second · time left: about {left}").format(
                rate=f"{speed:.0f}", left=duration(a.remaining / speed if speed else 0)
            )
        )
    elif a.state is State.CANCELLED and a.remaining:
        lines.append(
            ngettext("{n} person did not receive it.", "{n} people did not receive it.", a.remaining).format(
                n=number(a.remaining)
            )
        )
    return "\n".join(lines)


def progress_keyboard(announcement: Announcement) -> InlineKeyboardMarkup | None:
    if announcement.finished:
        return None
    builder = InlineKeyboardBuilder()
    if announcement.state is State.RUNNING:
        builder.button(text=_("⏸ Pause"), callback_data=AnnouncementControl(announcement=announcement.id, action="pause"))
    else:
        builder.button(text=_("▶️ Resume"), callback_data=AnnouncementControl(announcement=announcement.id, action="resume"))
    builder.button(text=_("✖️ Cancel"), callback_data=AnnouncementControl(announcement=announcement.id, action="cancel"))
    return builder.as_markup()
