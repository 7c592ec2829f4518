"""A citizen's requests to a person: "Ask an operator" (a free question), what they write while a
request is open, "My requests" (see and close them) and the rating of a closed one. The help form
is in `help_form.py`; what operators do, in `desk.py`."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasOpenTicket, NotCommand, Onboarded
from bot.incoming import ticket_content
from bot.middlewares.albums import AlbumItem
from bot.services import abuse, tickets
from bot.services.abuse import FloodLimits, Verdict
from bot.services.directory import Directory
from bot.services.knowledge import KnowledgeBase, gaps
from bot.services.knowledge.gaps import GapKind
from bot.services.lengths import utf16_length
from bot.services.tickets import Content, Limits, TicketError
from bot.services.users import Person
from bot.views import tickets as texts
from bot.views.blocks import flood_refusal
from bot.views.callbacks import AskFromAnswer, RatingChoice, RequestAction
from bot.views.menu import ASK_OPERATOR, MY_REQUESTS, AnyMenuButton, MenuButton, WayIn, main_menu
from bot.views.tickets import close_confirm_keyboard, no_comment_keyboard, question_cancel_keyboard


class AskOperator(StatesGroup):
    which = State()  # a request was closed lately: about it, or something new? (data: details)
    question = State()  # data: details, and `reopen` (the closed request it is about)
    # "Call me back" instead (`call_back.py`): the number, the window, what it is about.
    call_phone = State()
    call_window = State()
    call_about = State()


class RatingComment(StatesGroup):
    comment = State()


async def start_question(
    message: Message, state: FSMContext, open_ticket: int | None, session: AsyncSession, user: Person, limits: Limits,
    directory: Directory, details: dict[str, str] | None = None,
) -> None:
    """Ask for the question; `details` go with the ticket it opens (where the person came from). A
    citizen whose request was closed lately is asked first whether this is about it."""
    if open_ticket is not None:
        await message.answer(texts.already_open_text(open_ticket))
        return
    await state.set_data({"details": details} if details else {})
    closed = await tickets.recently_closed(session, limits, user.telegram_id)
    if closed is not None:
        await state.set_state(AskOperator.which)
        await message.answer(texts.about_closed_text(closed, directory), reply_markup=texts.about_closed_keyboard(closed))
        return
    await ask_for_question(message, state)


async def ask_for_question(message: Message, state: FSMContext, reopening: int | None = None) -> None:
    await state.set_state(AskOperator.question)
    if reopening is not None:
        await state.update_data(reopen=reopening)
        text = _("✍️ Write what you want to add about request №{number} in one message: it opens again, and the front-office sees everything said before.").format(number=reopening)
    else:
        text = _("💬 Write your question for an operator of your region's front-office in one message. You can also send a photo, a document, a voice message or a location.")
    await message.answer(text, reply_markup=question_cancel_keyboard(call_back=reopening is None))


async def on_ask_operator(
    message: Message, state: FSMContext, open_ticket: int | None, session: AsyncSession, user: Person, limits: Limits,
    directory: Directory,
) -> None:
    await start_question(message, state, open_ticket, session, user, limits, directory)


async def on_ask_operator_button(
    callback: CallbackQuery, state: FSMContext, open_ticket: int | None, session: AsyncSession, user: Person, limits: Limits,
    directory: Directory,
) -> None:
    """The button of answers sent before AskFromAnswer: which answer it was is not known."""
    await callback.answer()
    await start_question(callback.message, state, open_ticket, session, user, limits, directory, {"via": "knowledge"})


async def on_ask_from_answer(
    callback: CallbackQuery, callback_data: AskFromAnswer, state: FSMContext, open_ticket: int | None, kb: KnowledgeBase,
    session: AsyncSession, user: Person, limits: Limits, directory: Directory,
) -> None:
    """"Ask an operator" under a knowledge-base answer: the answer did not settle it, which the
    statistics count (`details.via`)."""
    await callback.answer()
    details = {"via": "knowledge"}
    if kb.question(callback_data.topic, callback_data.question) is not None:  # not a forged or removed one
        details["kb"] = f"{callback_data.topic}/{callback_data.question}"
    await start_question(callback.message, state, open_ticket, session, user, limits, directory, details)


async def on_about_closed(
    callback: CallbackQuery, callback_data: RequestAction, state: FSMContext, session: AsyncSession, user: Person,
    limits: Limits,
) -> None:
    """About the request closed lately (`ticket`), or something new (0)."""
    if await state.get_state() != AskOperator.which.state:
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    await callback.message.edit_reply_markup(reply_markup=None)
    closed = await tickets.recently_closed(session, limits, user.telegram_id) if callback_data.ticket else None
    if callback_data.ticket and (closed is None or closed.id != callback_data.ticket):
        # Too late by now, or not theirs (forged): a new request, and they are told so.
        await callback.message.answer(_("Request №{number} can no longer be reopened: your message will start a new request.").format(
            number=callback_data.ticket))
    chosen = callback_data.ticket and closed is not None and closed.id == callback_data.ticket
    await ask_for_question(callback.message, state, closed.id if chosen else None)


async def on_which_typed(
    message: Message, state: FSMContext, session: AsyncSession, user: Person, limits: Limits, directory: Directory
) -> None:
    """Typed instead of choosing: the choice is asked again (it decides where the message goes)."""
    closed = await tickets.recently_closed(session, limits, user.telegram_id)
    if closed is None:  # too late by now: an ordinary question
        await ask_for_question(message, state)
        return
    await message.answer(texts.about_closed_text(closed, directory), reply_markup=texts.about_closed_keyboard(closed))


async def on_question(
    message: Message, state: FSMContext, session: AsyncSession, user: Person, limits: Limits, flood: FloodLimits,
    album: AlbumItem, kb: KnowledgeBase,
) -> None:
    content, admission = await admitted(message, session, user, flood, album)
    if content is None:
        if admission is not None and admission.verdict is Verdict.BLOCKED:
            await state.clear()
        return
    data = await state.get_data()
    details, reopening = data.get("details"), data.get("reopen")
    try:
        if reopening is not None:
            try:
                await tickets.reopen(session, limits, user.telegram_id, int(reopening), content)
                await state.clear()  # "open again" is owed by the service and follows at once
                return
            except TicketError as error:
                if error.reason != tickets.TOO_LATE:
                    raise
                # Closed too long ago by now (the question took a while): a new request, then.
        await tickets.open_ticket(
            session, limits, citizen_id=user.telegram_id, region=user.region, language=user.language,
            kind=tickets.QUESTION, category=tickets.QUESTION, first=content, details=details,
        )
    except TicketError as error:  # opened a moment ago, from another device
        await state.clear()
        await message.answer(texts.already_open_text(error.ticket.id) if error.ticket else _("This button is no longer active."))
        return
    if details and details.get("via") == "knowledge":
        # An answer did not settle it: which one is kept for /gaps (what was asked is the request's).
        answer = details.get("kb")
        await gaps.record(session, kb, None, user.language, GapKind.OPERATOR, answer=answer)
        await gaps.count(session, user.language, answer.partition("/")[0] if answer else None, to_operator=1)
    await state.clear()  # the confirmation with the number is owed by the service and follows at once


async def on_cancel(callback: CallbackQuery, state: FSMContext) -> None:
    step = await state.get_state()
    calling = step in (AskOperator.call_phone.state, AskOperator.call_window.state, AskOperator.call_about.state)
    if step not in (AskOperator.question.state, AskOperator.which.state) and not calling:  # sent already, or another step
        await callback.answer(_("This button is no longer active."))
        await callback.message.edit_reply_markup(reply_markup=None)
        return
    await state.clear()
    await callback.answer()
    if calling:  # the phone's keyboard may have replaced the menu: the menu comes back
        await callback.message.edit_reply_markup(reply_markup=None)
        await callback.message.answer(_("Cancelled. Nothing was sent."), reply_markup=main_menu())
        return
    await callback.message.edit_text(_("Cancelled. Nothing was sent."))


async def admitted(
    message: Message, session: AsyncSession, user: Person, flood: FloodLimits, album: AlbumItem
) -> tuple[Content | None, abuse.Admission | None]:
    """What a citizen sent for a request, as it is kept, once flood control lets it through; None
    when it is not taken (they were told why, and the rest of its album is not answered), with
    the admission when flood control or a block refused it."""
    content, not_taken = ticket_content(message)
    if not_taken is not None:
        album.refused = True
        await message.answer(not_taken)
        return None, None
    admission = await abuse.admit(session, flood, user.telegram_id, content)
    if not admission.passed:
        album.refused = True
        await refuse(message, admission, flood)
        return None, admission
    return content, admission


async def refuse(message: Message, admission: abuse.Admission, flood: FloodLimits) -> None:
    """A message that flood control or a block keeps from the operator: said once per window."""
    refusal = flood_refusal(admission, flood)
    if refusal is not None:
        await message.answer(refusal)


async def on_addition(
    message: Message, session: AsyncSession, user: Person, limits: Limits, flood: FloodLimits, album: AlbumItem
) -> None:
    """Anything the citizen writes while a request is open goes to it, unless they flood. The
    photos of an album go each; the first is answered for them all."""
    content, _admission = await admitted(message, session, user, flood, album)
    if content is None:
        return
    await tickets.citizen_is_back(session, user.telegram_id)
    try:
        ticket = await tickets.citizen_says(session, limits, user.telegram_id, content)
    except TicketError:  # closed by the operator a moment ago
        album.refused = True
        await message.answer(_("That request has just been closed. To write to an operator again: 💬 Ask an operator."))
        return
    if album.position:
        return
    if ticket.status is tickets.Status.TAKEN:
        await message.answer(_("✓ Sent to the operator (request №{number}).").format(number=ticket.id))
    else:
        await message.answer(
            _("✓ Added to your request №{number}. The operator who takes it will see it.").format(number=ticket.id)
        )


async def on_reply_to_closed(
    message: Message, session: AsyncSession, user: Person, limits: Limits, flood: FloodLimits, album: AlbumItem
) -> None:
    """A reply (Telegram's Reply) to a message of the citizen's request closed lately, such as the
    operator's answer: it is about that request, which opens again with it, as "🔁 About request
    №N" would. A reply to any other message, or once the request may no longer be reopened, is
    what it would be without the reply (a question for the knowledge base, say)."""
    closed = await tickets.recently_closed(session, limits, user.telegram_id)
    if closed is None or await tickets.ticket_of_bot_message(session, message.chat.id, message.reply_to_message.message_id) != closed.id:
        raise SkipHandler
    content, _admission = await admitted(message, session, user, flood, album)
    if content is None:
        return
    try:
        await tickets.reopen(session, limits, user.telegram_id, closed.id, content)  # "open again" is owed by it
    except TicketError as error:
        if error.reason != tickets.ALREADY_OPEN or error.ticket is None:
            raise
        album.refused = True  # opened a moment ago, from another device
        await message.answer(texts.already_open_text(error.ticket.id))


async def on_my_requests(message: Message, session: AsyncSession, user: Person) -> None:
    found = await tickets.tickets_of(session, user.telegram_id)
    await message.answer(texts.my_requests_text(found), reply_markup=texts.my_requests_keyboard(found))


async def on_close(callback: CallbackQuery, callback_data: RequestAction) -> None:
    await callback.answer()
    await callback.message.edit_text(
        _("Close request №{number}? The operator will no longer answer it.").format(number=callback_data.ticket),
        reply_markup=close_confirm_keyboard(callback_data.ticket),
    )


async def on_close_confirmed(
    callback: CallbackQuery, callback_data: RequestAction, session: AsyncSession, user: Person
) -> None:
    try:
        ticket = await tickets.close_by_citizen(session, user.telegram_id, callback_data.ticket)
    except TicketError:
        await callback.answer(_("This request is already closed."), show_alert=True)
        return
    await callback.answer()
    text = _("Request №{number} is closed.").format(number=ticket.id)
    if ticket.operator_id is None:
        await callback.message.edit_text(text)
        return
    await callback.message.edit_text(
        text + "\n\n" + _("How helpful was the answer? Rate it from 1 to 5:"), reply_markup=texts.rating_keyboard(ticket)
    )


async def on_close_declined(callback: CallbackQuery) -> None:
    await callback.answer()
    await callback.message.edit_text(_("The request stays open."))


async def on_rating(
    callback: CallbackQuery, callback_data: RatingChoice, state: FSMContext, session: AsyncSession, user: Person
) -> None:
    if not 1 <= callback_data.stars <= 5 or not await tickets.rate(session, user.telegram_id, callback_data.ticket, callback_data.stars):
        await callback.answer(_("This button is no longer active."))
        return
    await state.set_state(RatingComment.comment)
    await state.update_data(ticket=callback_data.ticket)
    await callback.answer()
    await callback.message.edit_text(
        _("Thank you! Your rating: {stars} ⭐. If you like, write a comment in one message.").format(stars=callback_data.stars),
        reply_markup=no_comment_keyboard(callback_data.ticket),
    )


async def on_comment(message: Message, state: FSMContext, session: AsyncSession, user: Person) -> None:
    ticket_id = (await state.get_data()).get("ticket")
    if not message.text or not message.text.strip():
        await message.answer(_("Please write the comment as text, or press “No comment”."))
        return
    if utf16_length(message.text) > tickets.MAX_COMMENT_LENGTH:
        await message.answer(
            _("That is too long for a comment: up to {limit} characters, please.").format(limit=tickets.MAX_COMMENT_LENGTH)
        )
        return
    await state.clear()
    if ticket_id is not None:
        await tickets.comment(session, user.telegram_id, int(ticket_id), message.text.strip())
    await message.answer(_("Thank you for the comment! It helps the front-office answer better."))


async def on_no_comment(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await callback.answer()
    await callback.message.edit_reply_markup(reply_markup=None)


def create_router() -> Router:
    router = Router(name="requests")
    router.message.filter(WayIn((ASK_OPERATOR, MY_REQUESTS), AskOperator, RatingComment), Onboarded())
    router.callback_query.filter(Onboarded())
    not_menu = ~AnyMenuButton()
    router.message.register(on_ask_operator, MenuButton(ASK_OPERATOR))
    router.message.register(on_my_requests, MenuButton(MY_REQUESTS))
    router.callback_query.register(on_ask_operator_button, RequestAction.filter(F.action == "ask"))  # older answers
    router.callback_query.register(on_ask_from_answer, AskFromAnswer.filter())
    router.callback_query.register(on_cancel, RequestAction.filter(F.action == "cancel"))
    router.callback_query.register(on_about_closed, RequestAction.filter(F.action == "about"))
    router.callback_query.register(on_close, RequestAction.filter(F.action == "close"))
    router.callback_query.register(on_close_confirmed, RequestAction.filter(F.action == "close_yes"))
    router.callback_query.register(on_close_declined, RequestAction.filter(F.action == "close_no"))
    router.callback_query.register(on_no_comment, RequestAction.filter(F.action == "no_comment"))
    router.callback_query.register(on_rating, RatingChoice.filter())
    router.message.register(on_question, StateFilter(AskOperator.question), not_menu, flags={"album": True})
    router.message.register(on_which_typed, StateFilter(AskOperator.which), not_menu, NotCommand())
    router.message.register(on_comment, StateFilter(RatingComment.comment), not_menu)
    return router


def create_reply_to_closed_router() -> Router:
    """A citizen with no open request who replies to one of the bot's messages, outside any form."""
    router = Router(name="reply_to_closed")
    router.message.filter(F.reply_to_message, ~HasOpenTicket(), Onboarded(), StateFilter(None), ~AnyMenuButton())
    router.message.register(on_reply_to_closed, NotCommand(), flags={"album": True})
    return router


def create_open_ticket_router() -> Router:
    """Runs after the help form: what a citizen with an open request writes, outside any form."""
    router = Router(name="open_ticket")
    router.message.filter(HasOpenTicket(), Onboarded(), StateFilter(None), ~AnyMenuButton())
    router.message.register(on_addition, NotCommand(), flags={"album": True})
    return router
