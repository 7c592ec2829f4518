"""The process's HTTP side (aiohttp): Telegram's webhook in webhook mode, and in every mode
`/healthz` and `/metrics` for whoever runs the bot.

The webhook answers 200 only once the update is committed to the intake, so a process killed or a
database lost before that makes Telegram send it again; 401 (storing nothing) without the right
`X-Telegram-Bot-Api-Secret-Token`; 503 while the process is stopping or the database is away.

aiogram's webhook helpers (`SimpleRequestHandler`) hand the update to the dispatcher, either before
answering (Telegram waits for the handlers) or after (a crash loses it); neither stores it first,
so this is our own small handler, with the same constant-time secret check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import metrics
from bot.jobs.intake import received
from bot.services import intake

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_TIMEOUT = 3.0
# Stuck: updates wait and none was handled for this long; or an owed message is overdue this long.
INTAKE_STUCK_SECONDS = 60.0
OUTBOX_STUCK_SECONDS = 600.0

_LAST_HANDLED = text(
    "SELECT EXTRACT(EPOCH FROM clock_timestamp() - max(handled_at)) FROM intake WHERE handled_at IS NOT NULL"
)
_OUTBOX_OVERDUE = text(
    """
    SELECT EXTRACT(EPOCH FROM clock_timestamp() - min(not_before)) FROM outbox
    WHERE sent_at IS NULL AND failed IS NULL AND not_before <= now()
    """
)


class WebServer:
    def __init__(
        self, engine: AsyncEngine, *, webhook_path: str | None = None, webhook_secret: str | None = None,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self.autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.webhook_path = webhook_path
        self.webhook_secret = webhook_secret
        self.on_stored = on_stored
        self.accepting = True
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        if self.webhook_path is not None:
            app.router.add_post(self.webhook_path, self.receive)
        app.router.add_get("/healthz", self.health)
        app.router.add_get("/metrics", self.metrics)
        return app

    async def start(self, host: str, port: int) -> str:
        self._runner = web.AppRunner(
            # A webhook call only stores the update: at a stop, a second is ample for those in flight.
            self.app(), access_log=None, handle_signals=False, shutdown_timeout=1.0,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        bound = self._runner.addresses[0]
        return f"http://{bound[0]}:{bound[1]}"

    async def stop(self) -> None:
        self.accepting = False
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def receive(self, request: web.Request) -> web.Response:
        if not self.accepting:
            return web.Response(status=503, text="stopping")
        assert self.webhook_secret is not None
        given = request.headers.get(SECRET_HEADER, "")
        if not secrets.compare_digest(given.encode(), self.webhook_secret.encode()):
            log.warning("a webhook call without the right secret was refused")
            return web.Response(status=401, text="Unauthorized")
        try:
            update = orjson.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="not JSON")
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        stored = received(update)
        try:
            async with self.autocommit.connect() as conn:
                await intake.store(conn, [stored])
        except Exception:  # noqa: BLE001 - Telegram sends it again after a non-200
            log.warning("could not store a webhook update; Telegram will send it again", extra={"update_id": stored.update_id})
            return web.Response(status=503, text="try again")
        metrics.UPDATES_RECEIVED.labels(stored.kind).inc()
        if self.on_stored is not None:
            self.on_stored()
        return web.json_response({})

    async def health(self, request: web.Request) -> web.Response:
        report: dict[str, Any] = {}
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT), self.autocommit.connect() as conn:
                waiting = await intake.waiting(conn)
                since_handled = (await conn.execute(_LAST_HANDLED)).scalar()
                overdue = (await conn.execute(_OUTBOX_OVERDUE)).scalar()
        except Exception:  # noqa: BLE001 - whatever it is, the database cannot be used now
            return web.json_response({"ok": False, "database": "unreachable"}, status=503, dumps=_dumps)
        report["database"] = "ok"
        intake_stuck = (
            waiting.oldest_seconds > INTAKE_STUCK_SECONDS
            and (since_handled is None or float(since_handled) > INTAKE_STUCK_SECONDS)
        )
        outbox_stuck = overdue is not None and float(overdue) > OUTBOX_STUCK_SECONDS
        report["intake"] = {
            "waiting": waiting.count, "oldest_seconds": round(waiting.oldest_seconds, 1),
            "state": "stuck" if intake_stuck else "ok",
        }
        report["outbox"] = {"overdue_seconds": round(float(overdue or 0), 1), "state": "stuck" if outbox_stuck else "ok"}
        report["ok"] = not (intake_stuck or outbox_stuck)
        return web.json_response(report, status=200 if report["ok"] else 503, dumps=_dumps)

    async def metrics(self, request: web.Request) -> web.Response:
        with contextlib.suppress(Exception):  # without the database, the process's own figures still
            async with asyncio.timeout(HEALTH_TIMEOUT), self.autocommit.connect() as conn:
                await metrics.refresh(conn)
        body, content_type = metrics.exposition()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()
