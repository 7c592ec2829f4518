"""A person changes a message they sent to an open request (a citizen's, or the answer of the
operator holding it): the request keeps the change and the other side's copy changes too, marked as
edited. Any other edit goes on to the fallback, which says a change reaches no one."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.enums import ChatType
from aiogram.types import Message, ReplyParameters
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import tickets


async def on_edited(message: Message, session: AsyncSession) -> None:
    words = message.text if message.text is not None else message.caption
    try:
        changed = await tickets.edit_said(session, message.from_user.id, message.message_id, words)
    except tickets.TooLong as refused:
        await message.answer(
            _("The change is too long for a message of a request (at most {limit} characters, an emoji counts as two), so it was not passed on. Please send the rest as a new message.").format(limit=refused.limit),
            reply_parameters=ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True),
        )
        return
    if changed is None:
        raise SkipHandler  # not a message of an open request: the fallback says so


def create_router() -> Router:
    router = Router(name="request_edits")
    # A live location moving arrives as an edit too: only texts and captions are people's edits.
    router.edited_message.register(on_edited, F.chat.type == ChatType.PRIVATE, F.text | F.caption)
    return router
