"""Whatever no other handler took: a short answer in the person's language, nothing changed."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.filters import TypedCommand
from bot.views.menu import main_menu


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


async def on_edited(message: Message) -> None:
    """A person changed a message they had sent. What it said first is what the bot acted on and
    what an operator was given; the change goes nowhere, and the person must not think otherwise
    (a corrected phone number or address that nobody sees)."""
    await message.reply(
        _("Changes to a message already sent reach no one: what you sent first stays as it was. Please send the correction as a new message."),
        allow_sending_without_reply=True,  # the message may have been deleted since
    )


async def on_stale_button(callback: CallbackQuery) -> None:
    await callback.answer(_("This button is no longer active."))


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.register(on_unknown_command, TypedCommand())
    router.message.register(on_unsupported_message)
    router.callback_query.register(on_stale_button)
    router.edited_message.register(on_edited)
    return router
