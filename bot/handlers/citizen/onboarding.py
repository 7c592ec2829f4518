"""First start: language, consent to personal data, region; then the main menu.

Nothing about the person is stored before consent: the language chosen first waits in the FSM data.
`/start` (or any message from someone not yet set up) resumes where they are and never loses what
they stored.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import Onboarded, is_onboarded
from bot.i18n import LANGUAGE_NAMES, language_order
from bot.middlewares.user import ONBOARDING_LANGUAGE_KEY
from bot.services import users
from bot.services.directory import Directory
from bot.services.users import Person
from bot.views.callbacks import ConsentChoice, LanguageChoice, Purpose, RegionChoice
from bot.views.common import choose_language_prompt, consent_request
from bot.views.menu import main_menu
from bot.views.onboarding import consent_keyboard, language_keyboard, region_keyboard


class Onboarding(StatesGroup):
    language = State()
    consent = State()
    region = State()


async def ask_language(message: Message, state: FSMContext, i18n: I18n) -> None:
    await state.set_state(Onboarding.language)
    order = language_order(message.from_user.language_code if message.from_user else None)
    await message.answer(
        choose_language_prompt(i18n, order), reply_markup=language_keyboard(order, Purpose.ONBOARDING)
    )


async def ask_consent(message: Message, state: FSMContext, i18n: I18n) -> None:
    await state.set_state(Onboarding.consent)
    await message.answer(consent_request(), reply_markup=consent_keyboard(i18n.current_locale))


def region_question() -> str:
    return _("Which region are you in? Your requests will go to its volunteer front-office.")


async def ask_region(message: Message, state: FSMContext, directory: Directory, language: str) -> None:
    await state.set_state(Onboarding.region)
    await message.answer(region_question(), reply_markup=region_keyboard(directory, language, Purpose.ONBOARDING))


async def show_menu(message: Message, text: str) -> None:
    await message.answer(text, reply_markup=main_menu())


async def resume(
    message: Message, state: FSMContext, user: Person | None, directory: Directory, i18n: I18n
) -> None:
    """Show the step this person is at, or the menu when they are set up."""
    if is_onboarded(user):
        await state.clear()
        await show_menu(message, _("Welcome back! Ask a question or choose from the menu below."))
        return
    current = await state.get_state()
    if user is not None and not users.needs_consent(user):
        await ask_region(message, state, directory, user.language)
    elif current == Onboarding.consent.state:
        await ask_consent(message, state, i18n)
    else:
        await ask_language(message, state, i18n)


async def on_start(
    message: Message, state: FSMContext, user: Person | None, directory: Directory, i18n: I18n
) -> None:
    await resume(message, state, user, directory, i18n)


async def on_language(
    callback: CallbackQuery,
    callback_data: LanguageChoice,
    state: FSMContext,
    i18n: I18n,
) -> None:
    if callback_data.code not in LANGUAGE_NAMES:
        await callback.answer(_("This button is no longer active."))
        return
    await state.update_data({ONBOARDING_LANGUAGE_KEY: callback_data.code})
    await state.set_state(Onboarding.consent)
    with i18n.use_locale(callback_data.code):
        # The language question turns into the consent request, in the language just chosen.
        await callback.message.edit_text(
            f"✅ {LANGUAGE_NAMES[callback_data.code]}\n\n{consent_request()}",
            reply_markup=consent_keyboard(callback_data.code),
        )
        await callback.answer()


async def on_consent(
    callback: CallbackQuery,
    callback_data: ConsentChoice,
    state: FSMContext,
    session: AsyncSession,
    directory: Directory,
    i18n: I18n,
) -> None:
    language = (await state.get_data()).get(ONBOARDING_LANGUAGE_KEY) or i18n.current_locale
    if not callback_data.agree:
        await state.clear()
        await callback.message.edit_text(
            _(
                "Understood: nothing about you has been stored. Without consent the bot cannot "
                "remember your language and region or pass your questions to a front-office. "
                "Information for volunteers is also on Qazvolunteer.kz. If you change your mind, "
                "send /start."
            )
        )
        await callback.answer()
        return
    user = await users.give_consent(session, callback.from_user.id, language)
    recorded = _("✅ Thank you, your consent is recorded.")
    if user.region is None:
        # The consent request turns into the region question; the record of consent stays on top.
        await state.set_state(Onboarding.region)
        await callback.message.edit_text(
            f"{recorded}\n\n{region_question()}",
            reply_markup=region_keyboard(directory, language, Purpose.ONBOARDING),
        )
        await callback.answer()
    else:
        await state.clear()
        await callback.message.edit_text(recorded)
        await callback.answer()
        await show_menu(callback.message, _("All set! Ask a question or choose from the menu below."))


async def on_region(
    callback: CallbackQuery,
    callback_data: RegionChoice,
    state: FSMContext,
    session: AsyncSession,
    user: Person | None,
    directory: Directory,
) -> None:
    office = directory.get(callback_data.slug)
    if user is None or office is None or office.is_national:
        await callback.answer(_("This button is no longer active."))
        return
    user = await users.set_region(session, directory, user, office.slug)
    await state.clear()
    region_line = _("✅ Region: {region}").format(region=office.name[user.language])
    first_line = (callback.message.text or "").split("\n", 1)[0]
    # Keep the record of consent when the region question carried it (the first set-up).
    recorded = _("✅ Thank you, your consent is recorded.")
    text = f"{recorded}\n{region_line}" if first_line == recorded else region_line
    await callback.message.edit_text(text)
    await callback.answer()
    await show_menu(
        callback.message,
        _(
            "All set! I am the bot of the volunteer Call-centre. Type a question in your own words "
            "or choose from the menu below."
        ),
    )


async def on_unexpected_during_onboarding(
    message: Message, state: FSMContext, user: Person | None, directory: Directory, i18n: I18n
) -> None:
    """Text, a sticker or a command where a button is expected: say so and show the step again."""
    await message.answer(_("Please finish this step first: choose one of the buttons."))
    await resume(message, state, user, directory, i18n)


# Someone who is not set up and writes anything else (no state: e.g. after declining consent,
# or a state lost with an old version): start, or resume, the set-up.
async def on_message_before_setup(
    message: Message, state: FSMContext, user: Person | None, directory: Directory, i18n: I18n
) -> None:
    await resume(message, state, user, directory, i18n)


async def on_button_before_setup(callback: CallbackQuery) -> None:
    await callback.answer(_("Please send /start first."), show_alert=True)


def create_router() -> Router:
    # StateFilter rather than a bare State: aiogram runs a synchronous filter in a worker thread.
    router = Router(name="onboarding")
    router.message.register(on_start, CommandStart())
    router.callback_query.register(on_language, StateFilter(Onboarding.language), LanguageChoice.filter(F.purpose == Purpose.ONBOARDING))
    router.callback_query.register(on_consent, StateFilter(Onboarding.consent), ConsentChoice.filter())
    router.callback_query.register(on_region, StateFilter(Onboarding.region), RegionChoice.filter(F.purpose == Purpose.ONBOARDING))
    router.message.register(on_unexpected_during_onboarding, StateFilter(Onboarding))
    router.message.register(on_message_before_setup, Onboarded(expected=False))
    router.callback_query.register(on_button_before_setup, Onboarded(expected=False))
    return router
