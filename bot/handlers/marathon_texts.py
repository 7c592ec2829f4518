"""Marathon texts more than one place shows: the outcome of a review, told to the participant when
the outbox sends it (in their language), and the preset reasons reviewers pick."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.handlers.texts import office_name
from bot.i18n import N_
from bot.services import marathon
from bot.services.directory import Directory
from bot.services.marathon import Deed, Rules, State
from bot.services.nominations import Nomination

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
