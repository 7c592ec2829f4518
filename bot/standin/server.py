"""A local Telegram Bot API server: the tests' stand-in and the playground's engine in one.

It keeps every chat in memory, answers the Bot API methods the bot uses the way Telegram does
(including its refusals), records every call, and lets people act through Python methods: send a
text, a photo, a contact, press a button, block the bot (`people.py`). The bot reaches it over real
HTTP through `TELEGRAM_API_URL`, exactly as it would reach a self-hosted Bot API server.

The rooms: the methods the bot calls (`methods.py`), files and photos (`files.py`), flood control
(`flood.py`), webhook delivery (`webhook.py`), Telegram's limits (`limits.py`) and HTML parser
(`html.py`); this module holds the chats and answers HTTP. The faults a test injects and the
strictness it is held to are on the tests' side (`tests/support/telegram.py`), through the hooks
at the end of `BotApiServer`.

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
* with a webhook set, getUpdates is refused (409) and updates are POSTed to the webhook with its
  `X-Telegram-Bot-Api-Secret-Token`, one person's at a time and in order (other people's at once),
  each sent again until it is answered 200, as Telegram's Bot API server does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.standin.files import Files
from bot.standin.flood import FloodControl
from bot.standin.limits import DEFAULT_ALLOWED_UPDATES, TELEGRAM_RATE
from bot.standin.methods import Methods
from bot.standin.model import BotApiError, Call, ChatMessage, Person, StoredFile, Webhook, bad_request
from bot.standin.people import People
from bot.standin.webhook import WebhookDelivery


_JSON_FIELDS = {
    "reply_markup", "entities", "caption_entities", "media", "allowed_updates", "commands", "scope",
    "link_preview_options", "reply_parameters", "menu_button",
}
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "reply_to_message_id", "user_id", "max_connections"}
_BOOL_FIELDS = {"show_alert", "disable_notification", "protect_content", "drop_pending_updates"}


class BotApiServer(People, Methods, Files, WebhookDelivery, FloodControl):
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
        # When each callback query was pressed (monotonic): Telegram takes an answer to a press only
        # for a short while (it does not say how long; bots meet the refusal after about 10-15 s),
        # then refuses it as too old. A bot that handles a press late (a backlog after downtime)
        # meets that refusal.
        self._query_times: dict[str, float] = {}
        self.callback_query_lifetime = 15.0
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
            injected = self._injected(method, params, request)
            if injected is not None:
                return injected
            self._check_flood(method, self._chat_of(params))
            result = await handler(params, uploads)
        except BotApiError as error:
            if method != "getUpdates":
                expected = error.caused or self._refusal_expected(method, error.description)
                self.calls.append(Call(method, params, False, error.description, time.monotonic(), expected=expected))
                await self._notify("error", {"method": method, "description": error.description, "chat_id": self._chat_of(params)})
            return web.json_response(error.payload(), status=error.code)
        if method != "getUpdates":
            self.calls.append(Call(method, params, True, None, time.monotonic(), result))
            await self._notify("call", {"method": method, "chat_id": params.get("chat_id")})
        if self._answer_lost(method, params) and request.transport is not None:
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

    # --- where a test's faults come in (tests/support/telegram.py); Telegram has none of these ---

    def _injected(self, method: str, params: dict[str, Any], request: web.Request) -> web.Response | None:
        """What a test made of this call instead of carrying it out (raising BotApiError for a
        refusal); None: the call goes on."""
        return None

    def _refusal_expected(self, method: str, description: str) -> str | None:
        """Why a test expects this refusal, if it said so."""
        return None

    def _answer_lost(self, method: str, params: dict[str, Any]) -> bool:
        """Whether the answer to this call, carried out, never reaches the bot."""
        return False
