"""/privacy (the full notice) and /forget (withdraw consent, erase the person's data).
Both work at any moment, also in the middle of the first set-up."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import TypedCommand
from bot.services import personal_data
from bot.services.users import Person
from bot.views.callbacks import ForgetChoice
from bot.views.common import privacy_notice
from bot.views.personal_data import forget_keyboard


async def on_privacy(message: Message, settings: Settings) -> None:
    await message.answer(privacy_notice(settings.retention_days))


async def on_forget(message: Message, user: Person | None, state: FSMContext) -> None:
    if user is None:
        await state.clear()  # a set-up in progress (the language chosen) is keyed by their id
        await message.answer(_("Nothing about you is stored."))
        return
    await message.answer(
        _(
            "Delete everything the bot stores about you and withdraw your consent? That is your "
            "language, region and consent; the messages, files and phone number of your requests; "
            "your name in the Marathon of Good Deeds, your deeds' descriptions and photos. Only "
            "anonymous counts stay (a request came from your region, a deed of some kind was done), "
            "so statistics remain true. This cannot be undone."
        ),
        reply_markup=forget_keyboard(),
    )


async def on_forget_choice(
    callback: CallbackQuery, callback_data: ForgetChoice, state: FSMContext, session: AsyncSession
) -> None:
    if not callback_data.confirm:
        await callback.message.edit_text(_("Nothing was deleted."))
        await callback.answer()
        return
    erased = await personal_data.erase_person(session, callback.from_user.id)
    await state.clear()
    await callback.answer()
    if not erased.had_data:
        await callback.message.edit_text(_("Nothing about you is stored."))
        return
    await callback.message.edit_text(_("Your data has been deleted and your consent withdrawn."))
    await callback.message.answer(
        _("Goodbye! Send /start whenever you want to use the bot again."),
        reply_markup=ReplyKeyboardRemove(),
    )


def create_router() -> Router:
    router = Router(name="privacy")
    router.message.filter(TypedCommand())  # its messages are commands: a typed question skips it at once
    router.message.register(on_privacy, Command("privacy"))
    router.message.register(on_forget, Command("forget"))
    router.callback_query.register(on_forget_choice, ForgetChoice.filter())
    return router
