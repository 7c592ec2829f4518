"""What people do in Telegram, as Python methods: type or paste a text, send a photo, an album, a
contact, a voice message, a document, forward, edit, press a button, block the bot."""

from __future__ import annotations

import itertools
import time
from typing import Any

from bot.standin.html import utf16_length
from bot.standin.limits import MAX_ALBUM, MAX_TEXT, split_like_an_app
from bot.standin.model import BotApiError, ChatMessage, Person


class People:
    """The people's side of the stand-in; each action becomes the update Telegram would send."""

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

    async def send_file(
        self, user_id: int, kind: str, content: bytes, name: str | None = None, mime_type: str | None = None,
        caption: str | None = None, media_group_id: str | None = None, reply_to: int | None = None,
    ) -> tuple[int, ChatMessage]:
        """The person sends a video, a round video message, an audio file, a GIF or a sticker (a
        new file each time). Video messages and stickers carry no caption in Telegram's apps."""
        self.person(user_id)
        stored = self._store_file(content, name or kind, mime_type or "application/octet-stream")
        extra: dict[str, Any] = {kind: self._media(kind, stored)}
        if media_group_id is not None:
            extra["media_group_id"] = media_group_id
        fields: dict[str, Any] = {"document": self._document(stored)} if kind == "animation" else {}
        message = self._new_message(
            user_id, from_bot=False, caption=None if kind in ("video_note", "sticker") else caption, extra=extra,
            reply_to=reply_to, **fields,
        )
        return await self._push_update("message", self.message_api(message)), message

    def new_album_id(self) -> str:
        return str(next(self._media_groups))

    async def edit_caption(self, user_id: int, message: ChatMessage, caption: str) -> int | None:
        """The person changes the caption of a photo or file they sent (an `edited_message`)."""
        if message.from_bot or message.chat_id != user_id or message.text is not None or message.deleted:
            raise ValueError("a person edits only the captions of their own media")
        message.caption = caption
        message.edit_date = int(time.time())
        return await self._push_update("edited_message", self.message_api(message))

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
        self._query_times[query_id] = time.monotonic()
        query = {
            "id": query_id, "from": person.api(), "message": self.message_api(message),
            "chat_instance": str(user_id), "data": callback_data,
        }
        return await self._push_update("callback_query", query), query_id

    def block(self, user_id: int) -> None:
        self.person(user_id).blocked_bot = True
