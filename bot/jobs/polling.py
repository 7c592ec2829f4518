"""Polling mode: `getUpdates` into the intake. Only one process polls at a time (Telegram answers
409 to a second one); the others wait and take over within seconds if it dies.

Telegram is told a batch arrived only by the next call's `offset`, which is sent only after the
batch is committed (one statement for the batch). A process killed before that commit loses
nothing: Telegram sends the batch again to whoever polls next, and what was already stored is not
stored twice. While the database is unreachable no offset moves at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError, TelegramUnauthorizedError
from aiogram.methods import GetUpdates
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import metrics
from bot.db.engine import unreachable
from bot.jobs.intake import received
from bot.services import intake

log = logging.getLogger(__name__)

# Any number unique to this lock among the application's advisory locks.
LEADER_LOCK = 0x706F6C6C  # "poll"
FOLLOWER_LOOK_SECONDS = 2.0  # how often a process that does not poll checks whether it should
PAUSES = (0.5, 1.0, 2.0, 5.0)  # after a failed poll or store, growing with repeated failures
CONFLICT_PAUSE = 5.0
# How often the leader looks whether its lock is still held (a round trip), at most: under load a
# batch comes every few milliseconds, and a second of two pollers costs nothing (Telegram answers
# one of them 409, and an update is stored once whoever stores it).
STILL_HERE_EVERY = 1.0



class TelegramUnreachable(Exception):
    """getUpdates got no answer (no connection, a timeout)."""


_TRY_LEAD = text("SELECT pg_try_advisory_lock(:key)")
_STILL_HERE = text("SELECT 1")


class Poller:
    def __init__(
        self, engine: AsyncEngine, allowed_updates: list[str], timeout: int = 30,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.allowed_updates = allowed_updates
        self.timeout = timeout
        self.on_stored = on_stored
        self.leading = False
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()
        self.fatal: BaseException | None = None  # a refused token: the process cannot go on

    def start(self, bot: Bot, on_fatal: Callable[[], None]) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(bot, on_fatal), name="polling")

    async def stop(self) -> None:
        """Stop at once: a long poll in flight is abandoned (it confirms only what is stored)."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _run(self, bot: Bot, on_fatal: Callable[[], None]) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                async with self.autocommit.connect() as lock_connection:
                    if not (await lock_connection.execute(_TRY_LEAD, {"key": LEADER_LOCK})).scalar_one():
                        await self._pause(FOLLOWER_LOOK_SECONDS)
                        continue
                    try:
                        self.leading = True
                        log.info("this process polls Telegram")
                        await self._lead(bot, lock_connection)
                    finally:
                        self.leading = False
                        # Closing the connection ends the lock too; say so while it is alive.
                        with contextlib.suppress(Exception):
                            await lock_connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK})
                failures = 0
            except asyncio.CancelledError:
                raise
            except TelegramUnauthorizedError as error:
                log.error("Telegram refused the token while polling")
                self.fatal = error
                on_fatal()
                return
            except TelegramUnreachable as error:
                pause = PAUSES[min(failures, len(PAUSES) - 1)]
                failures += 1
                metrics.POLLING_FAILURES.labels("telegram").inc()
                log.warning("cannot reach Telegram; polling again shortly", extra={"error": str(error), "pause": pause})
                await self._pause(pause)
            except TelegramConflictError:
                metrics.POLLING_FAILURES.labels("conflict").inc()
                log.warning("Telegram says another poller or a webhook is active; polling again shortly")
                await self._pause(CONFLICT_PAUSE)
            except Exception as error:
                pause = PAUSES[min(failures, len(PAUSES) - 1)]
                failures += 1
                metrics.POLLING_FAILURES.labels("database" if unreachable(error) else "error").inc()
                if unreachable(error):
                    log.warning("the database is unreachable; nothing is confirmed to Telegram until it is back")
                else:
                    log.warning("polling failed; trying again", extra={"error": type(error).__name__, "pause": pause})
                await self._pause(pause)

    async def _lead(self, bot: Bot, lock_connection: AsyncConnection) -> None:
        # A webhook left from webhook mode would make Telegram refuse getUpdates.
        await bot.delete_webhook(drop_pending_updates=False)
        offset: int | None = None  # Telegram's unconfirmed updates first, whatever a last process saw
        looked = time.monotonic()
        while not self._stopping.is_set():
            updates = await self._get_updates(bot, offset)
            if updates:
                batch = [received(update) for update in updates]
                async with self.autocommit.connect() as conn:
                    await intake.store(conn, batch)
                for update in batch:
                    metrics.UPDATES_RECEIVED.labels(update.kind).inc()
                if self.on_stored is not None:
                    self.on_stored()
                offset = batch[-1].update_id + 1
            # The lock lives as long as its connection: a database restart ends it, and another
            # process may be polling by now. Looked at before a poll, after the batch is stored and
            # its handling begun, and not after every batch (`STILL_HERE_EVERY`): storing it was
            # harmless either way, as an update is stored once whoever stores it.
            if not updates or time.monotonic() - looked >= STILL_HERE_EVERY:
                await lock_connection.execute(_STILL_HERE)
                looked = time.monotonic()

    async def _get_updates(self, bot: Bot, offset: int | None) -> list[dict[str, Any]]:
        """The raw updates: stored as Telegram sent them, without building aiogram's objects."""
        method = GetUpdates(offset=offset, timeout=self.timeout, allowed_updates=self.allowed_updates)
        request: dict[str, Any] = {"timeout": self.timeout, "allowed_updates": self.allowed_updates}
        if offset is not None:
            request["offset"] = offset
        session = await bot.session.create_session()
        url = bot.session.api.api_url(token=bot.token, method="getUpdates")
        try:
            async with session.post(
                url, data=orjson.dumps(request), headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=self.timeout + 15),
            ) as response:
                content = await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TelegramUnreachable(type(error).__name__) from error
        if response.status == 200:
            with contextlib.suppress(ValueError):
                answer = orjson.loads(content)
                if isinstance(answer, dict) and answer.get("ok") and isinstance(answer.get("result"), list):
                    return [u for u in answer["result"] if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
        # Refusals (401, 409, 429, 5xx) are raised as aiogram's exceptions.
        bot.session.check_response(bot, method, response.status, content.decode(errors="replace"))
        return []
