"""Whatever no other handler took: a short answer in the person's language, nothing changed."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyParameters
from aiogram.utils.i18n import gettext as _

from bot.filters import TypedCommand
from bot.views.menu import main_menu

EDITS_TOLD_KEY = "edits_told"  # in the FSM data: the person's messages whose edits were answered
EDITS_TOLD_KEPT = 20


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


async def on_edited(message: Message, state: FSMContext) -> None:
    """A person changed a text or caption they had sent. What it said first is what the bot acted
    on and what an operator was given; the change goes nowhere, and the person must not think
    otherwise (a corrected phone number or address that nobody sees). Told once for each message."""
    told: list[int] = (await state.get_data()).get(EDITS_TOLD_KEY) or []
    if message.message_id in told:
        return
    await state.update_data({EDITS_TOLD_KEY: [*told, message.message_id][-EDITS_TOLD_KEPT:]})
    await message.answer(
        _("Changes to a message already sent reach no one: what you sent first stays as it was. Please send the correction as a new message."),
        # In reply to the message changed, or without, if it was deleted since.
        reply_parameters=ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True),
    )


async def on_stale_button(callback: CallbackQuery) -> None:
    await callback.answer(_("This button is no longer active."))


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.register(on_unknown_command, TypedCommand())
    router.message.register(on_unsupported_message)
    router.callback_query.register(on_stale_button)
    # A live location moving arrives as an edit too: only texts and captions are people's edits.
    router.edited_message.register(on_edited, F.chat.type == ChatType.PRIVATE, F.text | F.caption)
    return router
