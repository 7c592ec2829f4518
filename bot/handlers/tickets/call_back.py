""""Call me back": instead of writing, a citizen asks an operator of their region's front-office
to phone them (many older people would rather talk). From the prompt of "Ask an operator":
the number (shared with Telegram's contact button, or typed and checked as a Kazakhstan number),
a two-hour window within the office's hours, a few words on what it is about; then it is a request
of kind `callback`, whose card shows the number and the window and whose operator marks each call.
The answers wait in the FSM data until the last one, so nothing is stored before the person is done.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import NotCommand, Onboarded
from bot.handlers.tickets.requests import AskOperator
from bot.services import abuse, tickets
from bot.services.abuse import FloodLimits, Verdict
from bot.services.directory import Directory
from bot.services.lengths import utf16_length
from bot.services.phones import kazakhstan_phone, shared_phone
from bot.services.tickets import Content, Limits, TicketError
from bot.services.users import Person
from bot.views import tickets as texts
from bot.views.blocks import flood_refusal
from bot.views.callbacks import CallWindow, RequestAction
from bot.views.help_form import phone_keyboard
from bot.views.menu import AnyMenuButton, main_menu
from bot.views.tickets import call_windows_keyboard, question_cancel_keyboard

WINDOWS_OFFERED = 6


async def on_call_instead(callback: CallbackQuery, state: FSMContext) -> None:
    if await state.get_state() != AskOperator.question.state or (await state.get_data()).get("reopen"):
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    await callback.message.edit_reply_markup(reply_markup=None)
    await state.set_state(AskOperator.call_phone)
    await callback.message.answer(
        _("📞 Which number should the operator call? Press the button below to share yours, or type a Kazakhstan number (+7 7XX XXX XX XX). Only the front-office handling your request sees it."),
        reply_markup=phone_keyboard(),
    )


async def _offered(session: AsyncSession, user: Person, limits: Limits) -> list[tuple[datetime, datetime]]:
    """The windows a citizen may choose now: the next ones of their office's working hours."""
    calendar = await limits.calendar(session, user.region)
    return calendar.windows(datetime.now(UTC), tickets.CALL_WINDOW, WINDOWS_OFFERED)


async def _ask_window(
    message: Message, state: FSMContext, session: AsyncSession, user: Person, limits: Limits, directory: Directory,
    again: bool = False,
) -> None:
    windows = await _offered(session, user, limits)
    await state.set_state(AskOperator.call_window)
    if again:
        await message.answer(_("The window you chose has passed meanwhile: please choose another."))
    else:
        await message.answer(_("✓ The number is noted."), reply_markup=main_menu())
    await message.answer(
        _("When may the operator call? Choose a window of the front-office's hours (Astana time):"),
        reply_markup=call_windows_keyboard(windows, directory),
    )


async def on_contact(
    message: Message, state: FSMContext, session: AsyncSession, user: Person, limits: Limits, directory: Directory
) -> None:
    contact = message.contact
    if contact.user_id != message.from_user.id:
        await message.answer(_("Please share your own number with the button below, or type it."), reply_markup=phone_keyboard())
        return
    await state.update_data(phone=shared_phone(contact.phone_number))
    await _ask_window(message, state, session, user, limits, directory)


async def on_typed_phone(
    message: Message, state: FSMContext, session: AsyncSession, user: Person, limits: Limits, directory: Directory
) -> None:
    phone = kazakhstan_phone(message.text or "")
    if phone is None:  # with a way out: the phone keyboard has replaced the menu
        await message.answer(
            _("That does not look like a Kazakhstan phone number. Type it as +7 7XX XXX XX XX, or press the button below."),
            reply_markup=question_cancel_keyboard(),
        )
        return
    await state.update_data(phone=phone)
    await _ask_window(message, state, session, user, limits, directory)


async def on_window(
    callback: CallbackQuery, callback_data: CallWindow, state: FSMContext, session: AsyncSession, user: Person,
    limits: Limits, flood: FloodLimits, directory: Directory,
) -> None:
    if await state.get_state() != AskOperator.call_window.state:
        await callback.answer(_("This button is no longer active."))
        return
    start = datetime.fromtimestamp(callback_data.start, UTC)
    # One of the windows offered now: an old button (begun since) or forged data (any other time)
    # is neither.
    chosen = next((window for window in await _offered(session, user, limits) if window[0] == start), None)
    if chosen is None:
        await callback.answer(_("That window is no longer available: please choose another."), show_alert=True)
        return
    await state.update_data(window_from=chosen[0].isoformat(), window_to=chosen[1].isoformat())
    await callback.answer()
    await callback.message.edit_reply_markup(reply_markup=None)
    about = (await state.get_data()).get("about")
    if about:  # written already, and the window chosen again because the first had passed
        await _open(callback.message, state, session, user, limits, flood, directory, about)
        return
    await state.set_state(AskOperator.call_about)
    await callback.message.answer(
        _("In a few words, what is it about? (one message: the operator reads it before calling)"),
        reply_markup=question_cancel_keyboard(),
    )


async def on_about(
    message: Message, state: FSMContext, session: AsyncSession, user: Person, limits: Limits, flood: FloodLimits,
    directory: Directory,
) -> None:
    about = (message.text or "").strip()
    if not about or utf16_length(about) > tickets.MAX_TEXT_LENGTH:
        await message.answer(
            _("Please write it as text, up to {limit} characters.").format(limit=tickets.MAX_TEXT_LENGTH),
            reply_markup=question_cancel_keyboard(),
        )
        return
    await _open(message, state, session, user, limits, flood, directory, about, message.message_id)


async def _open(
    message: Message, state: FSMContext, session: AsyncSession, user: Person, limits: Limits, flood: FloodLimits,
    directory: Directory, about: str, from_message: int | None = None,
) -> None:
    """The request, once the number, a window not yet over and the words are there."""
    first = Content("text", about, extra={"from_message": from_message} if from_message else {})
    admission = await abuse.admit(session, flood, user.telegram_id, first)
    if not admission.passed:
        if admission.verdict is Verdict.BLOCKED:
            await state.clear()
        refusal = flood_refusal(admission, flood)
        if refusal is not None:
            await message.answer(refusal)
        return
    data = await state.get_data()
    if datetime.fromisoformat(data["window_to"]) <= datetime.now(UTC) + tickets.CALL_RETRY:
        # Written slowly: the window would be over (or nearly) before anyone could call.
        await state.update_data(about=about)
        await _ask_window(message, state, session, user, limits, directory, again=True)
        return
    details = {**(data.get("details") or {}), "window_from": data["window_from"], "window_to": data["window_to"]}
    try:
        await tickets.open_ticket(
            session, limits, citizen_id=user.telegram_id, region=user.region, language=user.language,
            kind=tickets.CALLBACK, category=tickets.CALLBACK, first=first, phone=data["phone"], details=details,
        )
    except TicketError as error:  # opened a moment ago, from another device
        if error.ticket is not None:
            await message.answer(texts.already_open_text(error.ticket.id))
    await state.clear()  # the confirmation, with the number and the window, is owed by the service


async def on_wrong_kind(message: Message, state: FSMContext) -> None:
    """A sticker, a photo… where a number, a window or words are expected."""
    step = await state.get_state()
    if step == AskOperator.call_phone.state:
        await message.answer(_("Please share your number with the button below, or type it."), reply_markup=phone_keyboard())
    elif step == AskOperator.call_window.state:
        await message.answer(_("Please choose a window with the buttons above."))
    else:
        await message.answer(
            _("Please write it as text, up to {limit} characters.").format(limit=tickets.MAX_TEXT_LENGTH),
            reply_markup=question_cancel_keyboard(),
        )


def create_router() -> Router:
    router = Router(name="call_back")
    router.message.filter(Onboarded())
    router.callback_query.filter(Onboarded())
    router.callback_query.register(on_call_instead, RequestAction.filter(F.action == "call"))
    router.callback_query.register(on_window, CallWindow.filter())
    not_menu = ~AnyMenuButton()
    router.message.register(on_contact, StateFilter(AskOperator.call_phone), F.contact)
    router.message.register(on_typed_phone, StateFilter(AskOperator.call_phone), F.text, NotCommand(), not_menu)
    router.message.register(on_about, StateFilter(AskOperator.call_about), F.text, NotCommand(), not_menu)
    router.message.register(
        on_wrong_kind, StateFilter(AskOperator.call_phone, AskOperator.call_window, AskOperator.call_about), NotCommand(), not_menu,
    )
    return router
