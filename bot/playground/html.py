"""Telegram's HTML parse mode, as the Bot API applies it: the plain text, its entities, and the same
"can't parse entities" refusals for unsupported or unbalanced tags."""

from __future__ import annotations

from html.parser import HTMLParser

# tag -> entity type
SUPPORTED_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "a": "text_link",
    "code": "code", "pre": "pre", "tg-spoiler": "spoiler", "span": "spoiler", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class EntityParseError(ValueError):
    pass


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _Parser(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.parts: list[str] = []
        self.length = 0  # UTF-16 units so far, as Telegram counts offsets
        self.stack: list[tuple[str, int, dict[str, str]]] = []
        self.entities: list[dict] = []

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        lines = self.source.split("\n")
        prefix = "\n".join(lines[: line - 1]) + ("\n" if line > 1 else "") + lines[line - 1][:column]
        return len(prefix.encode("utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SUPPORTED_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        attributes = {k: v or "" for k, v in attrs}
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError(f'Unsupported start tag "span" at byte offset {self._byte_offset()}')
        self.stack.append((tag, self.length, attributes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {self._byte_offset()}")
        open_tag, start, attributes = self.stack.pop()
        if open_tag != tag:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{open_tag}"'
            )
        if self.length > start:
            entity = {"type": SUPPORTED_TAGS[tag], "offset": start, "length": self.length - start}
            if tag == "a":
                entity["url"] = attributes.get("href", "")
            if tag == "pre" and attributes.get("class"):
                entity["language"] = attributes["class"].removeprefix("language-")
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.length += utf16_length(data)

    def close(self) -> None:
        super().close()
        if self.stack:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"'
            )


def parse_html(source: str) -> tuple[str, list[dict]]:
    """Plain text and entities of an HTML-formatted text; raise EntityParseError like Telegram."""
    parser = _Parser(source)
    parser.feed(source)
    parser.close()
    entities = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.parts), entities
