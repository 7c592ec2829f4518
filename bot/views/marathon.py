"""Marathon texts more than one place shows: the outcome of a review, told to the participant when
the outbox sends it (in their language), and the preset reasons reviewers pick."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from bot.services import marathon
from bot.services.directory import Directory
from bot.services.marathon import Deed, Kind, Refusal, Rules, State
from bot.services.nominations import Nomination
from bot.views.common import office_name


UNITS = {"count": N_("pcs"), "kg": N_("kg"), "hours": N_("h")}
STATES = {"pending": N_("⏳ waiting for review"), "approved": N_("✅ approved"), "rejected": N_("❌ not accepted")}


def refusal_text(reason: Refusal, kind: Kind | None = None, language: str = "en", daily_limit: int = 0) -> str:
    texts = {
        Refusal.NOT_RUNNING: _("The marathon is not running now, so deeds cannot be logged."),
        Refusal.NOT_A_NUMBER: _("Please send the amount as a number, for example 12 (whole for things you count)."),
        Refusal.NOT_POSITIVE: _("The amount must be more than zero."),
        Refusal.IN_THE_FUTURE: _("That date has not come yet: a deed is logged once it is done."),
        Refusal.OUTSIDE_DATES: _("That date is outside the marathon's dates."),
        Refusal.PHOTO_USED: _("This photo already proves another deed. Please send a photo of this deed."),
        Refusal.DAILY_LIMIT: _("You have logged {limit} deeds today, the most for one day. Please come back tomorrow.").format(limit=daily_limit),
        Refusal.NOT_JOINED: _("Join the marathon first."),
        Refusal.NOT_OFFERED: _("This kind of deed is no longer offered in the marathon."),
    }
    if reason is Refusal.TOO_MUCH and kind is None:
        return _("That is more than one deed of this kind can plausibly be.")
    if reason is Refusal.TOO_MUCH:
        return _("That is more than one deed can plausibly be: at most {max} {unit} for “{kind}”. If it is true, log it as several deeds.").format(
            max=marathon.plain(kind.max), unit=_(UNITS[kind.unit]), kind=escape(kind.name[language])
        )
    return texts[reason]

# Reasons a reviewer picks with one press; stored as "preset:<key>" and shown to the participant in
# their own language.
PRESET_REASONS = {
    "photo": N_("The photos do not show this deed."),
    "amount": N_("The amount does not match the photos."),
    "duplicate": N_("This deed has already been logged."),
    "dates": N_("The deed was not done during the marathon."),
}
PRESET_PREFIX = "preset:"


def reason_text(stored: str | None) -> str:
    if stored and stored.startswith(PRESET_PREFIX):
        return _(PRESET_REASONS.get(stored.removeprefix(PRESET_PREFIX), PRESET_REASONS["photo"]))
    return escape(stored or "")


def review_outcome(deed: Deed, rules: Rules) -> str:
    language = get_i18n().current_locale
    kind = rules.kind(deed.kind)
    words = kind.total_words(deed.amount, language) if kind else str(deed.amount)
    if deed.state is State.APPROVED:
        text = _("✅ Your deed №{number} is approved: {words}. Thank you!").format(number=deed.id, words=escape(words))
        if deed.claimed_amount is not None:
            text += "\n" + _("The front-office corrected the amount you gave ({amount}).").format(amount=marathon.plain(deed.claimed_amount))
        return text
    return _("❌ Your deed №{number} was not accepted. Reason: {reason}").format(number=deed.id, reason=reason_text(deed.reject_reason))


def winners_text(found: list[Nomination], directory: Directory) -> str:
    """The announcement of the winners, in the current language."""
    language = get_i18n().current_locale
    lines = [_("🏆 <b>Marathon of Good Deeds: the winners</b>"), ""]
    for nomination in found:
        names = ", ".join(
            f"{escape(w.display_name) if w.display_name else _('anonymous')} ({escape(office_name(directory, w.region))})"
            for w in nomination.winners
        )
        lines.append(f"<b>{escape(nomination.name[language])}</b>: {names}")
    lines.extend(["", _("Congratulations to the winners, and thank you, everyone, for every good deed!")])
    return "\n".join(lines)
