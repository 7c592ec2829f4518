"""The Bot API methods the bot calls, checked and refused as Telegram does."""

from __future__ import annotations

import math
import re
import time
from typing import Any

from bot.standin.html import EntityParseError, parse_html, utf16_length
from bot.standin.limits import (
    MAX_ALBUM, MAX_CALLBACK_ANSWER, MAX_CALLBACK_DATA, MAX_CAPTION, MAX_INLINE_BUTTONS, MAX_TEXT,
)
from bot.standin.model import BotApiError, ChatMessage, NOT_MODIFIED, Person, bad_request

# Files sent by their own methods (sendVideo…), each with its Bot API object in the message.
MEDIA_KINDS = ("video", "video_note", "audio", "animation", "sticker")
NO_CAPTION = ("video_note", "sticker")


class Methods:
    """The bot's side of the stand-in: one `_api_<method>` each, and the checks they share."""

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
            # Every method that takes a keyboard (sends, files, edits) comes through here.
            if sum(len(row) for row in markup["inline_keyboard"]) > MAX_INLINE_BUTTONS:
                raise bad_request("reply markup is too long")
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

    def _editable(self, params: dict[str, Any]) -> ChatMessage:
        self._target(params)
        try:
            message = self.message(int(params["chat_id"]), int(params.get("message_id", 0)))
        except LookupError:
            raise bad_request("message to edit not found") from None
        if message.deleted or not message.from_bot:
            raise bad_request("message to edit not found")
        return message


    async def _api_getme(self, params: dict, uploads: dict) -> dict:
        return self.bot_user

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
        elif key in MEDIA_KINDS:
            stored = self._file_param(params, uploads, key, key, "application/octet-stream")
            fields = {"extra": {key: self._media(key, stored)}}
            if key == "animation":  # Telegram gives a GIF as a document too
                fields["document"] = self._document(stored)
            if key in NO_CAPTION:  # (the methods take none; one sent anyway is dropped)
                caption, entities, html = None, [], None
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
            if kind not in ("photo", "video", "document", "audio"):
                raise bad_request(f"can't parse InputMedia: unsupported media type \"{kind}\"")
        if "document" in kinds and set(kinds) != {"document"}:
            raise bad_request("document can't be mixed with other media types")
        if "audio" in kinds and set(kinds) != {"audio"}:
            raise bad_request("audio can't be mixed with other media types")
        items = []
        for item in media:
            caption, entities, html = (None, [], None)
            if item.get("caption"):
                caption, entities, html = self._formatted(str(item["caption"]), item, caption=True)
            if item["type"] == "photo":
                fields: dict[str, Any] = {"photo": self._photo_param({"photo": item.get("media")}, uploads)}
            elif item["type"] in ("video", "audio"):
                kind = item["type"]
                stored = self._file_param({kind: item.get("media")}, uploads, kind, kind, "application/octet-stream")
                fields = {"extra": {kind: self._media(kind, stored)}}
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
            extra = {**group, **fields.pop("extra", {})}
            message = self._new_message(
                person.id, from_bot=True, caption=caption, entities=entities, html=html,
                reply_to=reply_to, extra=extra, **fields,
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

    async def _api_sendvideo(self, params: dict, uploads: dict) -> dict:
        return await self._send_file(params, uploads, "video")

    async def _api_sendvideonote(self, params: dict, uploads: dict) -> dict:
        return await self._send_file(params, uploads, "video_note")

    async def _api_sendaudio(self, params: dict, uploads: dict) -> dict:
        return await self._send_file(params, uploads, "audio")

    async def _api_sendanimation(self, params: dict, uploads: dict) -> dict:
        return await self._send_file(params, uploads, "animation")

    async def _api_sendsticker(self, params: dict, uploads: dict) -> dict:
        return await self._send_file(params, uploads, "sticker")

    async def _api_sendcontact(self, params: dict, uploads: dict) -> dict:
        """A contact card: Telegram requires a phone number and a first name."""
        person = self._target(params)
        phone, first_name = str(params.get("phone_number") or ""), str(params.get("first_name") or "")
        if not phone.strip() or not first_name.strip():
            raise bad_request("phone number and first name must be non-empty")
        contact = {"phone_number": phone, "first_name": first_name}
        if params.get("last_name"):
            contact["last_name"] = str(params["last_name"])
        message = self._new_message(person.id, from_bot=True, extra={"contact": contact})
        await self._notify("message", {"chat_id": person.id, "message_id": message.message_id})
        return self.message_api(message)

    async def _api_sendlocation(self, params: dict, uploads: dict) -> dict:
        person = self._target(params)
        where = self._coordinates(params)
        message = self._new_message(person.id, from_bot=True, extra={"location": where})
        await self._notify("message", {"chat_id": person.id, "message_id": message.message_id})
        return self.message_api(message)

    @staticmethod
    def _coordinates(params: dict) -> dict:
        """A place as Telegram takes it: finite numbers, latitude within ±90, longitude within ±180."""
        try:
            latitude, longitude = float(params["latitude"]), float(params["longitude"])
        except (KeyError, TypeError, ValueError):
            raise bad_request("wrong latitude or longitude") from None
        if not (math.isfinite(latitude) and math.isfinite(longitude) and abs(latitude) <= 90 and abs(longitude) <= 180):
            raise bad_request("wrong latitude or longitude")
        return {"latitude": latitude, "longitude": longitude}

    async def _api_sendvenue(self, params: dict, uploads: dict) -> dict:
        """A map pin with a name and an address; Telegram requires both."""
        person = self._target(params)
        where = self._coordinates(params)
        title, address = str(params.get("title") or ""), str(params.get("address") or "")
        if not title.strip() or not address.strip():
            raise bad_request("venue title and address must be non-empty")
        venue = {"location": where, "title": title, "address": address}
        message = self._new_message(person.id, from_bot=True, extra={"venue": venue, "location": where})
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
            captioned = message.photo is not None or message.document is not None or any(
                kind in message.extra for kind in ("video", "audio", "animation", "voice")
            )
            if field == "caption" and not captioned:  # (a sticker, a video note: no caption at all)
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
        too_old = time.monotonic() - self._query_times.get(query_id, 0.0) > self.callback_query_lifetime
        if query_id not in self.callback_answers or self.callback_answers[query_id] is not None or too_old:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text") or ""
        if utf16_length(text) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        answer = {"text": text, "show_alert": bool(params.get("show_alert"))}
        self.callback_answers[query_id] = answer
        await self._notify("callback_answer", {"callback_query_id": query_id, "chat_id": self._query_chats.get(query_id), **answer})
        return True
