"""What people send, read as the bot keeps it: a message's content for a request (`Content`), or
why it cannot be passed on, in the sender's language. Citizens' messages and operators' answers are
read alike."""

from __future__ import annotations

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.services.lengths import utf16_length
from bot.services.tickets import Content


def message_content(message: Message) -> Content | None:
    """What a message holds, as a ticket keeps it (with the author's message id, and its album);
    None for what Telegram cannot send on (a poll, a dice, a game, a story…)."""
    content = _content(message)
    if content is None:
        return None
    content.extra["from_message"] = message.message_id
    if message.media_group_id is not None:
        content.extra["album"] = message.media_group_id
    return content


def _content(message: Message) -> Content | None:
    if message.text is not None:
        return Content("text", message.text)
    if message.photo:
        return Content("photo", message.caption, message.photo[-1].file_id)
    # Telegram gives a GIF as an animation and as a document: it goes on as an animation.
    for kind in ("video", "animation", "document", "audio", "voice", "video_note"):
        media = getattr(message, kind)
        if media is not None:
            return Content(kind, message.caption, media.file_id)
    if message.sticker is not None:
        return Content("sticker", None, message.sticker.file_id, {"emoji": message.sticker.emoji or ""})
    if message.contact is not None:
        contact = message.contact
        return Content("contact", extra={
            "phone_number": contact.phone_number, "first_name": contact.first_name, "last_name": contact.last_name or "",
        })
    if message.location is not None:
        where = {"latitude": message.location.latitude, "longitude": message.location.longitude}
        return Content("location", extra=where)
    return None


def ticket_content(message: Message) -> tuple[Content, None] | tuple[None, str]:
    """(the message's content, None), or (None, what to tell the sender about why it cannot be
    passed on)."""
    content = message_content(message)
    if content is None:
        return None, _("An operator can receive text, photos, videos, GIFs, documents, audio and voice messages, video messages, stickers, contacts and locations; this kind of message cannot be passed on. Please send one of those.")
    if content.too_long:  # counted as Telegram counts, with room for what the bot adds when relaying
        length = utf16_length(content.text or "")
        if content.kind == "text":
            refusal = _("That is too long for one message: {length} characters, at most {limit} (an emoji counts as two). Please send it in several parts.")
        else:
            refusal = _("The caption is too long: {length} characters, at most {limit} (an emoji counts as two). Please send the file with a shorter caption and the rest as a message.")
        return None, refusal.format(length=length, limit=content.limit)
    if content.kind == "text" and not content.text.strip():
        return None, _("The message is empty. Please write your question.")
    return content, None
