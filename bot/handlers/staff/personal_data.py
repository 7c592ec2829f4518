"""Coordinators and personal data: the full record of one ticket (`/ticket_record N`), erasing a
ticket's citizen's data on their request (`/erase N`, after a confirmation), and the audit log
(`/audit`) where both are recorded with who and when. The rules are in
`bot/services/personal_data.py`."""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import ActiveOperator
from bot.middlewares.database import keep_written
from bot.services import personal_data, tickets_export
from bot.services.clock import KAZAKHSTAN
from bot.services.operators import Operator
from bot.services.personal_data import Action
from bot.views.callbacks import EraseChoice
from bot.views.personal_data import erase_keyboard, export_filters_text, retention_text


def ticket_number(command: CommandObject) -> int | None:
    words = (command.args or "").strip().lstrip("№#").split()
    if len(words) != 1 or not words[0].isdigit() or len(words[0]) > 12:
        return None
    return int(words[0])


async def on_ticket_record(message: Message, command: CommandObject, session: AsyncSession, operator: Operator) -> None:
    number = ticket_number(command)
    if number is None:
        await message.answer(_("Send /ticket_record and the request's number, for example: /ticket_record 12"))
        return
    found = await personal_data.ticket_record(session, number, by=operator)
    if found is None:
        await message.answer(_("There is no request №{number}.").format(number=number))
        return
    ticket, said = found
    await personal_data.audit(
        session, Action.TICKET_RECORD, {"ticket": number}, actor_id=operator.telegram_id, actor=operator.name
    )
    # Kept before any of it leaves: a failure after the first file (a 429 on the second) must not
    # roll back the entry of an export that went out.
    await keep_written(session)
    caption = _("The full record of request №{number}, with personal data. This export is recorded in /audit.").format(
        number=number
    )
    if ticket["erased_at"] is not None:
        caption += "\n" + _("Its personal data was erased on {date}.").format(
            date=ticket["erased_at"].astimezone(KAZAKHSTAN).strftime("%d.%m.%Y")
        )
    await message.answer_document(
        BufferedInputFile(tickets_export.record_xlsx(ticket, said), f"request-{number}.xlsx"), caption=caption
    )
    await message.answer_document(BufferedInputFile(tickets_export.record_csv(ticket, said), f"request-{number}.csv"))


async def on_erase(message: Message, command: CommandObject) -> None:
    number = ticket_number(command)
    if number is None:
        await message.answer(_("Send /erase and the number of a request of the person who asked, for example: /erase 12"))
        return
    await message.answer(
        _("Erase all personal data of the citizen of request №{number}: their requests' messages, files and phone, their marathon name, deeds' descriptions and photos, and their settings? Do it only at their request. Anonymous counts stay. This cannot be undone and is recorded in /audit.").format(
            number=number
        ),
        reply_markup=erase_keyboard(number),
    )


async def on_erase_choice(
    callback: CallbackQuery, callback_data: EraseChoice, session: AsyncSession, operator: Operator
) -> None:
    if not callback_data.confirm:
        await callback.answer()
        await callback.message.edit_text(_("Nothing was erased."))
        return
    try:
        erased = await personal_data.erase_citizen_of_ticket(session, callback_data.ticket, by=operator)
    except personal_data.StaffMember:
        await callback.answer(
            _("The author of request №{number} is an operator of the front-offices: remove them first (/remove_operator), or ask them to send /forget themselves.").format(
                number=callback_data.ticket
            ),
            show_alert=True,
        )
        return
    await callback.answer()
    if erased is None:
        await callback.message.edit_text(
            _("There is no request №{number}, or its citizen's data is already erased.").format(number=callback_data.ticket)
        )
        return
    await callback.message.edit_text(
        _("Erased: the data of the citizen of request №{number}.").format(number=callback_data.ticket) + " "
        + ngettext("{count} request is now anonymous.", "{count} requests are now anonymous.", erased.tickets).format(
            count=erased.tickets
        )
    )


RETENTION_ACTIONS = (Action.RETENTION, Action.RETENTION_PEOPLE, Action.RETENTION_MARATHON)


def audit_line(entry: personal_data.AuditRecord) -> str:
    what = {
        Action.TICKET_RECORD: _("exported the full record of request №{ticket}"),
        Action.ERASE_PERSON: _("erased the data of the citizen of request №{ticket}"),
        Action.OPERATOR_ADDED: _("added operator {operator} ({office})"),
        Action.OPERATOR_INVITED: _("made an invite link for a new operator of {office}"),
        Action.OPERATOR_JOINED: _("became an operator of {office} through an invite link"),
        Action.OPERATOR_REMOVED: _("removed operator {operator} ({office})"),
        Action.OPERATOR_MOVED: _("moved operator {operator} to {office}"),
        Action.OPERATOR_UNREACHABLE: _("took operator {operator} ({office}) off duty: the bot's messages do not reach them"),
        Action.MARATHON_EXPORT: _("exported the marathon's participants and deeds"),
        Action.BLOCK: _("blocked the author of request №{ticket}"),
        Action.UNBLOCK: _("unblocked the author of request №{ticket}"),
        Action.KNOWLEDGE_CHANGED: _("changed the knowledge base (change №{revision} in /faq's history)"),
        Action.SAVED_REPLY_CHANGED: _("changed the saved reply “{name}” of {office} ({language})"),
        Action.APPROVAL_WITHDRAWN: _("withdrew the approval of deed №{deed}, given by {approved_by}"),
        Action.CERTIFICATE_WITHDRAWN: _("withdrew certificate {code}"),
    }.get(entry.action, entry.action)
    try:
        what = what.format(**entry.subject)
    except (KeyError, IndexError):
        pass
    if entry.action in RETENTION_ACTIONS:
        what = retention_text(entry.action, entry.subject)
    if entry.action == Action.MARATHON_EXPORT:
        what += export_filters_text(entry.subject)
    who = escape(entry.actor) + (f" ({entry.actor_id})" if entry.actor_id else "")
    return f"{entry.at.astimezone(KAZAKHSTAN):%d.%m.%Y %H:%M} · {who}: {escape(what)}"


async def on_audit(message: Message, session: AsyncSession, operator: Operator) -> None:
    entries = await personal_data.audit_log(session, by=operator)
    if not entries:
        await message.answer(_("The audit log is empty: nobody has exported or erased personal data yet."))
        return
    await message.answer(
        _("🔐 <b>Actions on personal data</b>, newest first (Astana time):") + "\n\n"
        + "\n".join(audit_line(entry) for entry in entries)
    )


def create_router() -> Router:
    router = Router(name="personal_data")
    coordinator = ActiveOperator(coordinators_only=True)
    router.message.register(on_ticket_record, Command("ticket_record"), coordinator)
    router.message.register(on_erase, Command("erase"), coordinator)
    router.message.register(on_audit, Command("audit"), coordinator)
    router.callback_query.register(on_erase_choice, EraseChoice.filter(), coordinator)
    return router

