"""Telegram's HTML parse mode, as the Bot API applies it: the plain text, its entities, and the same
"can't parse entities" refusals, with Telegram's wording and byte offsets.

Written from the rules of Telegram's own parser (tdlib's `parse_html`, and its tests), because a
forgiving HTML parser lets through exactly the bugs that matter: a person's `1 < 2` or `a <b` left
unescaped is refused by Telegram ("Unsupported start tag", "Unclosed start tag"), while Python's
`html.parser` reads it as text. What Telegram does:
* `<` always opens a tag: its name runs to a space or `>`, and must be a supported one;
* `&` followed by `lt`, `gt`, `amp`, `quot` (the `;` is optional) or a numeric reference is decoded;
  any other `&` stays as it is, so `&nbsp;` and `&copy;` show literally;
* attributes are `name=value`, the value quoted or a token of letters, digits, `.` and `-`; only
  `href` of `a`, `class` of `code` and `span`, `emoji-id` of `tg-emoji` and `expandable` of
  `blockquote` mean something, others are read and ignored;
* a link whose address is not one Telegram accepts (`javascript:`, a bare word) is dropped without
  an error: the text stays, unlinked; `<a>` without `href` links its own text if that is an address;
* an element with no text makes no entity.
"""

from __future__ import annotations

import re

# tag -> entity type
SUPPORTED_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "a": "text_link",
    "code": "code", "pre": "pre", "tg-spoiler": "spoiler", "span": "spoiler", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_REFERENCES = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
_SPACES = b" \t\r\n\f\v"
_LESS, _GREATER, _SLASH, _AMPERSAND, _EQUALS = 0x3C, 0x3E, 0x2F, 0x26, 0x3D
# Addresses Telegram makes a link of: these schemes, or a host name with a dot (http:// is added).
_WITH_SCHEME = re.compile(r"(?i)^(https?|tg|ton)://[^\s/?#]+([/?#]\S*)?$")
_BARE_HOST = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(:\d{1,5})?([/?#]\S*)?$")


class EntityParseError(ValueError):
    pass


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _reference(text: bytes, position: int) -> tuple[str, int] | None:
    """The character an `&` at `position` stands for and where the reference ends, or None when
    Telegram keeps the `&` as it is."""
    end = position + 1
    if text[end:end + 1] == b"#":
        end += 1
        hexadecimal = text[end:end + 1] == b"x"
        end += hexadecimal
        digits = b"0123456789abcdefABCDEF" if hexadecimal else b"0123456789"
        value = 0
        while end < len(text) and text[end] in digits:
            value = value * (16 if hexadecimal else 10) + int(chr(text[end]), 16)
            end += 1
            if value >= 0x10FFFF:
                return None
        if value == 0 or end - position >= 10:
            return None
        if 0xD800 <= value <= 0xDFFF:
            raise EntityParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched "
                "surrogate code units"
            )
        character = chr(value)
    else:
        while end < len(text) and chr(text[end]).isascii() and chr(text[end]).isalpha():
            end += 1
        character = _NAMED_REFERENCES.get(text[position + 1:end])
        if character is None:
            return None
    if text[end:end + 1] == b";":
        end += 1
    return character, end


def _link(address: str) -> str | None:
    """The address as Telegram keeps it for a text link, or None if it makes no link."""
    if _BARE_HOST.match(address):
        address = "http://" + address
    elif not _WITH_SCHEME.match(address):
        return None
    scheme, _, rest = address.partition("://")
    host, tail = re.match(r"([^/?#]*)(.*)", rest).groups()  # type: ignore[union-attr]
    if scheme.lower() in ("http", "https") and not tail.startswith("/"):
        tail = "/" + tail
    return f"{scheme.lower()}://{host.lower()}{tail}"


def _ascii_lower(name: bytes) -> str:
    """Tag names as Telegram compares them: only ASCII letters are lowered."""
    return name.lower().decode("utf-8", "replace")  # bytes.lower() touches ASCII only


class _Parser:
    def __init__(self, source: str) -> None:
        self.text = source.encode("utf-8")
        self.position = 0
        self.parts: list[str] = []
        self.length = 0  # UTF-16 units so far, as Telegram counts offsets
        # (tag, argument, where it began in UTF-16 units, how many parts there were then)
        self.open: list[tuple[str, str, int, int]] = []
        self.entities: list[dict] = []

    def at(self, index: int) -> int:
        return self.text[index] if index < len(self.text) else 0

    def add(self, piece: str) -> None:
        self.parts.append(piece)
        self.length += utf16_length(piece)

    def parse(self) -> tuple[str, list[dict]]:
        text = self.text
        while self.position < len(text):
            byte = text[self.position]
            if byte == _AMPERSAND:
                reference = _reference(text, self.position)
                if reference is not None:
                    self.add(reference[0])
                    self.position = reference[1]
                    continue
            if byte != _LESS:
                end = self.position + 1
                while end < len(text) and text[end] not in (_LESS, _AMPERSAND):
                    end += 1
                self.add(text[self.position:end].decode("utf-8"))
                self.position = end
                continue
            begin = self.position
            self.position += 1
            if self.at(self.position) != _SLASH:
                self.start_tag(begin)
            else:
                self.end_tag(begin)
            self.position += 1  # past the '>'
        if self.open:
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{self.open[-1][0]}"')
        for entity in self.entities:
            entity.pop("_language", None)
        return "".join(self.parts), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))

    def start_tag(self, begin: int) -> None:
        while self.position < len(self.text) and self.at(self.position) not in _SPACES and self.at(self.position) != _GREATER:
            self.position += 1
        if self.position >= len(self.text):
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        tag = _ascii_lower(self.text[begin + 1:self.position])
        if tag not in SUPPORTED_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
        argument = ""
        while self.at(self.position) != _GREATER:
            self.skip_spaces()
            if self.at(self.position) == _GREATER:
                break
            name_begin = self.position
            while self.position < len(self.text) and self.at(self.position) not in _SPACES and self.at(self.position) != _EQUALS:
                self.position += 1
            name = self.text[name_begin:self.position].decode("utf-8", "replace")
            if not name:
                raise EntityParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
            self.skip_spaces()
            if self.at(self.position) != _EQUALS:  # (the end of the text too: tdlib's own tests)
                if tag == "blockquote" and name == "expandable":
                    argument = "1"
                    continue
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" at byte offset {begin}'
                )
            self.position += 1
            self.skip_spaces()
            if self.position >= len(self.text):
                raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
            value = self.attribute_value()
            if self.position >= len(self.text):
                raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
            if tag == "a" and name == "href":
                argument = value
            elif tag == "code" and name == "class" and value.startswith("language-"):
                argument = value.removeprefix("language-")
            elif tag == "span" and name == "class" and value.startswith("tg-"):
                argument = value.removeprefix("tg-")
            elif tag == "tg-emoji" and name == "emoji-id":
                argument = value
        if tag == "span" and argument != "spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
        self.open.append((tag, argument, self.length, len(self.parts)))

    def attribute_value(self) -> str:
        quote = self.at(self.position)
        if quote not in (0x22, 0x27):
            token_begin = self.position
            while chr(self.at(self.position)).isascii() and (chr(self.at(self.position)).isalnum() or self.at(self.position) in b".-"):
                self.position += 1
            if self.at(self.position) not in _SPACES and self.at(self.position) != _GREATER:
                raise EntityParseError(f"Unexpected end of name token at byte offset {token_begin}")
            return _ascii_lower(self.text[token_begin:self.position])
        self.position += 1
        value: list[str] = []
        while self.position < len(self.text) and self.at(self.position) != quote:
            if self.at(self.position) == _AMPERSAND and (reference := _reference(self.text, self.position)):
                value.append(reference[0])
                self.position = reference[1]
                continue
            end = self.position + 1
            while end < len(self.text) and self.text[end] not in (quote, _AMPERSAND):
                end += 1
            value.append(self.text[self.position:end].decode("utf-8"))
            self.position = end
        if self.at(self.position) == quote:
            self.position += 1
        return "".join(value)

    def skip_spaces(self) -> None:
        while self.position < len(self.text) and self.at(self.position) in _SPACES:
            self.position += 1

    def end_tag(self, begin: int) -> None:
        if not self.open:
            raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
        self.position += 1  # past the '/'
        while self.position < len(self.text) and self.at(self.position) not in _SPACES and self.at(self.position) != _GREATER:
            self.position += 1
        name = _ascii_lower(self.text[begin + 2:self.position])
        self.skip_spaces()
        if self.at(self.position) != _GREATER:
            raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
        tag, argument, start, first_part = self.open.pop()
        if name and name != tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", found "</{name}>"'
            )
        if self.length <= start:
            return  # no text: no entity
        entity: dict = {"type": SUPPORTED_TAGS[tag], "offset": start, "length": self.length - start}
        if tag == "a":
            address = _link(argument or "".join(self.parts[first_part:]))
            if address is None:
                return  # Telegram drops a link it cannot follow, and keeps the text
            entity["url"] = address
        elif tag == "tg-emoji":
            if not argument.isdigit() or int(argument) == 0:
                raise EntityParseError("Invalid custom emoji identifier specified")
            entity["custom_emoji_id"] = argument
        elif tag == "blockquote" and argument:
            entity["type"] = "expandable_blockquote"
        elif tag in ("code", "pre"):
            # <pre><code class="language-x"> (either way round) is one pre entity with a language.
            inner = self.entities[-1] if self.entities else None
            same_text = inner is not None and (inner["offset"], inner["length"]) == (start, self.length - start)
            if tag == "code" and argument:
                if same_text and inner["type"] == "pre":  # type: ignore[index]
                    inner["language"] = argument  # type: ignore[index]
                    return
                entity["_language"] = argument  # kept only if a pre around it takes it
            elif tag == "pre" and same_text and "_language" in inner:  # type: ignore[operator]
                self.entities.pop()
                entity["language"] = inner["_language"]  # type: ignore[index]
        self.entities.append(entity)


def parse_html(source: str) -> tuple[str, list[dict]]:
    """Plain text and entities of an HTML-formatted text; raise EntityParseError like Telegram."""
    return _Parser(source).parse()
