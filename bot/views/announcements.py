"""What coordinators see of an announcement: the audience in words, the preview's summary and the
progress message with its buttons. Shared by the composer (`announcements.py`) and the sending
loop (`bot/jobs/announcements.py`), which renders in the coordinator's language."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import SUPPORTED_LANGUAGES
from bot.i18n import LANGUAGE_NAMES
from bot.services import access
from bot.services.access import Act
from bot.services.announcements import ALL, Announcement, Audience, AudienceKind, State
from bot.services.directory import Directory
from bot.services.operators import Operator
from bot.views.callbacks import AnnouncementControl, AnnouncementStep
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


def mode_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("One text for everyone"), callback_data=announcement_step("one"))
    builder.button(text=_("A version in each language"), callback_data=announcement_step("per_language"))
    return with_cancel(builder)


def audience_keyboard(operator: Operator) -> InlineKeyboardMarkup:
    """The audiences this coordinator may address: a regional one, only their region's residents
    (the service checks it again on every step; the buttons only spare them a refusal)."""
    builder = InlineKeyboardBuilder()
    national = access.own_region(operator, Act.ANNOUNCE) is None
    if national:
        builder.button(text=_("👥 Everyone"), callback_data=announcement_step("audience", AudienceKind.EVERYONE))
    builder.button(text=_("📍 One region"), callback_data=announcement_step("audience", AudienceKind.REGION))
    if national:
        builder.button(text=_("🏃 Marathon participants"), callback_data=announcement_step("audience", AudienceKind.PARTICIPANTS))
        builder.button(text=_("🧑‍💼 Operators"), callback_data=announcement_step("audience", AudienceKind.OPERATORS))
        builder.button(text=_("🌐 One language"), callback_data=announcement_step("audience", AudienceKind.LANGUAGE))
    return with_cancel(builder)


def regions_keyboard(directory: Directory, language: str, operator: Operator) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    own = access.own_region(operator, Act.ANNOUNCE)
    for office in directory.regions:
        if own is not None and office.slug != own:
            continue
        builder.button(text=office.name[language], callback_data=announcement_step("region", office.slug))
    builder.button(text=_("✖️ Cancel"), callback_data=announcement_step("cancel"))
    builder.adjust(3, *([2] * 10))
    return builder.as_markup()


def languages_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code in SUPPORTED_LANGUAGES:
        builder.button(text=LANGUAGE_NAMES[code], callback_data=announcement_step("language", code))
    builder.button(text=_("✖️ Cancel"), callback_data=announcement_step("cancel"))
    builder.adjust(3, 1)
    return builder.as_markup()


def announcement_step(action: str, value: str = "") -> AnnouncementStep:
    return AnnouncementStep(action=action, value=value)


def with_cancel(builder: InlineKeyboardBuilder) -> InlineKeyboardMarkup:
    builder.button(text=_("✖️ Cancel"), callback_data=announcement_step("cancel"))
    builder.adjust(1)
    return builder.as_markup()


def cancel_keyboard() -> InlineKeyboardMarkup:
    return with_cancel(InlineKeyboardBuilder())


def preview_summary(audience: Audience, by_language: dict[str, int], directory: Directory, rate: float) -> str:
    """Under the preview: to whom, how many in each language, and how long sending takes."""
    total = sum(by_language.values())
    lines = [_("📣 To: {audience}.").format(audience=audience_text(audience, directory))]
    if total:
        lines.append(
            ngettext("{n} recipient", "{n} recipients", total).format(n=number(total))
            + " ("
            + ", ".join(f"{LANGUAGE_NAMES[code]}: {number(by_language.get(code, 0))}" for code in SUPPORTED_LANGUAGES)
            + ")."
        )
        lines.append(
            _("At {rate} messages a second it takes about {time}.").format(rate=f"{rate:g}", time=duration(total / rate))
        )
    else:
        lines.append(_("Nobody in this audience can receive it."))
    lines.append(_("People who turned announcements off in their settings, or who blocked the bot, are not counted."))
    return "\n".join(lines)


def preview_keyboard(total: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if total:
        builder.button(
            text=ngettext("✅ Send to {n} person", "✅ Send to {n} people", total).format(n=number(total)),
            callback_data=announcement_step("send"),
        )
    builder.button(text=_("👥 Another audience"), callback_data=announcement_step("audience_again"))
    return with_cancel(builder)


def ask_for_version(waiting: str) -> str:
    if waiting == ALL:
        return _("Send the announcement: a text, or a photo with a caption. Bold, italics and links are kept.")
    return _("Send the version in {language}: a text, or a photo with a caption.").format(
        language=LANGUAGE_NAMES[waiting]
    )
