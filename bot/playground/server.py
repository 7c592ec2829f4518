"""A local Telegram Bot API server: the tests' stand-in and the playground's engine in one.

It keeps every chat in memory, answers the Bot API methods the bot uses the way Telegram does
(including its refusals), records every call, and lets people act through Python methods: send a
text, a photo, a contact, press a button, block the bot. The bot reaches it over real HTTP through
`TELEGRAM_API_URL`, exactly as it would reach a self-hosted Bot API server.

What is deliberately like Telegram, because bots trip on it:
* a send returns the Message with its inline keyboard, never a reply keyboard;
* every upload is a new file: new `file_id` and `file_unique_id` even for the same bytes (only a
  forward or a re-send by `file_id` keeps them); a photo arrives in several sizes, smallest first,
  each a file of its own, and what is not an image is refused as a photo;
* uploads arrive as multipart, referenced as `attach://name`;
* an album (`send_album`) arrives as one message per photo, one update each, sharing a
  `media_group_id`, the caption on the first; an edit (`edit_text`) as an `edited_message`;
* only the kinds of update the bot asked for (`allowed_updates`, kept until it asks again) are
  kept for it; the others are never sent (`withheld_updates` lists them);
* getUpdates confirms an update (the next offset) before the bot's reply to it exists;
* flood control on by default, at Telegram's rates: 429 with `retry_after` beyond 30 sends and
  edits a second, or beyond a burst of 20 to one chat that refills at one a second;
* 400 for callback data over 64 bytes, a text over 4096 or a caption over 1024 characters after
  entity parsing, HTML Telegram's parser refuses (`html.py`), an edit that changes nothing; 403 for
  a person who blocked the bot or never started it;
  429 with `parameters.retry_after` when a fault is injected too;
* a lost answer (`lose_answers`): the message is delivered, then the connection breaks before the
  bot hears so, as after a network timeout;
* with a webhook set, getUpdates is refused (409) and updates are POSTed to the webhook with its
  `X-Telegram-Bot-Api-Secret-Token`, one person's at a time and in order (other people's at once),
  each sent again until it is answered 200, as Telegram's Bot API server does.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import math
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image, ImageDraw, UnidentifiedImageError

from bot.playground.html import EntityParseError, parse_html, utf16_length

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
MAX_ALBUM = 10
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


def picture(label: str, width: int = 640, height: int = 480) -> bytes:
    """A JPEG that is a different picture for each label (and the same for the same label): what a
    person photographs, for the tests, the benchmarks and the playground's people."""
    rng = random.Random(label)
    image = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        box = (x, y, x + rng.randrange(20, width // 2), y + rng.randrange(20, height // 2))
        draw.rectangle(box, fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()

# Parameters the Bot API takes as JSON objects inside form fields.
_JSON_FIELDS = {
    "reply_markup", "entities", "caption_entities", "media", "allowed_updates", "commands", "scope",
    "link_preview_options", "reply_parameters", "menu_button",
}
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "reply_to_message_id", "user_id", "max_connections"}
_BOOL_FIELDS = {"show_alert", "disable_notification", "protect_content", "drop_pending_updates"}


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


GARBLED = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"


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
class ExpectedRefusal:
    method: str
    containing: str
    why: str


@dataclass
class Fault:
    method: str
    error: BotApiError
    times: int
    chat_id: int | None = None


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    max_connections: int


WEBHOOK_RETRY_FIRST = 0.2
WEBHOOK_RETRY_MAX = 2.0


def _queue_of(update: dict) -> int:
    """Whose update it is, for delivering one person's updates one at a time."""
    for key, event in update.items():
        if key != "update_id" and isinstance(event, dict):
            sender = event.get("from") or event.get("user") or {}
            chat = event.get("chat") or (event.get("message") or {}).get("chat") or {}
            return int(sender.get("id") or chat.get("id") or 0)
    return 0


class BotApiServer:
    def __init__(
        self, bot_id: int = 7000000001, bot_username: str = "qazvolunteer_bot", first_update_id: int = 1,
        telegram_rates: bool = True,
    ) -> None:
        """`telegram_rates`: flood control as Telegram's (`flood_control`); the benchmarks, which
        measure the bot rather than Telegram, turn it off."""
        self.bot_user = {
            "id": bot_id, "is_bot": True, "first_name": "Qazvolunteer", "username": bot_username,
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False,
        }
        self.people: dict[int, Person] = {}
        self.messages: dict[int, list[ChatMessage]] = {}
        self.calls: list[Call] = []
        self.files: dict[str, StoredFile] = {}
        self._photos: dict[str, list[dict]] = {}  # the file id of any size -> all sizes of that photo
        self._file_serial = itertools.count(1)
        self.commands: dict[str | None, list[dict]] = {}
        self.callback_answers: dict[str, dict | None] = {}  # query id -> answer (None: not yet)
        self.handled_updates: set[int] = set()
        self._updates: list[dict] = []
        # The kinds of update the bot asked for (getUpdates' or setWebhook's `allowed_updates`,
        # kept until changed, as Telegram does); others are not kept for it at all.
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self.withheld_updates: list[str] = []  # kinds of update Telegram would not have passed on
        self._media_groups = itertools.count(13_000_000_000_000_000)
        # Telegram never gives two updates one id; a bot whose database outlives this server (the
        # playground, the benchmarks) recognises a stored id as an update it already has, so those
        # pass a first id of their own (the time in ms).
        self._update_ids = itertools.count(first_update_id)
        self._message_ids: dict[int, itertools.count] = {}
        self._query_ids = itertools.count(1)
        self._faults: list[Fault] = []
        self._expected_refusals: list[ExpectedRefusal] = []
        self._unanswered_allowed: str | None = None
        self._garbled: dict[tuple[str, int], int] = {}  # (method, chat) -> answers still to garble
        self._lost_answers: dict[tuple[str, int], int] = {}  # (method, chat) -> answers still to lose
        self._interrupts: dict[tuple[str, int], Callable[[dict[str, Any]], bool]] = {}
        # Flood control, as Telegram's: sends and edits a second to all chats, and each chat's bucket.
        self.flood_limit: int | None = TELEGRAM_RATE if telegram_rates else None
        self._flood_window: deque[float] = deque()
        self.chat_rates = telegram_rates
        self._chat_buckets: dict[int, tuple[float, float]] = {}  # chat -> (messages it may still take, when)
        self._flood_cause = "Telegram's flood control (at Telegram's rates)"
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.listeners: list[Callable[[str, dict], None]] = []
        self.app_hooks: list[Callable[[web.Application], None]] = []  # the playground adds its page
        self._query_chats: dict[str, int] = {}
        self._closing = False
        self.url = ""
        self.confirmed_upto = 0  # getUpdates' offset: the updates before it are confirmed
        self.polls = 0  # getUpdates calls so far
        self.webhook: Webhook | None = None
        # Where webhook calls go instead of the webhook's host (a proxy's choice among replicas),
        # taken in turn; the path of the webhook's URL is kept.
        self.webhook_targets: list[str] = []
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update id, HTTP status or 0: no answer)
        self._next_target = 0
        self._webhook_task: asyncio.Task | None = None
        self._webhook_busy: set[int] = set()  # people with an update in flight

    # --- lifecycle ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        for hook in self.app_hooks:
            hook(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._closing = False
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"http://{bound[0]}:{bound[1]}"
        return self.url

    async def stop(self) -> None:
        await self._stop_webhook_delivery()
        # A bot's long poll would otherwise hold the shutdown until its timeout runs out.
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _notify(self, kind: str, payload: dict) -> None:
        for listener in self.listeners:
            listener(kind, payload)
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until `predicate()` returns something truthy (it is checked on every change)."""
        async def _wait() -> Any:
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result

        return await asyncio.wait_for(_wait(), timeout)

    # --- what people do -------------------------------------------------------------------------

    def add_person(
        self, user_id: int, first_name: str, language_code: str | None = None, username: str | None = None,
        started: bool = False,
    ) -> Person:
        """Someone with Telegram; `started`: they opened the bot before (the bot may write to them
        before they write now)."""
        person = Person(user_id, first_name, language_code, username, started=started)
        self.people[user_id] = person
        self.messages.setdefault(user_id, [])
        self._message_ids.setdefault(user_id, itertools.count(1))
        return person

    def person(self, user_id: int) -> Person:
        try:
            return self.people[user_id]
        except KeyError:
            raise LookupError(f"no person {user_id}; add_person() first") from None

    def _new_message(self, chat_id: int, *, from_bot: bool, **fields: Any) -> ChatMessage:
        message = ChatMessage(
            message_id=next(self._message_ids[chat_id]), chat_id=chat_id, from_bot=from_bot,
            date=int(time.time()), **fields,
        )
        self.messages[chat_id].append(message)
        return message

    async def _push_update(self, kind: str, payload: dict) -> int | None:
        """Queue an update for the bot; its id, or None when Telegram would not pass it on (a kind
        the bot did not ask for)."""
        sender = (payload.get("from") or {}).get("id")
        if sender in self.people and kind != "edited_message":
            self.people[sender].started = True
        if kind not in self.allowed_updates:
            self.withheld_updates.append(kind)  # what the bot did not ask for, Telegram never sends
            return None
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, kind: payload})
        await self._notify("update", {"update_id": update_id, "kind": kind})
        return update_id

    async def type_text(self, user_id: int, text: str, reply_to: int | None = None) -> list[tuple[int, ChatMessage]]:
        """The person types or pastes a text and presses Send: one message, or, for a text longer
        than Telegram's 4096, the pieces an app cuts it into (`split_like_an_app`), sent at once."""
        sent = []
        for piece in split_like_an_app(text):
            sent.append(await self.send_text(user_id, piece, reply_to))
            reply_to = None  # an app replies with the first piece only
        return sent

    async def send_text(self, user_id: int, text: str, reply_to: int | None = None) -> tuple[int, ChatMessage]:
        """The person sends one message of text; returns (update id, message). (Longer than 4096 it
        is no one message an app would send: see `type_text`.)"""
        if utf16_length(text) > MAX_TEXT:
            raise ValueError(f"a message of {utf16_length(text)} UTF-16 units: an app sends it in pieces (type_text)")
        person = self.person(user_id)
        person.blocked_bot = False  # writing to a bot unblocks it, as in Telegram
        message = self._new_message(user_id, from_bot=False, text=text, reply_to=reply_to)
        if text.startswith("/"):
            command = text.split()[0]
            message.entities = [{"type": "bot_command", "offset": 0, "length": utf16_length(command)}]
        return await self._push_update("message", self.message_api(message)), message

    async def send_media(self, user_id: int, kind: str, payload: dict, caption: str | None = None) -> tuple[int, ChatMessage]:
        """A sticker, contact, location, voice…: `payload` is the Bot API object of that kind."""
        self.person(user_id)
        message = self._new_message(user_id, from_bot=False, caption=caption, extra={kind: payload})
        return await self._push_update("message", self.message_api(message)), message

    async def send_photo(self, user_id: int, content: bytes, caption: str | None = None) -> tuple[int, ChatMessage]:
        """The person uploads a photo: a new file, however often the same bytes were sent before.
        (An app sends only images as photos: anything else is a ValueError here.)"""
        self.person(user_id)
        try:
            photo = self._new_photo(content)
        except BotApiError as refused:
            raise ValueError(f"not a photo a Telegram app would send: {refused.description}") from None
        message = self._new_message(user_id, from_bot=False, caption=caption, photo=photo)
        return await self._push_update("message", self.message_api(message)), message

    async def send_album(
        self, user_id: int, contents: list[bytes], caption: str | None = None, reply_to: int | None = None
    ) -> list[tuple[int, ChatMessage]]:
        """The person sends 2 to 10 photos at once, as an album: Telegram delivers one message per
        photo, in order, one update each, sharing a `media_group_id`; an app puts the caption on
        the first, and a reply on them all (the album is sent as one reply)."""
        if not 2 <= len(contents) <= MAX_ALBUM:
            raise ValueError(f"an album holds 2 to {MAX_ALBUM} items, not {len(contents)}")
        self.person(user_id)
        group = str(next(self._media_groups))
        try:
            photos = [self._new_photo(content) for content in contents]
        except BotApiError as refused:
            raise ValueError(f"not a photo a Telegram app would send: {refused.description}") from None
        sent = []
        for n, photo in enumerate(photos):
            message = self._new_message(
                user_id, from_bot=False, caption=caption if n == 0 else None, photo=photo,
                reply_to=reply_to, extra={"media_group_id": group},
            )
            sent.append((await self._push_update("message", self.message_api(message)), message))
        return sent

    async def edit_text(self, user_id: int, message: ChatMessage, text: str) -> int | None:
        """The person edits a text they sent: the message changes in the chat, and Telegram sends
        the bot an `edited_message` with the whole message as it now reads, if the bot asked for
        those (`allowed_updates`; else None)."""
        if message.from_bot or message.chat_id != user_id or message.text is None or message.deleted:
            raise ValueError("a person edits only their own text messages, not deleted ones")
        if utf16_length(text) > MAX_TEXT or not text.strip():
            raise ValueError("an app does not save an edit that long, or empty")
        message.text = text
        message.entities = (
            [{"type": "bot_command", "offset": 0, "length": utf16_length(text.split()[0])}] if text.startswith("/") else []
        )
        message.edit_date = int(time.time())
        return await self._push_update("edited_message", self.message_api(message))

    async def move_live_location(self, user_id: int, message: ChatMessage, latitude: float, longitude: float) -> int | None:
        """A live location the person shares moves: Telegram sends the message again as an
        `edited_message`, every few seconds while it is shared, though nobody edited anything."""
        location = message.extra.get("location")
        if message.from_bot or message.chat_id != user_id or not location or "live_period" not in location:
            raise ValueError("only a live location the person shares moves")
        message.extra["location"] = {**location, "latitude": latitude, "longitude": longitude}
        message.edit_date = int(time.time())
        return await self._push_update("edited_message", self.message_api(message))

    def delete_own(self, user_id: int, message: ChatMessage) -> None:
        """The person deletes a message of theirs; Telegram tells a bot nothing of it."""
        if message.from_bot or message.chat_id != user_id:
            raise ValueError("a person deletes only their own messages here")
        message.deleted = True

    async def forward(self, user_id: int, original: ChatMessage, *, keep_origin: bool = True) -> tuple[int, ChatMessage]:
        """The person forwards `original` (from any chat) to the bot: its text or media with the
        very same files (`file_unique_id` kept), and where it came from. `keep_origin=False`:
        forwarded "without the author's name", or sent again from the app's recent files: the same
        files, no origin."""
        person = self.person(user_id)
        fields: dict[str, Any] = {
            "text": original.text, "entities": list(original.entities), "caption": original.caption,
            "photo": original.photo, "document": original.document, "extra": dict(original.extra),
        }
        if keep_origin:
            author = self.bot_user if original.from_bot else self.person(original.chat_id).api()
            fields["extra"]["forward_origin"] = {"type": "user", "sender_user": author, "date": original.date}
        fields["extra"].pop("media_group_id", None)  # one message forwarded is no album
        message = self._new_message(person.id, from_bot=False, **fields)
        return await self._push_update("message", self.message_api(message)), message

    async def send_voice(self, user_id: int, content: bytes) -> tuple[int, ChatMessage]:
        self.person(user_id)
        stored = self._store_file(content, "voice.ogg", "audio/ogg")
        message = self._new_message(user_id, from_bot=False, extra={"voice": self._voice(stored)})
        return await self._push_update("message", self.message_api(message)), message

    async def send_document(
        self, user_id: int, content: bytes, name: str, mime_type: str, caption: str | None = None
    ) -> tuple[int, ChatMessage]:
        self.person(user_id)
        stored = self._store_file(content, name, mime_type)
        message = self._new_message(user_id, from_bot=False, caption=caption, document=self._document(stored))
        return await self._push_update("message", self.message_api(message)), message

    async def press(self, user_id: int, message_id: int, callback_data: str, forged: bool = False) -> tuple[int, str]:
        """The person presses an inline button; returns (update id, callback query id).
        `forged`: data that is on no button, as a modified client can send."""
        person = self.person(user_id)
        message = self.message(user_id, message_id)
        on_a_button = any(b.get("callback_data") == callback_data for b in message.buttons)
        if not forged and (message.deleted or not on_a_button):
            raise LookupError(f"message {message_id} has no button with data {callback_data!r}")
        query_id = str(next(self._query_ids))
        self.callback_answers[query_id] = None
        self._query_chats[query_id] = user_id
        query = {
            "id": query_id, "from": person.api(), "message": self.message_api(message),
            "chat_instance": str(user_id), "data": callback_data,
        }
        return await self._push_update("callback_query", query), query_id

    def block(self, user_id: int) -> None:
        self.person(user_id).blocked_bot = True

    def fail_next(
        self, method: str, code: int, description: str, retry_after: int | None = None, times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next `times` calls of `method` (to `chat_id`, or any chat) fail with this error
        (e.g. 429, retry_after=1)."""
        self._faults.append(Fault(method, BotApiError(code, description, retry_after), times, chat_id))

    def garble_next(self, method: str, chat_id: int, times: int = 1) -> None:
        """The next `times` calls of `method` to `chat_id` are not carried out and answered with a
        proxy's HTML error page instead of the Bot API's JSON (a broken hop between the bot and
        Telegram): neither a success nor one of Telegram's refusals."""
        self._garbled[(method, chat_id)] = times

    def _garbles(self, method: str, chat_id: int | None) -> bool:
        key = (method, chat_id or 0)
        if self._garbled.get(key, 0) <= 0:
            return False
        self._garbled[key] -= 1
        return True

    def lose_answers(self, method: str, chat_id: int, times: int = 1) -> None:
        """The next `times` calls of `method` to `chat_id` are carried out (the person gets the
        message, the call is recorded) but the connection breaks before the answer reaches the bot,
        as when a network timeout hits after Telegram got the request: the bot cannot tell whether
        it was delivered."""
        self._lost_answers[(method, chat_id)] = times

    def interrupt(self, method: str, chat_id: int, when: Callable[[dict[str, Any]], bool]) -> None:
        """Calls of `method` to `chat_id` for which `when(params)` is true (it may, say, kill the
        bot's process) are not carried out: the connection is dropped unanswered, as when a process
        dies at that call."""
        self._interrupts[(method, chat_id)] = when

    def _interrupted(self, method: str, params: dict[str, Any]) -> bool:
        when = self._interrupts.get((method, self._chat_of(params) or 0))
        return when is not None and when(params)

    def _loses_answer(self, method: str, chat_id: int | None) -> bool:
        key = (method, chat_id or 0)
        left = self._lost_answers.get(key, 0)
        if left <= 0:
            return False
        self._lost_answers[key] = left - 1
        return True

    def flood_control(self, per_second: int | None) -> None:
        """Answer 429 (retry after 1 s) to sends and edits beyond `per_second` in any second (to all
        chats together; Telegram's own is TELEGRAM_RATE, on by default); None turns that off. Each
        chat's own limit stays (see `_check_flood`)."""
        self.flood_limit = per_second
        self._flood_window.clear()
        self._flood_cause = "flood control the test set"

    def without_chat_limits(self, why: str) -> None:
        """Turn each chat's own flood limit off, saying `why` (a test that acts far faster than a
        person can, whose point is not the pace)."""
        assert why, "say why"
        self.chat_rates = False

    def _check_flood(self, method: str, chat_id: int | None) -> None:
        if not method.lower().startswith(("send", "edit")):
            return
        now = time.monotonic()
        if self.chat_rates and chat_id is not None:
            # Telegram: "avoid sending more than one message per second" to a chat, "short bursts
            # that go over this limit" allowed: a bucket of CHAT_BURST, refilled at CHAT_RATE.
            left, at = self._chat_buckets.get(chat_id, (float(CHAT_BURST), now))
            left = min(float(CHAT_BURST), left + (now - at) * CHAT_RATE)
            if left < 1.0:
                wait = math.ceil((1.0 - left) / CHAT_RATE)
                raise BotApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait,
                                  caused="Telegram's flood control of one chat (at Telegram's rates)")
            self._chat_buckets[chat_id] = (left - 1.0, now)
        if self.flood_limit is None:
            return
        while self._flood_window and self._flood_window[0] <= now - 1.0:
            self._flood_window.popleft()
        if len(self._flood_window) >= self.flood_limit:
            raise BotApiError(429, "Too Many Requests: retry after 1", retry_after=1, caused=self._flood_cause)
        self._flood_window.append(now)

    def expect_refusal(self, method: str, containing: str, why: str) -> None:
        """The test knows the bot will make a call of `method` ("*": any) that Telegram refuses with
        a description containing `containing`, and says `why` that is right. Any other refusal is a
        loose end (`loose_ends`)."""
        self._expected_refusals.append(ExpectedRefusal(method, containing, why))

    def _declared_refusal(self, method: str, description: str) -> str | None:
        for expected in self._expected_refusals:
            if expected.method in (method, "*") and expected.containing in description:
                return expected.why
        return None

    def allow_unanswered_presses(self, why: str) -> None:
        """The test leaves button presses the bot never answers (it stops the bot before it could,
        say), and says why."""
        self._unanswered_allowed = why

    def loose_ends(self) -> list[str]:
        """What a test must not leave behind: calls Telegram refused that nobody expected, and
        button presses never answered (Telegram shows a spinner on the button until then)."""
        problems = [
            f"{call.method} to {call.chat_id} refused: {call.error}" for call in self.calls
            if not call.ok and call.expected is None
        ]
        if self._unanswered_allowed is None:
            problems += [
                f"the press {query_id} in chat {self._query_chats.get(query_id)} was never answered"
                for query_id, answer in self.callback_answers.items() if answer is None
            ]
        return problems

    async def mark_handled(self, update_id: int) -> None:
        """The bot finished an update (reported by a test hook; Telegram itself never knows)."""
        self.handled_updates.add(update_id)
        await self._notify("handled", {"update_id": update_id})

    # --- reading the chats ----------------------------------------------------------------------

    def message(self, chat_id: int, message_id: int) -> ChatMessage:
        for message in self.messages.get(chat_id, []):
            if message.message_id == message_id:
                return message
        raise LookupError(f"no message {message_id} in chat {chat_id}")

    def chat(self, chat_id: int) -> list[ChatMessage]:
        return [m for m in self.messages.get(chat_id, []) if not m.deleted]

    def reply_keyboard(self, chat_id: int) -> dict | None:
        """The reply keyboard the person sees now (the last one sent and not removed)."""
        for message in reversed(self.messages.get(chat_id, [])):
            if message.reply_keyboard is not None:
                return None if message.reply_keyboard.get("remove_keyboard") else message.reply_keyboard
        return None

    def message_api(self, message: ChatMessage, *, with_reply: bool = True) -> dict:
        """The Bot API Message object, as Telegram would return it."""
        person = self.people[message.chat_id]
        api: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": person.chat(),
            "from": self.bot_user if message.from_bot else person.api(),
        }
        if message.text is not None:
            api["text"] = message.text
            if message.entities:
                api["entities"] = message.entities
        if message.caption is not None:
            api["caption"] = message.caption
            if message.entities:
                api["caption_entities"] = message.entities
        if message.photo is not None:
            api["photo"] = message.photo
        if message.document is not None:
            api["document"] = message.document
        api.update(message.extra)
        if message.edit_date:
            api["edit_date"] = message.edit_date
        if message.reply_to is not None and with_reply:  # Telegram nests one level only
            with contextlib.suppress(LookupError):
                api["reply_to_message"] = self.message_api(self.message(message.chat_id, message.reply_to), with_reply=False)
        if message.inline_keyboard:
            api["reply_markup"] = {"inline_keyboard": message.inline_keyboard}
        return api

    # --- HTTP -----------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, tuple[bytes, str | None, str | None]]]:
        params: dict[str, Any] = dict(request.query)
        uploads: dict[str, tuple[bytes, str | None, str | None]] = {}
        content_type = request.content_type
        if content_type == "application/json":
            params.update(await request.json())
        elif content_type == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if part.filename is not None:
                    uploads[part.name] = (await part.read(), part.filename, part.headers.get("Content-Type"))
                else:
                    params[part.name] = await part.text()
        elif request.can_read_body:
            params.update(await request.post())
        for key, value in list(params.items()):
            if not isinstance(value, str):
                continue
            if key in _JSON_FIELDS:
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    raise bad_request(f"can't parse {key} JSON object") from None
            elif key in _INT_FIELDS and value.lstrip("-").isdigit():
                params[key] = int(value)
            elif key in _BOOL_FIELDS:
                params[key] = value.lower() == "true"
        return params, uploads

    async def _handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        handler = getattr(self, f"_api_{method.lower()}", None)
        params: dict[str, Any] = {}
        try:
            params, uploads = await self._params(request)
            if handler is None:
                raise BotApiError(404, "Not Found")
            if self._interrupted(method, params) and request.transport is not None:
                request.transport.abort()
                raise web.HTTPInternalServerError  # unsent: the connection is gone
            if self._garbles(method, self._chat_of(params)):
                self.calls.append(Call(method, params, False, "502 Bad Gateway (HTML)", time.monotonic(),
                                       expected="a garbled answer the test injected"))
                return web.Response(status=502, text=GARBLED, content_type="text/html")
            self._raise_injected_fault(method, self._chat_of(params))
            self._check_flood(method, self._chat_of(params))
            result = await handler(params, uploads)
        except BotApiError as error:
            if method != "getUpdates":
                expected = error.caused or self._declared_refusal(method, error.description)
                self.calls.append(Call(method, params, False, error.description, time.monotonic(), expected=expected))
                await self._notify("error", {"method": method, "description": error.description, "chat_id": self._chat_of(params)})
            return web.json_response(error.payload(), status=error.code)
        if method != "getUpdates":
            self.calls.append(Call(method, params, True, None, time.monotonic(), result))
            await self._notify("call", {"method": method, "chat_id": params.get("chat_id")})
        if self._loses_answer(method, self._chat_of(params)) and request.transport is not None:
            request.transport.abort()  # done, and the bot never hears it
            raise web.HTTPInternalServerError  # unsent: the connection is gone
        return web.json_response({"ok": True, "result": result})

    def _chat_of(self, params: dict[str, Any]) -> int | None:
        """The chat a call concerns: its chat_id, or for a callback answer the chat of the press."""
        chat_id = params.get("chat_id")
        if chat_id is not None:
            with contextlib.suppress(TypeError, ValueError):
                return int(chat_id)
            return None
        return self._query_chats.get(str(params.get("callback_query_id") or ""))

    def _raise_injected_fault(self, method: str, chat_id: int | None) -> None:
        for fault in self._faults:
            if fault.method == method and fault.times > 0 and fault.chat_id in (None, chat_id):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                raise BotApiError(fault.error.code, fault.error.description, fault.error.retry_after, caused="a fault the test injected")

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.path == path:
                return web.Response(body=stored.content, content_type=stored.mime_type or "application/octet-stream")
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    # --- validation shared by the methods -------------------------------------------------------

    def _target(self, params: dict[str, Any]) -> Person:
        chat_id = params.get("chat_id")
        if chat_id is None:
            raise bad_request("chat_id is empty")
        person = self.people.get(int(chat_id))
        if person is None:
            raise bad_request("chat not found")
        if person.blocked_bot:
            raise BotApiError(403, "Forbidden: bot was blocked by the user", caused="a person who blocked the bot")
        if not person.started:
            raise BotApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return person

    @staticmethod
    def _formatted(text: str, params: dict[str, Any], *, caption: bool = False) -> tuple[str, list[dict], str | None]:
        parse_mode = (params.get("parse_mode") or "").lower()
        if parse_mode == "html":
            try:
                plain, entities = parse_html(text)
            except EntityParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
            html = text
        else:
            plain, entities, html = text, params.get("caption_entities" if caption else "entities") or [], None
        limit = MAX_CAPTION if caption else MAX_TEXT
        if caption and utf16_length(plain) > limit:
            raise bad_request("message caption is too long")
        if not caption:
            if not plain.strip():
                raise bad_request("message text is empty")
            if utf16_length(plain) > limit:
                raise bad_request("message is too long")
        return plain, entities, html

    @staticmethod
    def _keyboards(params: dict[str, Any]) -> tuple[list[list[dict]] | None, dict | None]:
        markup = params.get("reply_markup")
        if not markup:
            return None, None
        if "inline_keyboard" in markup:
            for row in markup["inline_keyboard"]:
                for button in row:
                    data = button.get("callback_data")
                    if data is not None and not (1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA):
                        raise bad_request("BUTTON_DATA_INVALID")
                    if not button.get("text"):
                        raise bad_request("text buttons are unallowed in the inline keyboard")
            return markup["inline_keyboard"], None
        if "keyboard" in markup or markup.get("remove_keyboard"):
            return None, markup
        return None, None

    def _store_file(self, content: bytes, name: str | None, mime_type: str | None) -> StoredFile:
        """A new file, as every upload is to Telegram (its ids say nothing about its bytes)."""
        serial = next(self._file_serial)
        unique = f"AQAD{serial:06d}{random.getrandbits(40):010x}"
        file_id = f"BQACAgIAAxkBAAI{serial:06d}{random.getrandbits(96):024x}"
        stored = StoredFile(file_id, unique, content, name, mime_type)
        self.files[file_id] = stored
        return stored

    def _new_photo(self, content: bytes) -> list[dict]:
        """A new photo, as Telegram keeps it: its sizes smallest first, each a file of its own."""
        if len(content) > MAX_PHOTO_BYTES:
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        try:
            image = Image.open(io.BytesIO(content))
            image.load()
        except (UnidentifiedImageError, OSError, ValueError):
            raise bad_request("IMAGE_PROCESS_FAILED") from None
        width, height = image.size
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        image = image.convert("RGB")
        longest = max(width, height)
        sizes: list[dict] = []
        for side in PHOTO_SIDES:
            scale = min(1.0, side / longest)
            scaled = image if scale == 1.0 else image.resize(
                (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            scaled.save(out, "JPEG", quality=87)
            stored = self._store_file(out.getvalue(), "photo.jpg", "image/jpeg")
            sizes.append({"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                          "width": scaled.width, "height": scaled.height, "file_size": len(stored.content)})
            if scale == 1.0:
                break
        for size in sizes:
            self._photos[size["file_id"]] = sizes
        return sizes

    def _photo_param(self, params: dict[str, Any], uploads: dict) -> list[dict]:
        """The photo a sendPhoto names: one sent before, by the file id of any of its sizes (the
        same sizes come back), or a new upload."""
        value = params.get("photo")
        if isinstance(value, str) and value in self._photos:
            return self._photos[value]
        if isinstance(value, str) and value in self.files:
            raise bad_request("type of file mismatch")  # a document's or a voice's id
        stored = self._file_param(params, uploads, "photo", "photo.jpg", "image/jpeg")
        del self.files[stored.file_id]  # the upload as it came; Telegram keeps its sizes
        return self._new_photo(stored.content)

    def _file_param(self, params: dict[str, Any], uploads: dict, key: str, default_name: str, default_mime: str) -> StoredFile:
        value = params.get(key)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value.removeprefix("attach://"))
        elif key in uploads:
            upload = uploads[key]
        elif isinstance(value, str) and value in self._photos:
            raise bad_request("type of file mismatch")  # a photo's id where a document or voice goes
        elif isinstance(value, str) and value in self.files:
            return self.files[value]
        elif isinstance(value, str) and value:
            raise bad_request("wrong file identifier/HTTP URL specified")
        else:
            raise bad_request(f"there is no {key} in the request")
        if upload is None:
            raise bad_request(f"there is no {key} in the request")
        content, name, mime = upload
        return self._store_file(content, name or default_name, mime or default_mime)

    @staticmethod
    def _voice(stored: StoredFile) -> dict:
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "duration": 3,
                "mime_type": stored.mime_type or "audio/ogg", "file_size": len(stored.content)}

    @staticmethod
    def _document(stored: StoredFile) -> dict:
        document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(stored.content)}
        if stored.name:
            document["file_name"] = stored.name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    def _editable(self, params: dict[str, Any]) -> ChatMessage:
        self._target(params)
        try:
            message = self.message(int(params["chat_id"]), int(params.get("message_id", 0)))
        except LookupError:
            raise bad_request("message to edit not found") from None
        if message.deleted or not message.from_bot:
            raise bad_request("message to edit not found")
        return message

    # --- Bot API methods ------------------------------------------------------------------------

    async def _api_getme(self, params: dict, uploads: dict) -> dict:
        return self.bot_user

    async def _api_deletewebhook(self, params: dict, uploads: dict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = None
        await self._stop_webhook_delivery()
        return True

    async def _api_setwebhook(self, params: dict, uploads: dict) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._api_deletewebhook(params, uploads)
        if not url.startswith(("https://", "http://")):
            raise bad_request("bad webhook: invalid URL")
        secret = params.get("secret_token")
        if secret is not None and not (1 <= len(str(secret)) <= 256 and all(c.isalnum() or c in "_-" for c in str(secret))):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        max_connections = int(params.get("max_connections") or 40)
        self.webhook = Webhook(url, secret, params.get("allowed_updates"), max(1, min(100, max_connections)))
        self._ask_for(params.get("allowed_updates"))
        self._start_webhook_delivery()
        return True

    def _ask_for(self, kinds: list[str] | None) -> None:
        """`allowed_updates`: absent keeps the bot's last choice; empty means Telegram's default."""
        if kinds is None:
            return
        if not isinstance(kinds, list) or not all(isinstance(kind, str) for kind in kinds):
            raise bad_request("can't parse allowed updates")
        self.allowed_updates = frozenset(kinds) if kinds else DEFAULT_ALLOWED_UPDATES

    async def _api_getwebhookinfo(self, params: dict, uploads: dict) -> dict:
        info: dict[str, Any] = {"url": self.webhook.url if self.webhook else "", "has_custom_certificate": False,
                                "pending_update_count": len(self._updates)}
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.allowed_updates is not None:
                info["allowed_updates"] = self.webhook.allowed_updates
        return info

    @property
    def pending_updates(self) -> int:
        """Updates Telegram would still hold: not confirmed by getUpdates, or not answered 200."""
        return len(self._updates)

    # --- webhook delivery -----------------------------------------------------------------------

    def _start_webhook_delivery(self) -> None:
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhooks(), name="stand-in-webhook")

    async def _stop_webhook_delivery(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None

    def _webhook_address(self) -> str:
        assert self.webhook is not None
        if not self.webhook_targets:
            return self.webhook.url
        path = "/" + self.webhook.url.split("://", 1)[1].partition("/")[2]
        target = self.webhook_targets[self._next_target % len(self.webhook_targets)]
        self._next_target += 1
        return target.rstrip("/") + path

    async def _deliver_webhooks(self) -> None:
        """Each pending update is POSTed until the bot answers 200, then gone for good; a person's
        next update only after their previous one was taken."""
        import aiohttp

        in_flight: set[asyncio.Task] = set()
        async with aiohttp.ClientSession() as client:
            try:
                while self.webhook is not None:
                    assert self.webhook is not None
                    for update in list(self._updates):
                        if len(in_flight) >= self.webhook.max_connections:
                            break
                        queue = _queue_of(update)
                        if queue in self._webhook_busy:
                            continue
                        self._webhook_busy.add(queue)
                        task = asyncio.create_task(self._deliver_one(client, update, queue))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                    async with self._changed:
                        await self._changed.wait()
            finally:
                for task in in_flight:
                    task.cancel()
                self._webhook_busy.clear()

    async def _deliver_one(self, client: Any, update: dict, queue: int) -> None:
        import aiohttp

        pause = WEBHOOK_RETRY_FIRST
        try:
            while self.webhook is not None:
                headers = {"Content-Type": "application/json"}
                if self.webhook.secret_token:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook.secret_token
                status = 0
                try:
                    async with client.post(
                        self._webhook_address(), data=json.dumps(update), headers=headers,
                        timeout=aiohttp.ClientTimeout(total=10),
                    ) as response:
                        status = response.status
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                self.webhook_deliveries.append((update["update_id"], status))
                if status == 200:
                    with contextlib.suppress(ValueError):
                        self._updates.remove(update)
                    return
                await asyncio.sleep(pause)
                pause = min(WEBHOOK_RETRY_MAX, pause * 2)
        finally:
            self._webhook_busy.discard(queue)
            async with self._changed:
                self._changed.notify_all()

    async def _api_setmycommands(self, params: dict, uploads: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH" if isinstance(commands, list) else "commands must be an array")
        for command in commands:
            name, description = command.get("command", ""), command.get("description", "")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        language = params.get("language_code") or None
        if language is not None and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("LANG_CODE_INVALID")
        self.commands[language] = commands
        return True

    async def _api_getmycommands(self, params: dict, uploads: dict) -> list:
        return self.commands.get(params.get("language_code") or None, [])

    async def _api_deletemycommands(self, params: dict, uploads: dict) -> bool:
        self.commands.pop(params.get("language_code") or None, None)
        return True

    async def _api_close(self, params: dict, uploads: dict) -> bool:
        return True

    async def _api_getupdates(self, params: dict, uploads: dict) -> list:
        if self.webhook is not None:
            raise BotApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        self.polls += 1
        self._ask_for(params.get("allowed_updates"))
        await self._notify("poll", {"offset": offset})
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0), 50)
        if offset:
            # Confirming: everything before the offset is gone for good, as in Telegram.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if offset - 1 > self.confirmed_upto:
                self.confirmed_upto = offset - 1
                await self._notify("confirmed", {"update_id": offset - 1})
        if not self._updates and timeout:
            try:
                await self.wait_for(lambda: self._updates or self._closing, timeout)
            except TimeoutError:
                return []
        return self._updates[:limit]

    async def _api_sendmessage(self, params: dict, uploads: dict) -> dict:
        person = self._target(params)
        text, entities, html = self._formatted(str(params.get("text") or ""), params)
        inline, reply = self._keyboards(params)
        message = self._new_message(
            person.id, from_bot=True, text=text, entities=entities, html=html, inline_keyboard=inline,
            reply_keyboard=reply, reply_to=self._replied_to(params, person.id),
        )
        await self._notify("message", {"chat_id": person.id, "message_id": message.message_id})
        return self.message_api(message)

    def _replied_to(self, params: dict, chat_id: int) -> int | None:
        """The message a send replies to; one deleted or never there is refused unless the bot
        allowed sending without it."""
        wanted = params.get("reply_parameters") or {}
        if not isinstance(wanted, dict) or wanted.get("message_id") is None:
            return None
        message_id = int(wanted["message_id"])
        exists = any(m.message_id == message_id and not m.deleted for m in self.messages.get(chat_id, []))
        if exists:
            return message_id
        if wanted.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")

    async def _send_file(self, params: dict, uploads: dict, key: str) -> dict:
        person = self._target(params)
        caption, entities, html = (None, [], None)
        if params.get("caption"):
            caption, entities, html = self._formatted(str(params["caption"]), params, caption=True)
        inline, reply = self._keyboards(params)
        if key == "photo":
            fields: dict[str, Any] = {"photo": self._photo_param(params, uploads)}
        elif key == "voice":
            stored = self._file_param(params, uploads, key, "voice.ogg", "audio/ogg")
            fields = {"extra": {"voice": self._voice(stored)}}
        else:
            stored = self._file_param(params, uploads, key, "document", "application/octet-stream")
            fields = {"document": self._document(stored)}
        message = self._new_message(
            person.id, from_bot=True, caption=caption, entities=entities, html=html,
            inline_keyboard=inline, reply_keyboard=reply, **fields,
        )
        await self._notify("message", {"chat_id": person.id, "message_id": message.message_id})
        return self.message_api(message)

    async def _api_sendmediagroup(self, params: dict, uploads: dict) -> list:
        """An album: 2 to 10 photos (or documents), one message each sharing a `media_group_id`;
        one item is sent as a message of its own. The method takes no keyboard (Telegram ignores a
        `reply_markup`). Each item is read, file and caption, before the next, and a refused album
        sends nothing."""
        person = self._target(params)
        media = params.get("media")
        if not media:
            raise bad_request("there are no messages to send")
        if not isinstance(media, list) or not all(isinstance(item, dict) for item in media):
            raise bad_request("can't parse media JSON object")
        if len(media) > MAX_ALBUM:
            raise bad_request("too many messages to send as an album")
        kinds = [item.get("type") for item in media]
        for kind in kinds:
            if kind not in ("photo", "document"):  # (the stand-in has no videos or audio)
                raise bad_request(f"can't parse InputMedia: unsupported media type \"{kind}\"")
        if "document" in kinds and set(kinds) != {"document"}:
            raise bad_request("document can't be mixed with other media types")
        items = []
        for item in media:
            caption, entities, html = (None, [], None)
            if item.get("caption"):
                caption, entities, html = self._formatted(str(item["caption"]), item, caption=True)
            if item["type"] == "photo":
                fields: dict[str, Any] = {"photo": self._photo_param({"photo": item.get("media")}, uploads)}
            else:
                stored = self._file_param({"document": item.get("media")}, uploads, "document", "document", "application/octet-stream")
                fields = {"document": self._document(stored)}
            items.append((caption, entities, html, fields))
        for _ in items[1:]:  # each message of the album counts against flood control
            self._check_flood("sendMediaGroup", person.id)
        reply_to = self._replied_to(params, person.id)
        group = {"media_group_id": str(next(self._media_groups))} if len(items) > 1 else {}
        sent = []
        for caption, entities, html, fields in items:
            message = self._new_message(
                person.id, from_bot=True, caption=caption, entities=entities, html=html,
                reply_to=reply_to, extra=dict(group), **fields,
            )
            await self._notify("message", {"chat_id": person.id, "message_id": message.message_id})
            sent.append(self.message_api(message))
        return sent

    async def _api_sendphoto(self, params: dict, uploads: dict) -> dict:
        return await self._send_file(params, uploads, "photo")

    async def _api_senddocument(self, params: dict, uploads: dict) -> dict:
        return await self._send_file(params, uploads, "document")

    async def _api_sendvoice(self, params: dict, uploads: dict) -> dict:
        return await self._send_file(params, uploads, "voice")

    async def _api_sendlocation(self, params: dict, uploads: dict) -> dict:
        person = self._target(params)
        try:
            where = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        except (KeyError, TypeError, ValueError):
            raise bad_request("wrong latitude or longitude") from None
        message = self._new_message(person.id, from_bot=True, extra={"location": where})
        await self._notify("message", {"chat_id": person.id, "message_id": message.message_id})
        return self.message_api(message)

    async def _api_sendchataction(self, params: dict, uploads: dict) -> bool:
        person = self._target(params)
        await self._notify("typing", {"chat_id": person.id, "action": params.get("action") or "typing"})
        return True

    async def _edit(self, params: dict, field: str | None) -> dict:
        """editMessageText / editMessageCaption (`field` "text" / "caption") and
        editMessageReplyMarkup (`field` None): Telegram's checks, then the change."""
        message = self._editable(params)
        inline, _ = self._keyboards(params)
        if field is None:
            changes: dict[str, Any] = {}
        else:
            if field == "text" and message.text is None:
                raise bad_request("there is no text in the message to edit")
            if field == "caption" and message.photo is None and message.document is None:
                raise bad_request("there is no caption in the message to edit")
            content, entities, html = self._formatted(str(params.get(field) or ""), params, caption=field == "caption")
            changes = {field: content, "entities": entities, "html": html}
        if all(getattr(message, k) == v for k, v in changes.items() if k != "html") and inline == message.inline_keyboard:
            raise bad_request(NOT_MODIFIED)
        for name, value in changes.items():
            setattr(message, name, value)
        message.inline_keyboard = inline
        message.edit_date = int(time.time())
        await self._notify("edit", {"chat_id": message.chat_id, "message_id": message.message_id})
        return self.message_api(message)

    async def _api_editmessagetext(self, params: dict, uploads: dict) -> dict:
        return await self._edit(params, "text")

    async def _api_editmessagecaption(self, params: dict, uploads: dict) -> dict:
        return await self._edit(params, "caption")

    async def _api_editmessagereplymarkup(self, params: dict, uploads: dict) -> dict:
        return await self._edit(params, None)

    async def _api_deletemessage(self, params: dict, uploads: dict) -> bool:
        self._target(params)
        try:
            message = self.message(int(params["chat_id"]), int(params.get("message_id", 0)))
        except LookupError:
            raise bad_request("message to delete not found") from None
        if message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        await self._notify("delete", {"chat_id": message.chat_id, "message_id": message.message_id})
        return True

    async def _api_answercallbackquery(self, params: dict, uploads: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self.callback_answers or self.callback_answers[query_id] is not None:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text") or ""
        if utf16_length(text) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        answer = {"text": text, "show_alert": bool(params.get("show_alert"))}
        self.callback_answers[query_id] = answer
        await self._notify("callback_answer", {"callback_query_id": query_id, "chat_id": self._query_chats.get(query_id), **answer})
        return True

    async def _api_getfile(self, params: dict, uploads: dict) -> dict:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.content), "file_path": stored.path}
