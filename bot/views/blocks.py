"""What a blocked citizen, or one who writes too fast, is told."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.services.abuse import Admission, Block, FloodLimits, Verdict


def refused_text() -> str:
    return _("⛔ The front-office does not receive your messages: a coordinator has blocked you. The answers to common questions and the contacts still work.")


def blocked_notice(block: Block, closed_ticket: int | None) -> str:
    """Told once, when the block is made."""
    parts = [_("⛔ The front-office will no longer receive your messages: a coordinator has blocked you.")]
    if block.reason:
        parts.append(_("Reason: {reason}").format(reason=escape(block.reason)))
    if closed_ticket is not None:
        parts.append(_("Your request №{number} is closed.").format(number=closed_ticket))
    parts.append(_("The answers to common questions, the contacts, /privacy and /forget still work."))
    return "\n\n".join(parts)


def unblocked_notice() -> str:
    return _("✅ The front-office receives your messages again.")


def flood_refusal(admission: Admission, limits: FloodLimits) -> str | None:
    """What a citizen whose message was refused is told; None if told already in this window (or
    not refused)."""
    if admission.verdict is Verdict.BLOCKED:
        return refused_text()
    if not admission.tell:
        return None
    if admission.verdict is Verdict.TOO_FAST:
        seconds = max(1, round(admission.wait.total_seconds()))
        return "\n\n".join([
            _("✋ Please slow down: an operator receives at most {limit} messages a minute from one person. Your earlier messages are delivered, but this one was not passed on.").format(
                limit=limits.per_minute
            ),
            ngettext(
                "You can write again in {seconds} second; what you send before then is not passed on either.",
                "You can write again in {seconds} seconds; what you send before then is not passed on either.",
                seconds,
            ).format(seconds=seconds),
        ])
    if admission.verdict is Verdict.REPEATED:
        return _("You have already sent this message and the operator has it. Repeats do not speed up the answer, so they are not passed on; please wait for the reply.")
    return None
