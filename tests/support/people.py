"""People in a chat with the bot, acting as a person would: type, tap the reply keyboard, press an
inline button, send a sticker or a photo. Each action waits until the bot has fully handled the
update (its transaction committed) and returns what changed in the chat."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field

from bot.standin import BotApiServer, ChatMessage, picture, split_like_an_app

EDIT_METHODS = {"editMessageText", "editMessageReplyMarkup", "editMessageCaption"}
SEND_METHODS = {
    "sendMessage", "sendPhoto", "sendDocument", "sendVoice", "sendLocation", "sendVenue", "sendVideo", "sendVideoNote",
    "sendAudio", "sendAnimation", "sendSticker", "sendContact",
}


@dataclass
class Reaction:
    """What the bot did in this chat in answer to one action."""

    sent: list[ChatMessage] = field(default_factory=list)
    edited: list[ChatMessage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    answer: dict | None = None  # answerCallbackQuery of a pressed button

    @property
    def text(self) -> str:
        return "\n---\n".join(m.text or m.caption or "" for m in self.sent)

    @property
    def last(self) -> ChatMessage:
        assert self.sent, "the bot sent nothing"
        return self.sent[-1]


class Person:
    def __init__(
        self, api: BotApiServer, user_id: int, name: str, language_code: str | None, timeout: float = 10.0,
        started: bool = False,
    ) -> None:
        """`started`: they opened the bot before the test (as staff have); otherwise the bot may
        write to them only after they write first, as Telegram allows."""
        self.api = api
        self.id = user_id
        self.timeout = timeout
        self._received_upto = 0  # the bot's messages `receive` has already handed out
        api.add_person(user_id, name, language_code, started=started)

    async def _after(self, action) -> Reaction:
        mark = len(self.api.calls)
        done = await action
        if isinstance(done, list):  # an album: one update per item, all sent at once
            update_ids, rest = [update_id for update_id, _ in done], []
        else:
            update_id, *rest = done
            update_ids = [update_id]
        if None in update_ids:  # Telegram did not pass it on: the bot did not ask for this kind
            return Reaction()
        await self.api.wait_for(lambda: self.api.handled_updates.issuperset(update_ids), self.timeout)
        reaction = Reaction()
        for call in self.api.calls[mark:]:
            if call.chat_id != self.id and call.method != "answerCallbackQuery":
                continue
            if not call.ok:
                if call.expected is None:  # not a fault the test caused, nor flood control
                    reaction.errors.append(f"{call.method}: {call.error}")
                continue
            elif call.method in SEND_METHODS:
                reaction.sent.append(self.api.message(self.id, call.result["message_id"]))
            elif call.method == "sendMediaGroup":
                reaction.sent += [self.api.message(self.id, sent["message_id"]) for sent in call.result]
            elif call.method in EDIT_METHODS:
                message = self.api.message(self.id, call.result["message_id"])
                if message not in reaction.edited:
                    reaction.edited.append(message)
            elif call.method == "answerCallbackQuery" and rest and call.params.get("callback_query_id") == rest[0]:
                reaction.answer = self.api.callback_answers[rest[0]]
        assert not reaction.errors, f"Telegram refused the bot's calls: {reaction.errors}"
        return reaction

    async def send(self, text: str, reply_to: ChatMessage | None = None) -> Reaction:
        """Type `text` and send it; longer than 4096, it goes as the pieces an app cuts it into,
        and the reaction is to them all."""
        pieces = split_like_an_app(text)
        reaction = await self._after(self.api.send_text(self.id, pieces[0], reply_to.message_id if reply_to else None))
        for piece in pieces[1:]:
            more = await self._after(self.api.send_text(self.id, piece))
            reaction.sent += more.sent
            reaction.edited += [m for m in more.edited if m not in reaction.edited]
        return reaction

    async def receive(self, containing: str = "", timeout: float | None = None) -> ChatMessage:
        """Wait for a message the bot sends later, on its own (delivered from the outbox), with
        `containing` in its text or caption; each message is handed out once, in order."""

        def arrived() -> ChatMessage | None:
            for message in self.api.chat(self.id):
                if message.from_bot and message.message_id > self._received_upto and containing in (message.text or message.caption or ""):
                    return message
            return None

        message = await self.api.wait_for(arrived, timeout or self.timeout)
        self._received_upto = message.message_id
        return message

    def sent_last(self) -> ChatMessage:
        """The person's own newest message in the chat."""
        return next(m for m in reversed(self.api.chat(self.id)) if not m.from_bot)

    def pass_over_received(self) -> None:
        """What the bot sent so far is not what `receive` will wait for next (it has been read)."""
        bot_messages = [m.message_id for m in self.api.chat(self.id) if m.from_bot]
        self._received_upto = max([self._received_upto, *bot_messages])

    def received(self) -> list[ChatMessage]:
        """The bot's messages `receive` has not handed out yet."""
        return [m for m in self.api.chat(self.id) if m.from_bot and m.message_id > self._received_upto]

    async def share_contact(self, phone: str, own: bool = True) -> Reaction:
        """Share a contact: their own with the keyboard's button, or someone else's card."""
        contact = {"phone_number": phone, "first_name": "Test", "user_id": self.id if own else self.id + 1}
        return await self._after(self.api.send_media(self.id, "contact", contact))

    async def send_voice(self, content: bytes = b"OggS voice") -> Reaction:
        return await self._after(self.api.send_voice(self.id, content))

    async def send_document(self, content: bytes, name: str, mime_type: str, caption: str | None = None) -> Reaction:
        return await self._after(self.api.send_document(self.id, content, name, mime_type, caption))

    async def tap(self, label: str) -> Reaction:
        """Tap a button of the reply keyboard the person sees now."""
        keyboard = self.api.reply_keyboard(self.id)
        assert keyboard is not None, "no reply keyboard is shown"
        labels = [button["text"] for row in keyboard["keyboard"] for button in row]
        matches = [l for l in labels if label in l]
        assert matches, f"no reply button like {label!r}: {labels}"
        return await self.send(matches[0])

    async def press(self, button_text: str, message: ChatMessage | None = None) -> Reaction:
        """Press an inline button (by its text, a part of it) under `message` or the newest bot
        message that has such a button."""
        candidates = [message] if message else [m for m in reversed(self.api.chat(self.id)) if m.from_bot]
        for candidate in candidates:
            for button in candidate.buttons:
                if button_text in button["text"]:
                    return await self._after(self.api.press(self.id, candidate.message_id, button["callback_data"]))
        raise AssertionError(f"no inline button like {button_text!r} in the chat")

    async def press_forged(self, message: ChatMessage, callback_data: str) -> Reaction:
        """Send callback data that is on no button (a modified client can)."""
        return await self._after(self.api.press(self.id, message.message_id, callback_data, forged=True))

    async def send_sticker(self) -> Reaction:
        sticker = {"file_id": "CAACAgIAAxkBAAE", "file_unique_id": "AgADsticker", "type": "regular",
                   "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"}
        return await self._after(self.api.send_media(self.id, "sticker", sticker))

    async def send_file(self, kind: str, content: bytes = b"file", caption: str | None = None, name: str | None = None) -> Reaction:
        """Send a video, a round video message, an audio file, a GIF or a sticker (a new file)."""
        return await self._after(self.api.send_file(self.id, kind, content, name=name, caption=caption))

    async def send_media_album(self, *items: tuple[str, bytes], caption: str | None = None) -> Reaction:
        """Send videos (or audio files) at once as an album: `items` are (kind, content)."""
        group = self.api.new_album_id()
        sent = []
        for n, (kind, content) in enumerate(items):
            sent.append(self.api.send_file(self.id, kind, content, caption=caption if n == 0 else None, media_group_id=group))
        return await self._after(_all(sent))

    async def send_dice(self) -> Reaction:
        """🎲: a message Telegram cannot send on for the bot (it would roll again)."""
        return await self._after(self.api.send_media(self.id, "dice", {"emoji": "🎲", "value": 4}))

    async def share_other_contact(self, phone: str, first_name: str, last_name: str = "") -> Reaction:
        """Share someone's contact card from the phone book (not their own)."""
        contact = {"phone_number": phone, "first_name": first_name, "last_name": last_name}
        return await self._after(self.api.send_media(self.id, "contact", contact))

    async def edit_caption(self, message: ChatMessage, caption: str) -> Reaction:
        return await self._after(_with_id(self.api.edit_caption(self.id, message, caption)))

    async def send_photo(self, subject: str = "a photo", caption: str | None = None, content: bytes | None = None) -> Reaction:
        """Take a photo of `subject` and send it: each subject is a different picture, and each
        sending a new upload (new file ids), as from the phone's camera. Or send the picture
        `content` (one re-saved or screenshotted, say)."""
        return await self._after(self.api.send_photo(self.id, content or picture(subject), caption))

    async def send_album(self, *subjects: str, caption: str | None = None, reply_to: ChatMessage | None = None) -> Reaction:
        """Pick 2 to 10 photos, one of each subject, and send them at once as an album (in reply
        to `reply_to`); the reaction is to them all."""
        pictures = [picture(subject) for subject in subjects]
        return await self._after(self.api.send_album(self.id, pictures, caption, reply_to.message_id if reply_to else None))

    async def edit(self, message: ChatMessage, text: str) -> Reaction:
        """Edit a text sent earlier; the reaction is to the edit (nothing, if the bot does not ask
        Telegram for edits)."""
        return await self._after(_with_id(self.api.edit_text(self.id, message, text)))

    async def forward(self, message: ChatMessage) -> Reaction:
        """Forward a message (from this chat or another) to the bot: the same files, with its origin."""
        return await self._after(self.api.forward(self.id, message))

    async def send_again(self, message: ChatMessage) -> Reaction:
        """Send the same photo or file again, from the app's recent files or forwarded without the
        author's name: the same files, no origin."""
        return await self._after(self.api.forward(self.id, message, keep_origin=False))

    async def send_location(self, latitude: float = 51.1282, longitude: float = 71.4304) -> Reaction:
        return await self._after(self.api.send_media(self.id, "location", {"latitude": latitude, "longitude": longitude}))

    async def share_live_location(self, latitude: float = 51.1282, longitude: float = 71.4304) -> Reaction:
        """Share the live location for an hour (it moves with `move_to`)."""
        where = {"latitude": latitude, "longitude": longitude, "live_period": 3600}
        return await self._after(self.api.send_media(self.id, "location", where))

    async def move_to(self, shared: ChatMessage, latitude: float, longitude: float) -> Reaction:
        return await self._after(_with_id(self.api.move_live_location(self.id, shared, latitude, longitude)))

    @property
    def reply_labels(self) -> list[str]:
        keyboard = self.api.reply_keyboard(self.id)
        return [b["text"] for row in keyboard["keyboard"] for b in row] if keyboard else []

    def last_bot_message(self) -> ChatMessage:
        return next(m for m in reversed(self.api.chat(self.id)) if m.from_bot)


async def _all(sends: list[Awaitable[tuple[int, ChatMessage]]]) -> list[tuple[int, ChatMessage]]:
    return [await send for send in sends]


async def _with_id(update: Awaitable[int | None]) -> tuple[int | None]:
    return (await update,)
