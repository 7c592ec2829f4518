"""What Telegram allows and how it behaves, in numbers: the limits the stand-in enforces as
Telegram does, and how a person's app splits a long text."""

from __future__ import annotations

from bot.standin.html import utf16_length


MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
MAX_ALBUM = 10
# Buttons in one inline keyboard, all rows together: more is "reply markup is too long".
MAX_INLINE_BUTTONS = 100
# What Telegram sends a bot that never said which updates it wants (or sent an empty list).
DEFAULT_ALLOWED_UPDATES = frozenset({
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages", "inline_query",
    "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media",
    "poll", "poll_answer", "my_chat_member", "chat_join_request", "chat_boost", "removed_chat_boost",
})
# The longest side of each size Telegram keeps of a photo ("s", "m", "x", "y", "w"); the largest is
# the photo itself, scaled down to 2560 if it is larger.
PHOTO_SIDES = (90, 320, 800, 1280, 2560)
MAX_PHOTO_BYTES = 10 * 1024 * 1024
# Telegram's flood control (core.telegram.org/bots/faq): "no more than 30 messages per second" to
# different chats; in one chat "more than one message per second" only in short bursts.
TELEGRAM_RATE = 30
CHAT_RATE = 1.0
CHAT_BURST = 20


def split_like_an_app(text: str, limit: int = MAX_TEXT) -> list[str]:
    """The messages a Telegram app sends a long text as: pieces of at most `limit` UTF-16 units,
    each cut after the last paragraph break, else line break, else space in its second half, else
    at the limit (never inside a character); the whitespace at a cut is dropped, as the apps do."""
    pieces: list[str] = []
    rest = text
    while utf16_length(rest) > limit:
        end, units = 0, 0
        while units + utf16_length(rest[end]) <= limit:
            units += utf16_length(rest[end])
            end += 1
        head = rest[:end]
        cut = end
        for separator in ("\n\n", "\n", " "):
            at = head.rfind(separator)
            if at >= end // 2:
                cut = at
                break
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return [piece for piece in pieces if piece]
