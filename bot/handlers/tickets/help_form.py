""""Need volunteers' help": a short form (kind of help, what is needed, where, when, a phone number)
with a summary to send or edit, which becomes a ticket of the citizen's regional front-office.

The answers wait in the FSM data until the person sends the form, so a restart in the middle loses
nothing and nothing is stored as a ticket before they confirm. The phone is asked only here, after
consent; the contact button shares the person's own number, a typed one must be a Kazakhstan number.
"""

from __future__ import annotations


from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import NotCommand, Onboarded
from bot.i18n import N_
from bot.services import abuse, tickets
from bot.services.abuse import FloodLimits, Verdict
from bot.services.lengths import utf16_length
from bot.services.phones import kazakhstan_phone, shared_phone
from bot.services.tickets import Content, Limits, TicketError
from bot.services.users import Person
from bot.views.blocks import flood_refusal
from bot.views.callbacks import HelpFormStep
from bot.views.help_form import (
    category_keyboard, fields_keyboard, phone_keyboard, step_keyboard, summary_keyboard, summary_text,
)
from bot.views.menu import AnyMenuButton, MenuButton, NEED_HELP, WayIn, main_menu
from bot.views import tickets as texts


class HelpForm(StatesGroup):
    category = State()
    need = State()
    place = State()
    when = State()
    phone = State()
    confirm = State()


# The form's text answers: the state that asks, the question, the longest answer taken.
TEXT_STEPS: dict[str, tuple[State, str, int]] = {
    "need": (HelpForm.need, N_("What is needed? Describe it in a few sentences (up to {limit} characters)."), 1000),
    "place": (HelpForm.place, N_("Where? The locality: a city, a district or a village, and the address if you wish (up to {limit} characters)."), 200),
    "when": (HelpForm.when, N_("When is help needed? For example: today, on Saturday morning (up to {limit} characters)."), 100),
}
ORDER = ("category", "need", "place", "when", "phone")
MIN_NEED_LENGTH = 5


def _step_of(state_name: str | None) -> str | None:
    for step in ORDER:
        if state_name == getattr(HelpForm, step).state:
            return step
    return None


async def ask(message: Message, state: FSMContext, step: str) -> None:
    """Ask the form's `step`."""
    if step == "category":
        await state.set_state(HelpForm.category)
        await message.answer(_("🆘 What kind of help is needed?"), reply_markup=category_keyboard())
    elif step == "phone":
        await state.set_state(HelpForm.phone)
        await message.answer(
            _("A phone number for the volunteers to call you: press the button below, or type a Kazakhstan number (+7 7XX XXX XX XX). It is seen only by the front-office handling this request."),
            reply_markup=phone_keyboard(),
        )
    else:
        asking, question, limit = TEXT_STEPS[step]
        await state.set_state(asking)
        await message.answer(_(question).format(limit=limit), reply_markup=step_keyboard(step))


async def next_step(message: Message, state: FSMContext, answered: str) -> None:
    """After an answer: the next question, or back to the summary when editing or done."""
    data = await state.get_data()
    following = ORDER[ORDER.index(answered) + 1 :]
    missing = [step for step in following if not data.get(step)]
    if data.get("editing") or not missing:
        await show_summary(message, state)
    else:
        await ask(message, state, missing[0])


async def show_summary(message: Message, state: FSMContext) -> None:
    await state.set_state(HelpForm.confirm)
    await state.update_data(editing=False)
    # The phone keyboard is gone once answered; the menu comes back with the confirmation.
    await message.answer(summary_text(await state.get_data()), reply_markup=summary_keyboard())


async def start(message: Message, state: FSMContext, open_ticket: int | None) -> None:
    step = _step_of(await state.get_state())
    if step is not None or await state.get_state() == HelpForm.confirm.state:
        # A second form in the middle of the first: carry on with the first, nothing is lost.
        await message.answer(_("You are already filling in a request for help; let us continue where you stopped."))
        if step is None:
            await show_summary(message, state)
        else:
            await ask(message, state, step)
        return
    if open_ticket is not None:
        await message.answer(texts.already_open_text(open_ticket))
        return
    await state.set_state(HelpForm.category)
    await state.set_data({})
    await ask(message, state, "category")


async def on_start(message: Message, state: FSMContext, open_ticket: int | None) -> None:
    await start(message, state, open_ticket)


async def on_start_button(callback: CallbackQuery, state: FSMContext, open_ticket: int | None) -> None:
    await callback.answer()
    await start(callback.message, state, open_ticket)


async def on_category(callback: CallbackQuery, callback_data: HelpFormStep, state: FSMContext) -> None:
    if callback_data.value not in tickets.HELP_CATEGORIES:
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    await state.update_data(category=callback_data.value)
    await callback.message.edit_text(
        _("Kind of help: {value}").format(value=texts.category_name(callback_data.value)), reply_markup=None
    )
    await next_step(callback.message, state, "category")


async def on_text_answer(message: Message, state: FSMContext) -> None:
    step = _step_of(await state.get_state())
    _asking, _question, limit = TEXT_STEPS[step]
    answer = " ".join((message.text or "").split())
    if not message.text:
        await message.answer(_("Please answer in words."), reply_markup=step_keyboard(step))
        return
    if utf16_length(message.text) > limit:
        await message.answer(
            _("That is too long: up to {limit} characters, please.").format(limit=limit), reply_markup=step_keyboard(step)
        )
        return
    if not answer or (step == "need" and len(answer) < MIN_NEED_LENGTH):
        await message.answer(_("Please describe it in a few words."), reply_markup=step_keyboard(step))
        return
    await state.update_data({step: message.text.strip()})
    await next_step(message, state, step)


async def on_as_soon_as_possible(callback: CallbackQuery, state: FSMContext) -> None:
    if await state.get_state() != HelpForm.when.state:
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    await state.update_data(when=_("As soon as possible"))
    await next_step(callback.message, state, "when")


async def on_contact(message: Message, state: FSMContext) -> None:
    contact = message.contact
    if contact.user_id != message.from_user.id:
        await message.answer(_("Please share your own number with the button below, or type it."), reply_markup=phone_keyboard())
        return
    await state.update_data(phone=shared_phone(contact.phone_number))
    await next_step(message, state, "phone")


async def on_typed_phone(message: Message, state: FSMContext) -> None:
    phone = kazakhstan_phone(message.text or "")
    if phone is None:
        await message.answer(
            _("That does not look like a Kazakhstan phone number. Type it as +7 7XX XXX XX XX, or press the button below."),
            reply_markup=phone_keyboard(),
        )
        return
    await state.update_data(phone=phone)
    await next_step(message, state, "phone")


async def on_wrong_kind(message: Message, state: FSMContext) -> None:
    """A sticker, a photo… where the form expects words or a button."""
    step = _step_of(await state.get_state())
    if step == "phone":
        await message.answer(_("Please share your number with the button below, or type it."), reply_markup=phone_keyboard())
    elif step in TEXT_STEPS:
        await message.answer(_("Please answer in words."), reply_markup=step_keyboard(step))
    elif step == "category":
        await message.answer(_("Please choose the kind of help with the buttons."), reply_markup=category_keyboard())
    else:
        await message.answer(_("Please use the buttons under the summary: send, edit or cancel."), reply_markup=summary_keyboard())


async def on_send(
    callback: CallbackQuery, state: FSMContext, session: AsyncSession, user: Person, limits: Limits, flood: FloodLimits
) -> None:
    data = await state.get_data()
    if await state.get_state() != HelpForm.confirm.state or not all(data.get(step) for step in ORDER):
        await callback.answer(_("This button is no longer active."))
        return
    first = Content("text", data["need"])
    admission = await abuse.admit(session, flood, user.telegram_id, first)
    if not admission.passed:
        if admission.verdict is Verdict.BLOCKED:
            await state.clear()
        await callback.answer()
        refusal = flood_refusal(admission, flood)
        if refusal is not None:
            await callback.message.answer(refusal)
        return
    try:
        await tickets.open_ticket(
            session, limits, citizen_id=user.telegram_id, region=user.region, language=user.language,
            kind=tickets.HELP, category=data["category"], first=first, phone=data["phone"],
            details={key: data[key] for key in ("need", "place", "when")},
        )
    except TicketError as error:
        await callback.answer()
        await state.clear()
        await callback.message.answer(texts.already_open_text(error.ticket.id))
        return
    await state.clear()
    await callback.answer()
    await callback.message.edit_reply_markup(reply_markup=None)
    await callback.message.answer(_("📨 Sent."), reply_markup=main_menu())


async def on_edit(callback: CallbackQuery, state: FSMContext) -> None:
    if await state.get_state() != HelpForm.confirm.state:
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    await callback.message.edit_text(_("What would you like to change?"), reply_markup=fields_keyboard(ORDER))


async def on_edit_field(callback: CallbackQuery, callback_data: HelpFormStep, state: FSMContext) -> None:
    if await state.get_state() != HelpForm.confirm.state or callback_data.value not in ORDER:
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    await state.update_data(editing=True)
    await callback.message.edit_reply_markup(reply_markup=None)
    await ask(callback.message, state, callback_data.value)


async def on_cancel(callback: CallbackQuery, state: FSMContext) -> None:
    if _step_of(await state.get_state()) is None and await state.get_state() != HelpForm.confirm.state:
        await callback.answer(_("This button is no longer active."))
        return
    await state.clear()
    await callback.answer()
    await callback.message.edit_reply_markup(reply_markup=None)
    await callback.message.answer(_("The request for help is cancelled; nothing was sent."), reply_markup=main_menu())


def create_router() -> Router:
    router = Router(name="help_form")
    router.message.filter(WayIn((NEED_HELP,), HelpForm), Onboarded())
    router.callback_query.filter(Onboarded())
    router.message.register(on_start, MenuButton(NEED_HELP))
    router.callback_query.register(on_start_button, HelpFormStep.filter(F.action == "start"))
    router.callback_query.register(on_category, HelpFormStep.filter(F.action == "category"), StateFilter(HelpForm.category))
    router.callback_query.register(on_as_soon_as_possible, HelpFormStep.filter(F.action == "now"))
    router.callback_query.register(on_send, HelpFormStep.filter(F.action == "send"))
    router.callback_query.register(on_edit, HelpFormStep.filter(F.action == "edit"))
    router.callback_query.register(on_edit_field, HelpFormStep.filter(F.action == "field"))
    router.callback_query.register(on_cancel, HelpFormStep.filter(F.action == "cancel"))
    not_menu = ~AnyMenuButton()
    text_steps = StateFilter(HelpForm.need, HelpForm.place, HelpForm.when)
    router.message.register(on_text_answer, text_steps, F.text, NotCommand(), not_menu)
    router.message.register(on_contact, StateFilter(HelpForm.phone), F.contact)
    router.message.register(on_typed_phone, StateFilter(HelpForm.phone), F.text, NotCommand(), not_menu)
    router.message.register(
        on_wrong_kind, StateFilter(HelpForm.category, HelpForm.need, HelpForm.place, HelpForm.when, HelpForm.phone, HelpForm.confirm), not_menu
    )
    return router
