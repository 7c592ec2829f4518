"""Whatever no other handler took: a short answer in the person's language, nothing changed."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.filters import TypedCommand
from bot.keyboards.menu import main_menu


async def on_unknown_command(message: Message) -> None:
    await message.answer(
        _("I do not know that command. Try /help, /settings or /privacy."), reply_markup=main_menu()
    )


async def on_unsupported_message(message: Message) -> None:
    # Stickers, photos, voice, locations…: nothing here needs them yet.
    await message.answer(
        _("I can read only text here. Type your question or choose from the menu below."),
        reply_markup=main_menu(),
    )


async def on_stale_button(callback: CallbackQuery) -> None:
    await callback.answer(_("This button is no longer active."))


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.register(on_unknown_command, TypedCommand())
    router.message.register(on_unsupported_message)
    router.callback_query.register(on_stale_button)
    return router
