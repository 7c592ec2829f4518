"""The front-offices' side of the bot. For now: a coordinator invites an operator with a one-time
link (`/invite <region> <name>`), the person who opens it becomes that office's operator, and an
operator goes on or off duty with /duty (with requests in hand: keep them, or hand them back)."""

from __future__ import annotations

import zlib
from html import escape

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import ActiveOperator, TypedCommand
from bot.services import access, tickets
from bot.services.access import Act
from bot.services.directory import Directory
from bot.services.lengths import messages_of
from bot.views.common import office_name
from bot.services.operators import (
    INVITE_PREFIX,
    InviteNotValid,
    Operator,
    OperatorError,
    Role,
    accept_invite,
    create_invite,
    list_operators,
    move_operator,
    remove_operator,
    toggle_duty,
)
from bot.services.tickets import Limits
from bot.views.callbacks import DutyChoice


def invite_usage(directory: Directory) -> str:
    slugs = " ".join([*(o.slug for o in directory.regions), directory.national.slug])
    return _("To invite an operator, send /invite, the region and the name, for example: /invite almaty Асель\nRegions: {slugs}").format(
        slugs=slugs
    )


async def on_invite(
    message: Message, command: CommandObject, session: AsyncSession, directory: Directory, operator: Operator
) -> None:
    region, _sep, name = (command.args or "").strip().partition(" ")
    try:
        invite = await create_invite(session, directory, operator, region, name)
    except OperatorError:
        await message.answer(escape(invite_usage(directory)))
        return
    me = await message.bot.me()
    link = f"https://t.me/{me.username}?start={INVITE_PREFIX}{invite.token}"
    await message.answer(
        _("An invite for {name}, operator of {office}. It works once, until {time} UTC; send it to them:\n{link}").format(
            name=escape(invite.name), office=escape(office_name(directory, invite.office)),
            time=invite.expires_at.strftime("%Y-%m-%d %H:%M"), link=link,
        )
    )


async def on_invite_link(message: Message, command: CommandObject, session: AsyncSession, directory: Directory) -> None:
    token = (command.args or "").removeprefix(INVITE_PREFIX)
    try:
        operator = await accept_invite(session, directory, token, message.from_user.id, get_i18n().current_locale)
    except InviteNotValid:
        await message.answer(
            _("This invite link does not work: it has been used already or has expired. Ask your coordinator for a new one.")
        )
        return
    except OperatorError:
        await message.answer(_("You are an operator already."))
        return
    await message.answer(
        _("Welcome! You are now an operator of {office}.").format(office=escape(office_name(directory, operator.office)))
        + "\n\n" + operator_help(operator)
    )


def operator_help(operator: Operator) -> str:
    """What this member of staff can do, as the permission table (`access`) allows it."""
    lines = [
        _("Requests of your front-office come to this chat as cards: press “Take”, then reply to the citizen's messages. /queue: open requests, /my: yours, /ticket and a number: one request, /duty: on or off duty."),
        _("On a request's card: ⚡ Saved replies (or /r, and /r with a reply's short name, for your current request) and 📝 Note, an internal note the citizen never sees (or /note and its text). /find: requests by number, phone, words, state or days."),
        _("/deeds: marathon deeds to review, /stats: statistics."),
    ]
    if operator.role is Role.COORDINATOR:
        lines.append(
            _("Coordinators also have /announce (an announcement to many people), /tickets_export and /marathon_export, /ticket_record and /erase (one request's personal data), /operators, /invite and /remove_operator.")
        )
        lines.append(_("/block N reason: the front-office stops receiving messages from the author of request №N; /unblock N lifts it."))
        lines.append(_("/days_off: the days your front-office does not work besides weekends and public holidays; the requests' time limits skip them."))
        lines.append(_("/office: your front-office's phone, e-mail, link, address, place on the map and hours, as people see them in 📞 Contacts."))
        lines.append(_("/replies: your front-office's saved replies in each language, which operators send with one tap."))
        lines.append(_("/desk: who holds how many requests, what waits and for how long; one tap gives a request to an operator on duty."))
    if access.may(operator, Act.AUDIT):
        lines.append(
            _("The national office's coordinators also have /audit (who did what with personal data), /move_operator and the marathon's settings (/marathon_dates, /marathon_limit, /marathon_kind, /nominations).")
        )
    if access.may(operator, Act.EDIT_KNOWLEDGE):
        lines.append(_("/faq: the knowledge base's topics, questions and answers in each language, and the history of changes (each can be undone). /gaps: what people asked that it did not answer."))
    return "\n".join(lines)


async def on_duty(message: Message, session: AsyncSession, directory: Directory, operator: Operator) -> None:
    if operator.on_duty:
        held = await tickets.taken_by(session, operator)
        if held:  # going off duty with requests in hand: theirs to keep, or the office's again
            await message.answer(
                ngettext(
                    "You hold {count} request: {numbers}. Keep it while you are off duty (its citizen's messages still come to you), or hand it back to your front-office's queue?",
                    "You hold {count} requests: {numbers}. Keep them while you are off duty (their citizens' messages still come to you), or hand them back to your front-office's queue?",
                    len(held),
                ).format(count=len(held), numbers=", ".join(f"№{ticket.id}" for ticket in held)),
                reply_markup=duty_keyboard(held_checksum([ticket.id for ticket in held])),
            )
            return
    changed = await toggle_duty(session, operator)
    await message.answer(duty_text(changed, directory))


def held_checksum(numbers: list[int]) -> int:
    return zlib.crc32(",".join(map(str, sorted(numbers))).encode())


def duty_keyboard(held: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🤲 Keep them"), callback_data=DutyChoice(hand_back=False, held=held))
    builder.button(text=_("↩️ Hand them back"), callback_data=DutyChoice(hand_back=True, held=held))
    builder.adjust(2)
    return builder.as_markup()


def duty_text(changed: Operator, directory: Directory) -> str:
    office = escape(office_name(directory, changed.office))
    if changed.on_duty:
        return _("You are on duty ({office}). Send /duty to go off duty.").format(office=office) + "\n\n" + operator_help(changed)
    return _("You are off duty ({office}). Send /duty to come back on duty.").format(office=office)


async def on_duty_choice(
    callback: CallbackQuery, callback_data: DutyChoice, session: AsyncSession, directory: Directory, limits: Limits,
    operator: Operator,
) -> None:
    held = [ticket.id for ticket in await tickets.taken_by(session, operator)]
    # Off duty already (answered twice, /duty since), or an old question about other requests.
    if not operator.on_duty or not held or held_checksum(held) != callback_data.held:
        await callback.answer(_("This button is no longer active."))
        return
    handed_back = await tickets.hand_back_all(session, limits, operator) if callback_data.hand_back else []
    changed = await toggle_duty(session, operator)
    await callback.answer()
    text = duty_text(changed, directory)
    if handed_back:
        text += "\n" + _("Handed back to the queue: {numbers}.").format(numbers=", ".join(f"№{n}" for n in handed_back))
    else:
        text += "\n" + _("The requests stay yours: /my lists them.")
    await callback.message.edit_text(text)


def operator_line(directory: Directory, operator: Operator) -> str:
    duty = _("on duty") if operator.on_duty else _("off duty")
    role = _("coordinator") if operator.role is Role.COORDINATOR else _("operator")
    return f"<code>{operator.telegram_id}</code> {escape(operator.name)}: {role}, {escape(office_name(directory, operator.office))}, {duty}"


async def on_list(message: Message, session: AsyncSession, directory: Directory, operator: Operator) -> None:
    found = await list_operators(session, by=operator)
    lines = [_("<b>Operators</b>"), *(operator_line(directory, o) for o in found), "",
             _("To move one: /move_operator, their id and the region. To remove one: /remove_operator and their id.")]
    for text in messages_of(lines):  # a national call-centre's list is longer than one message
        await message.answer(text)


async def on_move(
    message: Message, command: CommandObject, session: AsyncSession, directory: Directory, limits: Limits,
    operator: Operator,
) -> None:
    raw_id, _sep, region = (command.args or "").strip().partition(" ")
    try:
        moved = await move_operator(session, directory, int(raw_id), region.strip(), by=operator)
    except (ValueError, OperatorError):  # not a number, an unknown region, not an operator
        await message.answer(_("Send /move_operator, the operator's id and the new region, for example: /move_operator 123456789 akmola"))
        return
    await tickets.release_tickets_of(session, limits, moved)
    await message.answer(_("Moved: {operator}").format(operator=operator_line(directory, moved)))


async def on_remove(
    message: Message, command: CommandObject, session: AsyncSession, directory: Directory, limits: Limits,
    operator: Operator,
) -> None:
    try:
        removed = await remove_operator(session, int((command.args or "").strip()), by=operator)
    except (ValueError, OperatorError):
        await message.answer(_("Send /remove_operator and the id of an active operator, for example: /remove_operator 123456789"))
        return
    await tickets.release_tickets_of(session, limits, removed)
    await message.answer(_("Removed: {operator}").format(operator=operator_line(directory, removed)))


def create_router() -> Router:
    router = Router(name="operators")
    router.message.filter(TypedCommand())  # all of it is commands: a typed question skips it at once
    router.message.register(on_invite_link, CommandStart(deep_link=True, magic=F.args.startswith(INVITE_PREFIX)))
    router.message.register(on_invite, Command("invite"), ActiveOperator(coordinators_only=True))
    router.message.register(on_duty, Command("duty"), ActiveOperator())
    router.callback_query.register(on_duty_choice, DutyChoice.filter(), ActiveOperator())
    router.message.register(on_list, Command("operators"), ActiveOperator(coordinators_only=True))
    router.message.register(on_move, Command("move_operator"), ActiveOperator(coordinators_only=True))
    router.message.register(on_remove, Command("remove_operator"), ActiveOperator(coordinators_only=True))
    return router
