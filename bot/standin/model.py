"""The stand-in's records: a person, a chat message, a stored file, a call the bot made, a webhook;
and the Bot API's errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class BotApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None, caused: str | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.caused = caused  # by what the test set up, when it was

    def payload(self) -> dict:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {reason}")


NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


@dataclass
class Call:
    """One Bot API request the bot made, and what it got back."""

    method: str
    params: dict[str, Any]
    ok: bool
    error: str | None
    at: float
    result: Any = None
    # Why a refusal was to be expected: the test caused it (a fault it injected, flood control it
    # turned on, a person who blocked the bot) or said it would come (`expect_refusal`).
    expected: str | None = None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    content: bytes
    name: str | None
    mime_type: str | None

    @property
    def path(self) -> str:
        return f"files/{self.file_unique_id}"


@dataclass
class ChatMessage:
    """A message in a private chat, from the bot or the person, as it stands now."""

    message_id: int
    chat_id: int
    from_bot: bool
    date: int
    text: str | None = None
    entities: list[dict] = field(default_factory=list)
    html: str | None = None  # the bot's own markup, for the playground to render
    caption: str | None = None
    photo: list[dict] | None = None
    document: dict | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # sticker, contact, location, voice…
    inline_keyboard: list[list[dict]] | None = None
    reply_keyboard: dict | None = None  # a ReplyKeyboardMarkup/Remove sent with this message
    reply_to: int | None = None
    edit_date: int | None = None
    deleted: bool = False

    @property
    def buttons(self) -> list[dict]:
        return [button for row in self.inline_keyboard or [] for button in row]

    def button(self, text: str) -> dict:
        for candidate in self.buttons:
            if candidate.get("text") == text:
                return candidate
        raise LookupError(f"no button {text!r} under message {self.message_id}: {[b.get('text') for b in self.buttons]}")


@dataclass
class Person:
    id: int
    first_name: str
    language_code: str | None
    username: str | None = None
    blocked_bot: bool = False
    # Telegram lets a bot write only to people who have written to it (pressed Start) first.
    started: bool = False

    def api(self) -> dict:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat(self) -> dict:
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    max_connections: int
