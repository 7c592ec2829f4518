"""A long paste that Telegram's app split into several messages.

An app sends a text longer than Telegram's 4096 characters (UTF-16 units) as several messages, one
right after another, every piece but the last close to 4096 long. Each arrives as its own update:
without this, the first piece meets the flow's limit ("too long") and the last, short enough, would
be taken on its own as the person's question, an operator's reply to a citizen, or a deed's
description: a fragment that nobody meant to send alone.

So a piece that follows a near-limit text of the same person within a few seconds (by Telegram's
own dates, so that a backlog handled late is judged the same) is the rest of a paste: it is not
handed to the flows, and the person is told once, with the first piece dropped, that the rest was not
used. Forwards (dated when first sent) and commands are never pieces. The first piece goes to the flow as usual, which refuses it as too long everywhere
but in an announcement (whose limit is Telegram's own)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, TelegramObject, Update
from aiogram.utils.i18n import gettext as _

from bot.services.lengths import utf16_length

# A piece of a split paste is at least this long (apps cut at 4096, or a little before at a space
# or a line break); a text this long that is typed is rare, and then nothing follows it in seconds.
PIECE_LENGTH = 3500
# Apps send the pieces at once; Telegram's dates are in whole seconds.
PIECE_GAP_SECONDS = 2
PIECE_KEY = "paste_piece_at"  # in the FSM data: the date of the person's last near-limit text
TOLD_KEY = "paste_told_at"  # …and whether they were told of this paste's dropped rest already


def _typed(message: Message) -> bool:
    """Whether the text is the person's own typing or pasting: a forward keeps its original date,
    and a command is never a piece of a paste."""
    return message.forward_origin is None and message.via_bot is None and not message.text.startswith("/")


class SplitPastes(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        message = event.message if isinstance(event, Update) else None
        state: FSMContext | None = data.get("state")
        if message is None or state is None or message.text is None or not _typed(message):
            return await handler(event, data)
        sent_at = int(message.date.timestamp())
        long_piece = utf16_length(message.text) >= PIECE_LENGTH
        previous = (await state.get_data()).get(PIECE_KEY)
        # An app puts a reply on the first piece only: a reply starts something new.
        follows = message.reply_to_message is None and isinstance(previous, int)
        if follows and 0 <= sent_at - previous <= PIECE_GAP_SECONDS:
            await self._rest_of_paste(message, state, sent_at, long_piece)
            return None
        result = await handler(event, data)
        if long_piece:
            # After the flow: it may have cleared the data.
            await state.update_data({PIECE_KEY: sent_at, TOLD_KEY: None})
        return result

    @staticmethod
    async def _rest_of_paste(message: Message, state: FSMContext, sent_at: int, long_piece: bool) -> None:
        told = (await state.get_data()).get(TOLD_KEY) is not None
        # More may follow a long piece: the person is told once, with the first piece dropped.
        await state.update_data({PIECE_KEY: sent_at if long_piece else None, TOLD_KEY: sent_at if long_piece else None})
        if told:
            return
        await message.answer(_(
            "The rest of your long text arrived as separate messages (Telegram splits a text longer "
            "than 4096 characters); it was not used."
        ))
