"""The playground's page: people chatting with the real bot in a browser, through the Bot API
stand-in (`bot/standin/`).

The page is plain HTML, CSS and JavaScript from `static/`, served by the stand-in's own aiohttp
application, with no build step and nothing from the internet. It reads the chats as JSON, acts
for people through the same calls the tests use (send a text, press a button, share a contact…),
and hears about every change the bot makes through server-sent events, so an edit or a deletion
shows at once. A call the bot makes that Telegram would refuse is kept per chat and shown in red.

The page's own words go through gettext like the bot's, so it speaks kk, ru and en too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import re
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiogram.utils.i18n import I18n
from aiohttp import web

from bot.config import SUPPORTED_LANGUAGES
from bot.i18n import LANGUAGE_NAMES
from bot.standin import BotApiServer, ChatMessage
from bot.playground.texts import PAGE_TEXTS, ROLE_NAMES
from bot.services.directory import Directory

STATIC = Path(__file__).parent / "static"
MAX_TEXT_FROM_PAGE = 10_000  # longer than Telegram allows on purpose: the bot's answer is what is tried
MAX_UPLOAD = 20 * 1024 * 1024
ERRORS_KEPT = 20
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}
# The page's script sends the token it found in the page with every request that changes something.
TOKEN_HEADER = "X-Playground-Token"
TOKEN_PLACEHOLDER = "{{page_token}}"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Shown inline; anything else (SVG, HTML…) is only downloaded, so a file cannot run script here.
INLINE_IMAGES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
_TELEGRAM_ID = re.compile(r"[1-9][0-9]{0,14}")

# Where a shared location lands unless the page says otherwise: the Baiterek tower, Astana.
ASTANA = (51.128201, 71.430429)

@dataclass
class Refusal:
    method: str
    description: str
    at: float


class Playground:
    """The page and its JSON over a `BotApiServer`; add it before the server starts."""

    def __init__(self, api: BotApiServer, i18n: I18n, people_file: Path | None = None) -> None:
        """`people_file`: where the people added on the page are kept, so that they come back with
        the playground's database (whose records are theirs) after a restart."""
        self.api = api
        self.i18n = i18n
        self.people_file = people_file
        self.roles: dict[int, str] = {}
        self.offices: dict[int, str] = {}  # operators' front-offices
        self.directory = Directory.load()
        self.read_upto: dict[int, int] = defaultdict(int)  # per person: last bot message seen
        self.refusals: dict[int | None, list[Refusal]] = defaultdict(list)
        self.typing_since: dict[int, float] = {}
        self._subscribers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._next_id = 1_000_001
        # New at every start: another site open in the same browser can send requests here, but
        # cannot read the page (the same-origin policy), so it cannot learn this.
        self.page_token = secrets.token_urlsafe(32)
        api.listeners.append(self._on_event)
        api.app_hooks.append(self._add_routes)

    # --- people ---------------------------------------------------------------------------------

    def add_person(
        self, user_id: int | None, name: str, language: str | None, role: str = "citizen", office: str | None = None,
        started: bool = False,
    ) -> int:
        if user_id is None:
            while self._next_id in self.api.people:
                self._next_id += 1
            user_id = self._next_id
        # Staff have opened the bot before (Telegram lets a bot write only to people who did).
        self.api.add_person(user_id, name, language, started=role != "citizen" or started)
        self.roles[user_id] = role
        if office:
            self.offices[user_id] = office
        return user_id

    def load_added_people(self) -> None:
        if self.people_file is None or not self.people_file.exists():
            return
        for person in json.loads(self.people_file.read_text(encoding="utf-8")):
            if person["id"] not in self.api.people:
                self.add_person(person["id"], person["name"], person["language"], started=True)  # in an earlier run

    def _save_added_person(self, user_id: int) -> None:
        if self.people_file is None:
            return
        saved = json.loads(self.people_file.read_text(encoding="utf-8")) if self.people_file.exists() else []
        person = self.api.people[user_id]
        saved.append({"id": user_id, "name": person.first_name, "language": person.language_code})
        self.people_file.parent.mkdir(parents=True, exist_ok=True)
        self.people_file.write_text(json.dumps(saved, ensure_ascii=False, indent=1), encoding="utf-8")

    def _person_json(self, user_id: int) -> dict[str, Any]:
        person = self.api.people[user_id]
        chat = self.api.chat(user_id)
        last = chat[-1] if chat else None
        return {
            "id": user_id,
            "name": person.first_name,
            "language": person.language_code,
            "role": self.roles.get(user_id, "citizen"),
            "office": self.offices.get(user_id),
            "blocked": person.blocked_bot,
            "unread": sum(1 for m in chat if m.from_bot and m.message_id > self.read_upto[user_id]),
            "last": _preview(last) if last else "",
        }

    # --- events ---------------------------------------------------------------------------------

    def _on_event(self, kind: str, payload: dict[str, Any]) -> None:
        if kind in ("update", "handled", "call"):
            return  # the page cares about what people see, not the traffic underneath
        chat_id = payload.get("chat_id")
        if kind == "error":
            refusals = self.refusals[chat_id]
            refusals.append(Refusal(payload["method"], payload["description"], time.time()))
            del refusals[:-ERRORS_KEPT]
        elif kind == "typing" and chat_id is not None:
            self.typing_since[chat_id] = time.time()
        elif kind in ("message", "edit", "delete") and chat_id is not None:
            self.typing_since.pop(chat_id, None)  # Telegram clears "typing" when the message lands
        event = {"kind": kind, **payload}
        for queue in self._subscribers:
            queue.put_nowait(event)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            await response.write(b"event: hello\ndata: {}\n\n")
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), 15)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")  # lets a closed tab be noticed
                    continue
                if event is None:  # the server is stopping
                    break
                await response.write(f"data: {_json(event)}\n\n".encode())
        except ConnectionResetError:
            pass  # the tab was closed
        finally:
            self._subscribers.discard(queue)
        return response

    # --- routes ---------------------------------------------------------------------------------

    async def _end_streams(self, app: web.Application) -> None:
        for queue in self._subscribers:
            queue.put_nowait(None)

    @web.middleware
    async def _local_only(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Only pages served from this machine's own names: another site's page in the same
        browser, or a DNS name rebound to 127.0.0.1, cannot drive the playground."""
        if request.host.rsplit(":", 1)[0] not in LOCAL_HOSTS:
            raise web.HTTPForbidden(text="the playground answers only on 127.0.0.1 and localhost")
        return await handler(request)

    @web.middleware
    async def _from_the_page_only(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """A request of the page's API that changes something must carry the page's token: a form
        or a fetch from another site can reach 127.0.0.1 but cannot read the token from the page.
        A browser's own word that the request comes from elsewhere is refused as well. The Bot API
        (`/bot<token>/…`) is the bot's, not the page's, and is not concerned."""
        if request.method in SAFE_METHODS or not request.path.startswith("/api/"):
            return await handler(request)
        sent = request.headers.get(TOKEN_HEADER, "")
        origin = request.headers.get("Origin")
        fetch_site = request.headers.get("Sec-Fetch-Site")
        if (
            not hmac.compare_digest(sent.encode(), self.page_token.encode())
            or (origin is not None and origin != f"{request.scheme}://{request.host}")
            or (fetch_site is not None and fetch_site != "same-origin")
        ):
            raise web.HTTPForbidden(text=_json({"error": "not_from_the_page"}), content_type="application/json")
        return await handler(request)

    def _add_routes(self, app: web.Application) -> None:
        app.middlewares.append(self._local_only)
        app.middlewares.append(self._from_the_page_only)
        app.on_shutdown.append(self._end_streams)
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC)
        app.router.add_get("/api/texts", self._texts)
        app.router.add_get("/api/people", self._people)
        app.router.add_post("/api/people", self._new_person)
        app.router.add_get("/api/chats/{id}", self._chat)
        app.router.add_post("/api/chats/{id}/text", self._send_text)
        app.router.add_post("/api/chats/{id}/file", self._send_file)
        app.router.add_post("/api/chats/{id}/contact", self._share_contact)
        app.router.add_post("/api/chats/{id}/location", self._share_location)
        app.router.add_post("/api/chats/{id}/press", self._press)
        app.router.add_post("/api/chats/{id}/block", self._block)
        app.router.add_post("/api/chats/{id}/read", self._read)
        app.router.add_get("/api/files/{file_id}", self._file)
        app.router.add_get("/api/events", self._events)

    async def _index(self, request: web.Request) -> web.Response:
        page = (STATIC / "index.html").read_text(encoding="utf-8").replace(TOKEN_PLACEHOLDER, self.page_token)
        # Never kept: a page from before a restart would carry the old token.
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})

    async def _texts(self, request: web.Request) -> web.Response:
        language = request.query.get("lang", "")
        if language not in SUPPORTED_LANGUAGES:
            language = self.i18n.default_locale
        texts = {key: self.i18n.gettext(text, locale=language) for key, text in PAGE_TEXTS.items()}
        roles = {key: self.i18n.gettext(text, locale=language) for key, text in ROLE_NAMES.items()}
        offices = {office.slug: office.name[language] for office in (*self.directory.regions, self.directory.national)}
        return _ok({"language": language, "languages": LANGUAGE_NAMES, "texts": texts, "roles": roles, "offices": offices})

    async def _people(self, request: web.Request) -> web.Response:
        return _ok([self._person_json(user_id) for user_id in self.api.people])

    async def _new_person(self, request: web.Request) -> web.Response:
        body = await _body(request)
        name, language, raw_id = body.get("name"), body.get("language") or None, body.get("id") or ""
        if not isinstance(name, str) or not name.strip() or len(name) > 64:
            raise _bad("bad_person")
        if language is not None and not (isinstance(language, str) and re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?", language)):
            raise _bad("bad_person")
        if raw_id and not (isinstance(raw_id, str) and _TELEGRAM_ID.fullmatch(raw_id.strip()) and int(raw_id) not in self.api.people):
            raise _bad("bad_person")
        user_id = self.add_person(int(raw_id) if raw_id else None, name.strip(), language)
        self._save_added_person(user_id)
        return _ok(self._person_json(user_id))

    async def _chat(self, request: web.Request) -> web.Response:
        user_id = self._user_id(request)
        typing_since = self.typing_since.get(user_id)
        return _ok({
            "person": self._person_json(user_id),
            "messages": [self._message_json(message) for message in self.api.chat(user_id)],
            "reply_keyboard": self.api.reply_keyboard(user_id),
            "refusals": [vars(refusal) for refusal in self.refusals.get(user_id, [])],
            # Telegram shows a chat action for five seconds or until the next message.
            "typing": typing_since is not None and time.time() - typing_since < 5,
        })

    async def _send_text(self, request: web.Request) -> web.Response:
        user_id = self._user_id(request)
        body = await _body(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_FROM_PAGE:
            raise web.HTTPBadRequest(text="text must have 1 to 10000 characters")
        reply_to = _optional_int(body.get("reply_to"))
        await self.api.type_text(user_id, text, reply_to=reply_to)
        return _ok({})

    async def _send_file(self, request: web.Request) -> web.Response:
        user_id = self._user_id(request)
        reader = await request.multipart()
        content, name, mime, caption = b"", "file", "application/octet-stream", None
        while (part := await reader.next()) is not None:
            if part.name == "file":
                content = await _read_limited(part, MAX_UPLOAD)
                name = part.filename or name
                mime = part.headers.get("Content-Type") or mime
            elif part.name == "caption":
                caption = (await part.text()).strip() or None
        if not content:
            raise web.HTTPBadRequest(text="a file of 1 byte to 20 MB is needed")
        if mime in INLINE_IMAGES and mime != "image/gif":  # Telegram sends GIFs as animations
            with contextlib.suppress(ValueError):  # not an image after all: an app sends it as a file
                await self.api.send_photo(user_id, content, caption=caption)
                return _ok({})
        await self.api.send_document(user_id, content, name, mime, caption=caption)
        return _ok({})

    async def _share_contact(self, request: web.Request) -> web.Response:
        user_id = self._user_id(request)
        person = self.api.people[user_id]
        contact = {"phone_number": _playground_phone(user_id), "first_name": person.first_name, "user_id": user_id}
        await self.api.send_media(user_id, "contact", contact)
        return _ok({})

    async def _share_location(self, request: web.Request) -> web.Response:
        user_id = self._user_id(request)
        body = await _body(request)
        latitude, longitude = body.get("latitude", ASTANA[0]), body.get("longitude", ASTANA[1])
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (latitude, longitude)):
            raise web.HTTPBadRequest(text="latitude and longitude must be numbers")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise web.HTTPBadRequest(text="latitude and longitude out of range")
        await self.api.send_media(user_id, "location", {"latitude": latitude, "longitude": longitude})
        return _ok({})

    async def _press(self, request: web.Request) -> web.Response:
        user_id = self._user_id(request)
        body = await _body(request)
        message_id = body.get("message_id")
        data = body.get("data")
        if not isinstance(message_id, int) or isinstance(message_id, bool) or not isinstance(data, str):
            raise web.HTTPBadRequest(text="message_id and data are needed")
        try:
            _, query_id = await self.api.press(user_id, message_id, data)
        except LookupError as error:
            raise web.HTTPConflict(text=str(error)) from None  # the button is gone: the page is behind
        return _ok({"query_id": query_id})

    async def _block(self, request: web.Request) -> web.Response:
        user_id = self._user_id(request)
        body = await _body(request)
        blocked = body.get("blocked")
        if not isinstance(blocked, bool):
            raise web.HTTPBadRequest(text="blocked must be true or false")
        self.api.people[user_id].blocked_bot = blocked
        return _ok(self._person_json(user_id))

    async def _read(self, request: web.Request) -> web.Response:
        user_id = self._user_id(request)
        chat = self.api.chat(user_id)
        self.read_upto[user_id] = max([m.message_id for m in chat], default=0)
        return _ok({})

    async def _file(self, request: web.Request) -> web.Response:
        stored = self.api.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound()
        mime = stored.mime_type or "application/octet-stream"
        headers = {"X-Content-Type-Options": "nosniff"}
        if mime not in INLINE_IMAGES:
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(stored.name or 'file')}"
        return web.Response(body=stored.content, content_type=mime, headers=headers)

    # --- helpers --------------------------------------------------------------------------------

    def _user_id(self, request: web.Request) -> int:
        raw = request.match_info["id"]
        if not _TELEGRAM_ID.fullmatch(raw) or int(raw) not in self.api.people:
            raise web.HTTPNotFound(text="no such person")
        return int(raw)

    def _message_json(self, message: ChatMessage) -> dict[str, Any]:
        api = self.api.message_api(message)
        api["from_bot"] = message.from_bot
        if message.reply_keyboard is not None:
            api["reply_keyboard"] = message.reply_keyboard
        return api


def _preview(message: ChatMessage) -> str:
    if message.text:
        return message.text[:60]
    if message.caption:
        return message.caption[:60]
    if message.photo:
        return "🖼"
    if message.document:
        return "📎 " + str(message.document.get("file_name") or "")
    kinds = {"contact": "📱", "location": "📍", "sticker": "🙂"}
    return next((icon for kind, icon in kinds.items() if kind in message.extra), "…")


def _playground_phone(user_id: int) -> str:
    """A phone in Kazakhstan's format, made from the id: the playground never asks for a real one."""
    return f"+7700{user_id % 10_000_000:07d}"


def _optional_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _read_limited(part: Any, limit: int) -> bytes:
    """The uploaded file, refused as soon as it grows past `limit` (never read whole first)."""
    chunks, size = [], 0
    while chunk := await part.read_chunk(256 * 1024):
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        chunks.append(chunk)
    return b"".join(chunks)


def _quote(name: str) -> str:
    return quote(name, safe="")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _ok(value: Any) -> web.Response:
    return web.json_response(value, dumps=_json)


def _bad(text_key: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=_json({"error": text_key}), content_type="application/json")


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    if request.content_type != "application/json":
        # A form another site posts needs no permission; a JSON request from it does (CORS).
        raise web.HTTPUnsupportedMediaType(text="send JSON (Content-Type: application/json)")
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="the body must be JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body
