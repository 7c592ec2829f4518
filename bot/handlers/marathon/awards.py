"""Coordinators run the marathon's awards from the bot: /nominations (the list, shortlists and
winners), /nomination (add or rename one), /shortlist and /winner, /announce_winners (a preview,
then every participant is told, once) and /certificates (each winner is sent their certificate)."""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Participant
from bot.filters import ActiveOperator
from bot.middlewares.access import Requires
from bot.services import marathon, nominations
from bot.services.access import Act
from bot.services.directory import Directory
from bot.services.marathon import Rules
from bot.services.nominations import NominationError
from bot.services.operators import Operator
from bot.views.callbacks import WinnersChoice
from bot.views.common import in_parts, office_name
from bot.views.marathon import announce_winners_keyboard, winners_text

USAGE = (
    "/nomination eco | Экология (kk) | Экология (ru) | Ecology (en)\n/shortlist eco 123456789\n/winner eco 123456789\n/announce_winners\n"
    "/certificates, /certificates withdraw CODE"
)


def candidate_line(candidate: nominations.Candidate, directory: Directory) -> str:
    name = escape(candidate.display_name) if candidate.display_name else _("anonymous")
    mark = "🏆 " if candidate.winner else "• "
    return f"{mark}{name} ({escape(office_name(directory, candidate.region))}), <code>{candidate.participant_id}</code>"


async def on_list(message: Message, session: AsyncSession, operator: Operator, directory: Directory) -> None:
    found = await nominations.nominations(session)
    lines = [_("<b>Nominations</b> ({count} of {limit})").format(count=len(found), limit=nominations.MAX_NOMINATIONS)]
    for nomination in found:
        lines.append(f"\n<b>{escape(nomination.name[operator.language])}</b> (<code>{nomination.slug}</code>)")
        lines.extend(candidate_line(c, directory) for c in nomination.candidates)
        if not nomination.candidates:
            lines.append(_("nobody shortlisted yet"))
    lines.extend(["", escape(USAGE)])
    for part in in_parts("\n".join(lines)):
        await message.answer(part)


async def on_set(message: Message, command: CommandObject, session: AsyncSession) -> None:
    parts = [part.strip() for part in (command.args or "").split("|")]
    try:
        if len(parts) != 4:
            raise NominationError("four parts")
        saved = await nominations.set_nomination(session, parts[0], dict(zip(("kk", "ru", "en"), parts[1:], strict=True)))
    except NominationError:
        await message.answer(_("Send /nomination, a short code and the name in Kazakh, Russian and English, separated by |, for example:") + "\n" + escape(USAGE.splitlines()[0]))
        return
    await message.answer(_("Nomination saved: {name}.").format(name=escape(" / ".join(saved.name.values()))))


async def on_pick(message: Message, command: CommandObject, session: AsyncSession) -> None:
    words = (command.args or "").split()
    try:
        slug, participant = words[0].lower(), int(words[1])
        if command.command == "winner":
            await nominations.choose_winner(session, slug, participant)
        else:
            await nominations.shortlist(session, slug, participant)
    except (IndexError, ValueError):
        # NominationError is a ValueError: an unknown nomination or participant, or not shortlisted.
        await message.answer(
            _("Send the nomination's code and the participant's id (see /nominations); a winner must be shortlisted first, for example:")
            + "\n" + escape("\n".join(USAGE.splitlines()[1:3]))
        )
        return
    if command.command == "winner":
        await message.answer(_("🏆 Winner chosen. /nominations shows the list."))
    else:
        await message.answer(_("Shortlisted. /nominations shows the list."))


async def on_announce(message: Message, session: AsyncSession, directory: Directory) -> None:
    found = await nominations.nominations(session)
    if not found or any(not n.winners for n in found):
        await message.answer(_("Every nomination needs a winner before the announcement. /nominations shows where one is missing."))
        return
    everyone = (await session.execute(select(func.count()).select_from(Participant.__table__))).scalar_one()
    await message.answer(_("This is what every participant will receive, in their language:"))
    *first, last = in_parts(winners_text(found, directory))
    for part in first:
        await message.answer(part)
    await message.answer(last, reply_markup=announce_winners_keyboard(everyone))


async def on_announce_choice(callback: CallbackQuery, callback_data: WinnersChoice, session: AsyncSession, operator: Operator) -> None:
    await callback.answer()
    if callback.message.reply_markup is not None:  # a second press finds the buttons gone
        await callback.message.edit_reply_markup(reply_markup=None)
    if not callback_data.confirm:
        await callback.message.answer(_("Not announced."))
        return
    try:
        count = await nominations.announce_winners(session, operator.telegram_id)
    except NominationError:
        await callback.message.answer(_("The winners have been announced already, or a nomination has no winner."))
        return
    await callback.message.answer(_("📣 The winners are being announced to {count} participants.").format(count=count))


async def on_certificates(message: Message, command: CommandObject, session: AsyncSession, operator: Operator, rules: Rules) -> None:
    """Every winner of a nomination who has no certificate of it for this marathon gets one, in
    their language, through the outbox; sent again, it issues only the new winners'.
    `/certificates withdraw CODE`: one issued in error no longer holds."""
    words = (command.args or "").split()
    if words:
        if len(words) == 2 and words[0].lower() == "withdraw" and await marathon.withdraw_certificate(
            session, words[1], operator.telegram_id, operator.name
        ):
            await message.answer(_("Certificate {code} is withdrawn: its check says so from now on.").format(code=escape(words[1].lower())))
        else:
            await message.answer(_("Send /certificates to issue the winners' diplomas, or /certificates withdraw and a valid certificate's code, for example:")
                                 + "\n/certificates withdraw k7m2xq9p4t")
        return
    if not any(n.winners for n in await nominations.nominations(session)):
        await message.answer(_("No nomination has a winner yet: choose them with /winner first."))
        return
    year = (await marathon.dates(session, rules)).starts_on.year
    issued = await marathon.issue_to_winners(session, year, operator.telegram_id)
    if not issued:
        await message.answer(_("Every winner has their diploma of {year} already.").format(year=year))
        return
    await message.answer(_("📜 Winners' diplomas of {year} issued: {count}. Each winner receives theirs in their language.").format(
        count=issued, year=year))


def create_router() -> Router:
    router = Router(name="nominations")
    router.message.filter(ActiveOperator(coordinators_only=True))
    router.callback_query.filter(ActiveOperator(coordinators_only=True))
    router.message.middleware(Requires(Act.MARATHON_SETTINGS))
    router.callback_query.middleware(Requires(Act.MARATHON_SETTINGS))
    router.message.register(on_list, Command("nominations"))
    router.message.register(on_set, Command("nomination"))
    router.message.register(on_pick, Command("shortlist", "winner"))
    router.message.register(on_announce, Command("announce_winners"))
    router.message.register(on_certificates, Command("certificates"))
    router.callback_query.register(on_announce_choice, WinnersChoice.filter())
    return router
