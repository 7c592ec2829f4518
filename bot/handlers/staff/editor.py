"""What the knowledge base's editor (/faq, `knowledge.py`) and /gaps (`gaps.py`, which starts a new
answer in the editor's conversation) share: the conversation's states, and a screen shown in place."""

from __future__ import annotations

from contextlib import suppress

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup


class Editing(StatesGroup):
    text = State()  # waiting for a text (data: field, topic, question, language; a new question's wording)
    confirm = State()  # the preview is shown; Save or Cancel (data: the pending change)


async def show(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    with suppress(TelegramBadRequest):  # the same screen pressed twice: "message is not modified"
        await callback.message.edit_text(text, reply_markup=markup)
    await callback.answer()
