"""Lengths of texts as Telegram counts them: in UTF-16 code units of the visible text (after HTML
entity parsing), so an emoji outside the Basic Multilingual Plane (😀) counts two. Python's `len`
counts code points, which lets an emoji-heavy text through a check that Telegram then refuses.

Count and cut the plain text, then escape it: a cut made in the HTML can split `&amp;` or `<b>`,
and Telegram refuses the whole message ("can't parse entities").
"""

from __future__ import annotations

# Telegram's own limits, in UTF-16 units of the visible text.
TELEGRAM_TEXT = 4096
TELEGRAM_CAPTION = 1024
ELLIPSIS = "…"


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def cut(text: str, limit: int) -> str:
    """`text` if it holds at most `limit` UTF-16 units; else its start and "…", `limit` units in
    all, never ending in half an emoji."""
    if utf16_length(text) <= limit:
        return text
    room = limit - utf16_length(ELLIPSIS)
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > room:
            return text[:index] + ELLIPSIS
    return text  # not reached: the text is longer than the room
