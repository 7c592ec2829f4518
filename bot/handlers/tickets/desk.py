"""The operators' desk: ticket cards and their buttons (Take, Answer this one, History, Transfer,
Close), /queue, /my, /ticket N, and the operator's messages to citizens.

An operator answers a citizen by replying to any message of the ticket in their chat, or by simply
writing while that ticket is their current one (the last they took, answered or chose with "Answer
this one"). Each message goes through the service, which checks that the ticket is theirs, stores
it and owes it to the citizen, signed with the front-office's name.

A regional operator acts on their own region's tickets only; the service refuses the rest
whatever callback data or numbers they send, and says "not found".
"""

from __future__ import annotations

import re
from contextlib import suppress
from html import escape

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import ActiveOperator, HasCurrentTicket, IsReply, NotCommand, Onboarded, RepliesToTicket
from bot.incoming import ticket_content
from bot.middlewares.albums import AlbumItem
from bot.services import abuse, tickets, tickets_export
from bot.services.directory import Directory
from bot.services.lengths import utf16_length
from bot.services.operators import Operator
from bot.services.spreadsheets import export_filters
from bot.services.tickets import Limits, Ticket, TicketError
from bot.views import tickets as texts
from bot.views.callbacks import TicketAction, TransferTo
from bot.views.menu import AnyMenuButton
from bot.views.tickets import offices_keyboard, ticket_step_cancel_keyboard


class Desk(StatesGroup):
    resolution = State()  # closing: the short resolution
    transfer_note = State()  # transferring: the note for the next office
    note = State()  # an internal note on a request (data: ticket)
    hand_back_note = State()  # handing a request back to the queue: the note for colleagues (data: ticket)


def refusal(error: TicketError, directory: Directory | None = None) -> str:
    """Why an operator's action on a ticket was refused, for them."""
    ticket = error.ticket
    if error.reason == tickets.PASSED_ON and ticket is not None:
        office = texts.office_name(directory, ticket.office) if directory is not None else ticket.office
        return _("Request №{number} is now with {office}: to answer it, press ✋ Take on its card first (/ticket {number}).").format(
            number=ticket.id, office=escape(office)
        )
    if error.reason == tickets.TAKEN_BY_OTHER and ticket is not None:
        return _("Request №{number} has already been taken by {name}.").format(
            number=ticket.id, name=escape(ticket.operator_name or "?")
        )
    if error.reason == tickets.CLOSED and ticket is not None:
        return _("Request №{number} is already closed.").format(number=ticket.id)
    if error.reason == tickets.SAME_OFFICE:
        return _("The request is already at that front-office.")
    if error.reason == tickets.ALREADY_THEIRS and ticket is not None:
        return _("Request №{number} is with {name} already.").format(number=ticket.id, name=escape(ticket.operator_name or "?"))
    if error.reason == tickets.CANNOT_TAKE and ticket is not None:
        return _("That operator cannot take request №{number} now: they are off duty, or of another front-office.").format(number=ticket.id)
    if error.reason == tickets.NOT_YOURS and ticket is not None:
        return _("Request №{number} is not in your hands now.").format(number=ticket.id)
    return _("There is no such request among those of your front-office.")


async def send_card(message: Message, ticket: Ticket, directory: Directory, session: AsyncSession, operator: Operator) -> None:
    """A card answered right here (after /ticket, /queue…), linked like the delivered ones."""
    first = await tickets.first_from_citizen(session, ticket.id)
    sent = await message.answer(
        texts.card_text(
            ticket, directory, first, operator.telegram_id, await abuse.block_of(session, ticket.citizen_id),
            await tickets.earlier_of(session, operator, ticket),
        ),
        reply_markup=texts.card_keyboard(ticket, operator.telegram_id),
    )
    await tickets.link(session, operator.telegram_id, sent.message_id, ticket.id, is_card=True)


async def ticket_or_refuse(callback: CallbackQuery, session: AsyncSession, operator: Operator, ticket_id: int) -> Ticket | None:
    """The ticket if this operator may see it; otherwise None, with the reason shown to them."""
    try:
        return await tickets.ticket_for(session, operator, ticket_id)
    except TicketError as error:
        await callback.answer(refusal(error), show_alert=True)
        return None


async def answerable_or_refuse(
    callback: CallbackQuery, session: AsyncSession, operator: Operator, ticket_id: int, directory: Directory
) -> Ticket | None:
    """The ticket, locked, if this operator may answer it now (`tickets.answerable`); otherwise
    None, with the reason shown to them."""
    try:
        return await tickets.answerable(session, operator, ticket_id)
    except TicketError as error:
        await callback.answer(refusal(error, directory), show_alert=True)
        return None


async def on_take(
    callback: CallbackQuery, callback_data: TicketAction, session: AsyncSession, operator: Operator,
    directory: Directory, limits: Limits,
) -> None:
    card = callback.message if isinstance(callback.message, Message) else None  # too old to edit: None
    try:
        ticket = await tickets.take(session, limits, operator, callback_data.ticket, card.message_id if card else None)
    except TicketError as error:
        await callback.answer(refusal(error), show_alert=True)
        return
    if card is not None:
        # This card changes at once; the others (and the conversation so far) are owed by the
        # service. A second press finds it changed already, which Telegram calls "not modified".
        first = await tickets.first_from_citizen(session, ticket.id)
        with suppress(TelegramBadRequest):
            await card.edit_text(
                texts.card_text(
                    ticket, directory, first, operator.telegram_id, earlier=await tickets.earlier_of(session, operator, ticket)
                ),
                reply_markup=texts.card_keyboard(ticket, operator.telegram_id),
            )
        await tickets.link(session, operator.telegram_id, card.message_id, ticket.id, is_card=True)
    await callback.answer(_("Request №{number} is yours.").format(number=ticket.id))


async def on_make_current(
    callback: CallbackQuery, callback_data: TicketAction, session: AsyncSession, operator: Operator, limits: Limits,
    directory: Directory,
) -> None:
    try:
        ticket = await tickets.make_current(session, limits, operator, callback_data.ticket)
    except TicketError as error:
        await callback.answer(refusal(error, directory), show_alert=True)
        return
    await callback.answer(
        _("Your messages now go to the citizen of request №{number}.").format(number=ticket.id), show_alert=True
    )


async def on_call(
    callback: CallbackQuery, callback_data: TicketAction, session: AsyncSession, operator: Operator, limits: Limits,
    directory: Directory,
) -> None:
    """📞 Called, 📵 No answer, ✅ Reached on a "call me back" request's card."""
    try:
        ticket = await tickets.call_made(session, limits, operator, callback_data.ticket, callback_data.action)
    except TicketError as error:
        await callback.answer(refusal(error, directory), show_alert=True)
        return
    if callback_data.action == "no_answer":
        await callback.answer(_("Noted: no answer. You will be reminded to call request №{number} again at its next window.").format(number=ticket.id), show_alert=True)
    else:
        await callback.answer(_("Noted on request №{number}. Close it when it is settled.").format(number=ticket.id))


async def on_history(
    callback: CallbackQuery, callback_data: TicketAction, session: AsyncSession, operator: Operator, directory: Directory
) -> None:
    try:
        ticket, said = await tickets.history_for(session, operator, callback_data.ticket)
    except TicketError as error:
        await callback.answer(refusal(error), show_alert=True)
        return
    await callback.answer()
    sent = await callback.message.answer(texts.history_text(ticket, directory, said))
    await tickets.link(session, operator.telegram_id, sent.message_id, ticket.id, is_card=False)


async def on_transfer(
    callback: CallbackQuery, callback_data: TicketAction, session: AsyncSession, operator: Operator, directory: Directory
) -> None:
    ticket = await ticket_or_refuse(callback, session, operator, callback_data.ticket)
    if ticket is None:
        return
    await callback.answer()
    await callback.message.answer(
        _("Transfer request №{number} to which front-office?").format(number=ticket.id),
        reply_markup=offices_keyboard(ticket, directory),
    )


async def on_transfer_to(
    callback: CallbackQuery, callback_data: TransferTo, state: FSMContext, directory: Directory, session: AsyncSession,
    operator: Operator,
) -> None:
    if not callback_data.office:
        await callback.answer()
        await callback.message.edit_text(_("The transfer is cancelled."))
        return
    if directory.get(callback_data.office) is None:
        await callback.answer(_("This button is no longer active."))
        return
    if await ticket_or_refuse(callback, session, operator, callback_data.ticket) is None:
        return
    await state.set_state(Desk.transfer_note)
    await state.update_data(ticket=callback_data.ticket, office=callback_data.office)
    await callback.answer()
    await callback.message.edit_text(
        _("A note for {office}: what has been done and what is needed (one message).").format(
            office=escape(texts.office_name(directory, callback_data.office))
        ),
        reply_markup=ticket_step_cancel_keyboard(callback_data.ticket),
    )


async def step_text(message: Message, state: FSMContext, ask: str) -> tuple[str, dict] | None:
    """The short text a desk step waits for (a transfer's or a hand-back's note, a resolution) and
    the step's data, the step ended; None, asked again with `ask`, for no text or a text longer
    than a note may be."""
    words = (message.text or "").strip()
    if not words or utf16_length(words) > tickets.MAX_NOTE_LENGTH:
        await message.answer(ask.format(limit=tickets.MAX_NOTE_LENGTH))
        return None
    data = await state.get_data()
    await state.clear()
    return words, data


async def on_transfer_note(
    message: Message, state: FSMContext, session: AsyncSession, operator: Operator, limits: Limits, directory: Directory
) -> None:
    answered = await step_text(message, state, _("Please write the note as text, up to {limit} characters."))
    if answered is None:
        return
    note, data = answered
    try:
        ticket = await tickets.transfer(session, limits, operator, int(data["ticket"]), data["office"], note)
    except TicketError as error:
        await message.answer(refusal(error))
        return
    await message.answer(
        _("Request №{number} has been transferred to {office}.").format(
            number=ticket.id, office=escape(texts.office_name(directory, ticket.office))
        )
    )


async def on_close(
    callback: CallbackQuery, callback_data: TicketAction, state: FSMContext, session: AsyncSession, operator: Operator,
    directory: Directory,
) -> None:
    ticket = await answerable_or_refuse(callback, session, operator, callback_data.ticket, directory)
    if ticket is None:  # refused now, not after the resolution is typed
        return
    await state.set_state(Desk.resolution)
    await state.update_data(ticket=ticket.id)
    await callback.answer()
    await callback.message.answer(
        _("Closing request №{number}. Write the resolution in one message: the citizen receives it.").format(number=ticket.id),
        reply_markup=ticket_step_cancel_keyboard(ticket.id),
    )


async def on_note(
    callback: CallbackQuery, callback_data: TicketAction, state: FSMContext, session: AsyncSession, operator: Operator
) -> None:
    ticket = await ticket_or_refuse(callback, session, operator, callback_data.ticket)
    if ticket is None:
        return
    await state.set_state(Desk.note)
    await state.update_data(ticket=ticket.id)
    await callback.answer()
    await callback.message.answer(texts.note_prompt(ticket), reply_markup=ticket_step_cancel_keyboard(ticket.id))


async def on_note_text(message: Message, state: FSMContext, session: AsyncSession, operator: Operator) -> None:
    if await add_note(message, session, operator, int((await state.get_data())["ticket"]), message.text):
        await state.clear()


async def add_note(message: Message, session: AsyncSession, operator: Operator, ticket_id: int, note: str | None) -> bool:
    """Add the note, or say why not; False if the note itself must be written again."""
    if not (note or "").strip() or utf16_length(note or "") > tickets.MAX_STAFF_NOTE_LENGTH:
        await message.answer(
            _("Please write the note as text, up to {limit} characters.").format(limit=tickets.MAX_STAFF_NOTE_LENGTH)
        )
        return False
    try:
        ticket, _note_id = await tickets.add_note(session, operator, ticket_id, note or "")
    except TicketError as error:
        await message.answer(refusal(error))
        return True
    await message.answer(texts.note_added(ticket))
    return True


async def on_note_command(message: Message, command: CommandObject, session: AsyncSession, operator: Operator) -> None:
    """/note <text>: a note on the current request; /note №<number> <text>: on that one (a
    coordinator's on a request a colleague holds). A bare number is a request's only when there is
    no current one: "/note 3 bags delivered" is about the request in hand."""
    note = (command.args or "").strip()
    ticket_id = operator.current_ticket
    first, _space, rest = note.partition(" ")
    named = first.removeprefix("№").removeprefix("#")
    if named.isdecimal() and named.isascii() and (named != first or ticket_id is None):
        ticket_id, note = int(named), rest.strip()
    if ticket_id is None or not note:
        await message.answer(
            _("Send /note and the note's text: it goes on your current request, for staff only. For another request: /note, its number and the text, or 📝 Note on its card.")
        )
        return
    await add_note(message, session, operator, ticket_id, note)


async def on_hand_back(
    callback: CallbackQuery, callback_data: TicketAction, state: FSMContext, session: AsyncSession, operator: Operator,
    directory: Directory,
) -> None:
    try:  # refused now, not after the note is typed
        ticket = await tickets.answerable(session, operator, callback_data.ticket)
        if ticket.status is not tickets.Status.TAKEN:
            raise TicketError(tickets.NOT_YOURS, ticket)
    except TicketError as error:
        await callback.answer(refusal(error, directory), show_alert=True)
        return
    await state.set_state(Desk.hand_back_note)
    await state.update_data(ticket=ticket.id)
    await callback.answer()
    await callback.message.answer(texts.hand_back_prompt(ticket), reply_markup=ticket_step_cancel_keyboard(ticket.id))


async def on_hand_back_note(
    message: Message, state: FSMContext, session: AsyncSession, operator: Operator, limits: Limits, directory: Directory
) -> None:
    answered = await step_text(message, state, _("Please write the note as text, up to {limit} characters."))
    if answered is None:
        return
    note, data = answered
    try:
        ticket = await tickets.hand_back(session, limits, operator, int(data["ticket"]), note)
    except TicketError as error:
        await message.answer(refusal(error, directory))
        return
    await message.answer(texts.handed_back_text(ticket, directory))


async def on_cancel(callback: CallbackQuery, state: FSMContext) -> None:
    """Closing, transferring, a note or handing back is called off; the ticket stays as it was."""
    if await state.get_state() not in (
        Desk.resolution.state, Desk.transfer_note.state, Desk.note.state, Desk.hand_back_note.state
    ):
        await callback.answer(_("This button is no longer active."))
        return
    await state.clear()
    await callback.answer()
    await callback.message.edit_text(_("Cancelled; the request stays as it was."))


async def on_resolution(
    message: Message, state: FSMContext, session: AsyncSession, operator: Operator, limits: Limits, directory: Directory
) -> None:
    answered = await step_text(message, state, _("Please write the resolution as text, up to {limit} characters."))
    if answered is None:
        return
    resolution, data = answered
    try:
        ticket = await tickets.close_by_operator(session, limits, operator, int(data["ticket"]), resolution)
    except TicketError as error:
        await message.answer(refusal(error, directory))
        return
    await message.answer(_("Request №{number} is closed; the citizen has been asked to rate the answer.").format(number=ticket.id))


def ticket_lines(found: list[Ticket], directory: Directory) -> list[str]:
    lines = []
    for ticket in found:
        state = texts.card_status(ticket, 0) if ticket.status is not tickets.Status.NEW else _("🟡 waiting")
        lines.append(
            f"/ticket_{ticket.id} · {texts.category_name(ticket.category)} · "
            f"{texts.office_name(directory, ticket.region)} · {texts.local_time(ticket.created_at, directory)} · {state}"
        )
    return lines


async def on_queue(message: Message, session: AsyncSession, operator: Operator, directory: Directory) -> None:
    found = await tickets.queue(session, operator)
    if not found:
        await message.answer(_("No open requests in your front-office. 🎉"))
        return
    await message.answer("\n".join([_("<b>Open requests</b>, oldest first:"), *ticket_lines(found, directory)]))


async def on_mine(message: Message, session: AsyncSession, operator: Operator, directory: Directory) -> None:
    found = await tickets.taken_by(session, operator)
    if not found:
        await message.answer(_("You have no requests in work. /queue shows the open ones."))
        return
    await message.answer("\n".join([_("<b>My requests in work</b>:"), *ticket_lines(found, directory)]))


async def on_ticket(
    message: Message, command: CommandObject, session: AsyncSession, operator: Operator, directory: Directory
) -> None:
    raw = command.command.removeprefix("ticket").removeprefix("_") or (command.args or "").strip()
    try:
        ticket = await tickets.ticket_for(session, operator, int(raw))
    except (ValueError, TicketError):
        await message.answer(_("Send /ticket and the number of a request of your front-office, for example: /ticket 12"))
        return
    await send_card(message, ticket, directory, session, operator)


async def relay(
    message: Message, session: AsyncSession, operator: Operator, limits: Limits, directory: Directory, ticket_id: int,
    album: AlbumItem,
) -> None:
    """The operator's message goes to the citizen of `ticket_id`; each photo of an album goes, and
    the first is answered for them all."""
    content, not_taken = ticket_content(message)
    if not_taken is not None:
        album.refused = True
        await message.answer(not_taken)
        return
    try:
        ticket = await tickets.operator_says(session, limits, operator, ticket_id, content)
    except TicketError as error:
        album.refused = True
        await message.answer(refusal(error, directory))
        return
    # A reply to this message of the operator's own goes to the same ticket, not the current one.
    await tickets.link(session, operator.telegram_id, message.message_id, ticket.id, is_card=False)
    if album.position:
        return
    note = _("✓ Sent to the citizen of request №{number}.").format(number=ticket.id)
    if ticket.citizen_unreachable:
        note += "\n" + _("⚠️ The citizen has blocked the bot: the message may not reach them.")
    sent = await message.answer(note)
    await tickets.link(session, operator.telegram_id, sent.message_id, ticket.id, is_card=False)


async def on_reply(
    message: Message, session: AsyncSession, operator: Operator, limits: Limits, directory: Directory, ticket_id: int,
    album: AlbumItem,
) -> None:
    """A reply to a message the bot recorded as one of a ticket's (its card, a relayed message,
    the history, the operator's own answer) goes to that ticket."""
    await relay(message, session, operator, limits, directory, ticket_id, album)


async def on_other_reply(message: Message) -> None:
    """A reply to anything else (a deed card, an announcement's progress, a prompt) is never
    relayed, whatever it quotes: the bot reads no ticket number out of a message's text."""
    await message.answer(
        _("That message does not belong to a request, so your reply went to nobody. To answer a citizen, reply to a message of their request or choose one in /my; for anything else, use the message's buttons.")
    )


async def on_current(
    message: Message, session: AsyncSession, operator: Operator, limits: Limits, directory: Directory, album: AlbumItem
) -> None:
    await relay(message, session, operator, limits, directory, operator.current_ticket, album)


async def on_export(
    message: Message, command: CommandObject, session: AsyncSession, directory: Directory, operator: Operator
) -> None:
    """`/tickets_export [region] [new|taken|closed] [from] [to]`: tickets without personal data."""
    chosen = export_filters(command.args, directory, tuple(tickets.Status))
    if chosen is None:
        await message.answer(
            _("Send /tickets_export, optionally with a region, a state (new, taken or closed) and the first and last day, for example: /tickets_export almaty closed 2026-11-01 2026-11-30")
        )
        return
    rows = await tickets_export.collect(session, tickets_export.Filters(*chosen), by=operator)
    await message.answer_document(
        BufferedInputFile(tickets_export.to_xlsx(rows), "tickets.xlsx"),
        caption=_("Requests: {count}. No phone numbers or message texts.").format(count=len(rows)),
    )
    await message.answer_document(BufferedInputFile(tickets_export.to_csv(rows), "tickets.csv"))


async def on_nowhere(message: Message) -> None:
    await message.answer(
        _("This message went to nobody: to answer a citizen, reply to a message of their request, or choose one in /my.")
    )


def create_router() -> Router:
    router = Router(name="desk")
    router.message.filter(ActiveOperator())
    router.callback_query.filter(ActiveOperator())
    router.callback_query.register(on_take, TicketAction.filter(F.action == "take"))
    router.callback_query.register(on_make_current, TicketAction.filter(F.action == "reply"))
    router.callback_query.register(on_history, TicketAction.filter(F.action == "history"))
    router.callback_query.register(on_call, TicketAction.filter(F.action.in_(tickets.CALL_OUTCOMES)))
    router.callback_query.register(on_transfer, TicketAction.filter(F.action == "transfer"))
    router.callback_query.register(on_close, TicketAction.filter(F.action == "close"))
    router.callback_query.register(on_note, TicketAction.filter(F.action == "note"))
    router.callback_query.register(on_hand_back, TicketAction.filter(F.action == "hand_back"))
    router.callback_query.register(on_cancel, TicketAction.filter(F.action == "cancel"))
    router.callback_query.register(on_transfer_to, TransferTo.filter())
    router.message.register(on_queue, Command("queue"))
    router.message.register(on_mine, Command("my"))
    router.message.register(on_ticket, Command(re.compile(r"ticket(_\d+)?$")))
    router.message.register(on_note_command, Command("note"))
    router.message.register(on_export, Command("tickets_export"), ActiveOperator(coordinators_only=True))
    # A reply always goes to the ticket it replies to, even in the middle of closing another one.
    not_menu = ~AnyMenuButton()
    # A note is for staff whatever it replies to: the note steps come before the replies.
    router.message.register(on_note_text, StateFilter(Desk.note), NotCommand(), not_menu)
    router.message.register(on_hand_back_note, StateFilter(Desk.hand_back_note), NotCommand(), not_menu)
    router.message.register(on_reply, RepliesToTicket(), NotCommand(), flags={"album": True})
    router.message.register(on_resolution, StateFilter(Desk.resolution), NotCommand(), not_menu)
    router.message.register(on_transfer_note, StateFilter(Desk.transfer_note), NotCommand(), not_menu)
    # In another flow's step (a deed's amount, a reason), a reply is that flow's to take.
    router.message.register(on_other_reply, IsReply(), StateFilter(None), NotCommand())
    router.message.register(on_current, HasCurrentTicket(), StateFilter(None), NotCommand(), not_menu, flags={"album": True})
    # An operator who is not also a citizen of the bot has nothing else to say to it.
    router.message.register(on_nowhere, Onboarded(False), StateFilter(None), NotCommand())
    return router
