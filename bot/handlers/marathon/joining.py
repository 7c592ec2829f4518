"""The marathon's home screen and joining it: as whom, under which name (or anonymously), for
which region."""

from __future__ import annotations

from html import escape

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import marathon
from bot.services.directory import Directory
from bot.services.marathon import Rules
from bot.services.users import Person
from bot.views.callbacks import MarathonNav, Purpose, RegionChoice
from bot.views.common import office_name
from bot.views.marathon import (
    PARTICIPANT_KINDS, anonymous_keyboard, display_name_prompt, home_keyboard, home_text, keep_region_keyboard,
    participant_kind_keyboard,
)
from bot.views.onboarding import region_keyboard


class Joining(StatesGroup):
    kind = State()
    name = State()
    region = State()


# --- home ------------------------------------------------------------------------------------------

async def home(message: Message, session: AsyncSession, user: Person, rules: Rules) -> None:
    joined = await marathon.participant(session, user.telegram_id)
    running = await marathon.dates(session, rules)
    await message.answer(home_text(running), reply_markup=home_keyboard(joined is not None))


async def on_home(message: Message, state: FSMContext, session: AsyncSession, user: Person, rules: Rules) -> None:
    await state.clear()
    await home(message, session, user, rules)


async def on_home_button(callback: CallbackQuery, state: FSMContext, session: AsyncSession, user: Person, rules: Rules) -> None:
    """The marathon's button under a knowledge-base answer about it."""
    await state.clear()
    await callback.answer()
    await home(callback.message, session, user, rules)


# --- joining -------------------------------------------------------------------------------------

async def on_join(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(Joining.kind)
    await state.set_data({})
    await callback.answer()
    await callback.message.answer(_("How do you take part?"), reply_markup=participant_kind_keyboard())


async def on_join_kind(callback: CallbackQuery, callback_data: MarathonNav, state: FSMContext) -> None:
    if callback_data.value not in PARTICIPANT_KINDS:
        await callback.answer(_("This button is no longer active."))
        return
    await state.update_data(kind=callback_data.value)
    await state.set_state(Joining.name)
    await callback.answer()
    await callback.message.edit_text(display_name_prompt(), reply_markup=anonymous_keyboard())


async def ask_join_region(message: Message, state: FSMContext, user: Person, directory: Directory) -> None:
    await state.set_state(Joining.region)
    await message.answer(
        _("Your region for the marathon: yours, or choose another below."),
        reply_markup=keep_region_keyboard(office_name(directory, user.region)),
    )
    await message.answer(_("Other regions:"), reply_markup=region_keyboard(directory, user.language, Purpose.MARATHON))


async def on_join_name(message: Message, state: FSMContext, user: Person, directory: Directory) -> None:
    name = " ".join((message.text or "").split())
    if not name or len(name) > marathon.MAX_NAME_LENGTH:
        await message.answer(_("Please send a name of 1 to {limit} characters, or press “Stay anonymous”.").format(limit=marathon.MAX_NAME_LENGTH))
        return
    await state.update_data(name=name)
    await ask_join_region(message, state, user, directory)


async def on_join_anonymous(callback: CallbackQuery, state: FSMContext, user: Person, directory: Directory) -> None:
    if await state.get_state() != Joining.name.state:
        await callback.answer(_("This button is no longer active."))
        return
    await state.update_data(name=None)
    await callback.answer()
    await ask_join_region(callback.message, state, user, directory)


async def finish_join(message: Message, state: FSMContext, session: AsyncSession, user: Person, rules: Rules, region: str) -> None:
    data = await state.get_data()
    await state.clear()
    joined = await marathon.join(session, user.telegram_id, data["kind"], data.get("name"), region)
    shown = escape(joined.display_name) if joined.display_name else _("anonymous")
    await message.answer(_("🎉 You are in the marathon as {name}. Now log your first good deed!").format(name=shown))
    await home(message, session, user, rules)


async def on_keep_region(callback: CallbackQuery, state: FSMContext, session: AsyncSession, user: Person, rules: Rules) -> None:
    if await state.get_state() != Joining.region.state:
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    await finish_join(callback.message, state, session, user, rules, user.region)


async def on_join_region(
    callback: CallbackQuery, callback_data: RegionChoice, state: FSMContext, session: AsyncSession, user: Person,
    rules: Rules, directory: Directory,
) -> None:
    if await state.get_state() != Joining.region.state or not directory.is_region(callback_data.slug):
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    await finish_join(callback.message, state, session, user, rules, callback_data.slug)
