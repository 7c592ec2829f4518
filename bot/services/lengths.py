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


def messages_of(lines: list[str], limit: int = TELEGRAM_TEXT) -> list[str]:
    """`lines` joined into as few texts as hold them, each at most `limit` UTF-16 units, a line
    never split (each line must fit on its own). Counted on the lines as given, HTML markup
    included: the visible text Telegram counts is shorter, so a text that fits here fits there."""
    texts: list[str] = []
    current: list[str] = []
    used = 0
    for line in lines:
        length = utf16_length(line)
        if length > limit:
            raise ValueError(f"a line of {length} UTF-16 units does not fit in a message of {limit}")
        if current and used + 1 + length > limit:
            texts.append("\n".join(current))
            current, used = [], 0
        used += length + (1 if current else 0)
        current.append(line)
    if current:
        texts.append("\n".join(current))
    return texts
