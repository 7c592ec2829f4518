"""Saved replies at the desk: ⚡ on a request's card (or /r, /r <name> for the current request)
lists the replies of the request's office and the national ones, a page at a time (◀️ ▶️); one tap
shows the reply in the citizen's language, ready to 📨 Send or to ✏️ Edit first (the bot gives the
text to copy, and the request becomes the current one, so the operator's next message goes to it).
A reply with no version in the citizen's language is said to be missing; nothing in another
language goes out."""

from __future__ import annotations

from contextlib import suppress

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import ActiveOperator
from bot.handlers.tickets.desk import answerable_or_refuse, refusal
from bot.services import saved_replies, tickets
from bot.services.directory import Directory
from bot.services.operators import Operator
from bot.services.tickets import Content, Limits, TicketError
from bot.views import saved_replies as views
from bot.views.callbacks import SavedReplyUse


async def on_list(
    callback: CallbackQuery, callback_data: SavedReplyUse, session: AsyncSession, operator: Operator, directory: Directory
) -> None:
    """⚡ on a card: the list, as a new message; ◀️ ▶️ under it (`page`): another page, in that message."""
    ticket = await answerable_or_refuse(callback, session, operator, callback_data.ticket, directory)
    if ticket is None:
        return
    replies = await saved_replies.usable(session, ticket.office)
    await callback.answer()
    text = views.choose_text(ticket, replies, directory, callback_data.page)
    keyboard = views.choose_keyboard(ticket, replies, callback_data.page) if replies else None
    if callback_data.action != "page":
        await callback.message.answer(text, reply_markup=keyboard)
        return
    with suppress(TelegramBadRequest):  # the same page again ("message is not modified")
        await callback.message.edit_text(text, reply_markup=keyboard)


async def on_show(
    callback: CallbackQuery, callback_data: SavedReplyUse, session: AsyncSession, operator: Operator, directory: Directory
) -> None:
    ticket = await answerable_or_refuse(callback, session, operator, callback_data.ticket, directory)
    if ticket is None:
        return
    reply = await saved_replies.usable_one(session, ticket.office, callback_data.reply)
    if reply is None:
        await callback.answer(_("This button is no longer active."), show_alert=True)
        return
    await callback.answer()
    text, markup = _ready(ticket, reply)
    await callback.message.answer(text, reply_markup=markup)


def _ready(ticket: tickets.Ticket, reply: saved_replies.SavedReply):
    if reply.text_in(ticket.language):
        return views.ready_text(ticket, reply), views.ready_keyboard(ticket, reply)
    return views.missing_text(ticket, reply), views.missing_keyboard(ticket, reply)


async def on_send(
    callback: CallbackQuery, callback_data: SavedReplyUse, session: AsyncSession, operator: Operator, limits: Limits,
    directory: Directory,
) -> None:
    ticket = await answerable_or_refuse(callback, session, operator, callback_data.ticket, directory)
    if ticket is None:
        return
    if await tickets.linked_ticket(session, operator.telegram_id, callback.message.message_id) is not None:
        # Pressed again (the message is linked once sent): one reply reaches the citizen once.
        await callback.answer(_("Already sent."))
        return
    reply = await saved_replies.usable_one(session, ticket.office, callback_data.reply)
    text = reply.text_in(ticket.language) if reply is not None else None
    if reply is None or text is None or views.checksum(text) != callback_data.shown:  # changed since it was shown
        await callback.answer(_("This saved reply has changed since it was shown. Open the list again."), show_alert=True)
        return
    ticket = await tickets.operator_says(session, limits, operator, ticket.id, Content("text", text))
    # Linked: a second press finds it sent, and a reply to it goes to the same request.
    await tickets.link(session, operator.telegram_id, callback.message.message_id, ticket.id, is_card=False)
    await callback.answer(_("✓ Sent to the citizen of request №{number}.").format(number=ticket.id))
    with suppress(TelegramBadRequest):
        await callback.message.edit_text(views.sent_text(ticket, reply))


async def on_edit(
    callback: CallbackQuery, callback_data: SavedReplyUse, session: AsyncSession, operator: Operator, limits: Limits,
    directory: Directory,
) -> None:
    try:
        ticket = await tickets.make_current(session, limits, operator, callback_data.ticket)
    except TicketError as error:
        await callback.answer(refusal(error, directory), show_alert=True)
        return
    reply = await saved_replies.usable_one(session, ticket.office, callback_data.reply)
    text = reply.text_in(callback_data.language) if reply is not None else None
    if text is None:
        await callback.answer(_("This saved reply has changed since it was shown. Open the list again."), show_alert=True)
        return
    await callback.answer()
    await callback.message.edit_reply_markup(reply_markup=None)
    await callback.message.answer(views.edit_prompt(ticket))
    await callback.message.answer(text, parse_mode=None)  # as written: a plain text to copy


async def on_cancel(callback: CallbackQuery) -> None:
    await callback.answer()
    with suppress(TelegramBadRequest):
        await callback.message.delete()


async def on_typed(
    message: Message, command: CommandObject, session: AsyncSession, operator: Operator, directory: Directory
) -> None:
    """/r: the list for the current request; /r <name>: that reply, ready to send."""
    if operator.current_ticket is None:
        await message.answer(views.no_current_text())
        return
    try:
        ticket = await tickets.answerable(session, operator, operator.current_ticket)
    except TicketError as error:
        await message.answer(refusal(error, directory))
        return
    name = (command.args or "").strip()
    if not name:
        replies = await saved_replies.usable(session, ticket.office)
        await message.answer(
            views.choose_text(ticket, replies, directory), reply_markup=views.choose_keyboard(ticket, replies) if replies else None
        )
        return
    reply = await saved_replies.usable_by_name(session, ticket.office, name)
    if reply is None:
        await message.answer(views.unknown_name_text(name))
        return
    text, markup = _ready(ticket, reply)
    await message.answer(text, reply_markup=markup)


def create_router() -> Router:
    router = Router(name="saved_replies")
    router.message.filter(ActiveOperator())
    router.callback_query.filter(ActiveOperator())
    router.callback_query.register(on_list, SavedReplyUse.filter(F.action.in_({"list", "page"})))
    router.callback_query.register(on_show, SavedReplyUse.filter(F.action == "show"))
    router.callback_query.register(on_send, SavedReplyUse.filter(F.action == "send"))
    router.callback_query.register(on_edit, SavedReplyUse.filter(F.action == "edit"))
    router.callback_query.register(on_cancel, SavedReplyUse.filter(F.action == "cancel"))
    router.message.register(on_typed, Command("r"))
    return router
