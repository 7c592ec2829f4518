"""Handling the stored updates (`bot/services/intake.py`): every process takes the next update
whose person has nothing earlier waiting, up to `HANDLING_CONCURRENCY` at once, and feeds it to the
dispatcher inside the transaction that marks it handled.

What can go wrong, and what happens then:
* the process dies mid-way: the transaction never commits, the update waits again, and the next
  attempt (in any process) replays the Bot API calls already made (`CallJournal`), so the person
  is not answered twice;
* the database goes away (a restart, a failover): the update is handed out again once it is back,
  not answered with an apology; meanwhile its calls are remembered in this process too;
* a handler fails on a bug: the errors router has told the person and logged it; the update's
  changes are rolled back (a savepoint, `DatabaseSessionMiddleware`) and it counts as handled;
* the commit itself fails (a deadlock, say): tried again after a pause, up to `MAX_ATTEMPTS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot import metrics
from bot.db.engine import unreachable
from bot.services import intake
from bot.services.intake import Claimed, Received
from bot.telegram_session import CallJournal, journal_calls, stop_journal

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0  # at the latest, look again this often (a missed NOTIFY, a held-back update)
RETRY_SECONDS = 1.0  # the first pause after a failed attempt; doubled each time
MAX_RETRY_SECONDS = 30.0
MAX_ATTEMPTS = 10  # of one update whose handling fails on something other than the database
DATABASE_PAUSE = 0.5  # between looks while the database is unreachable
PURGE_EVERY = 600.0
REMEMBERED_JOURNALS = 1000  # updates whose calls this process keeps while the database is away

# Called after an update's handling committed, with its id (the tests learn of it so).
HandledHook = Callable[[int], Awaitable[None]]


def received(update: dict[str, Any]) -> Received:
    """An update as Telegram sent it, for the intake: whose it is decides its order."""
    kind = next((key for key in update if key != "update_id"), "unknown")
    event = update.get(kind)
    person = 0
    if isinstance(event, dict):
        sender = event.get("from") or event.get("user") or event.get("voter_chat")
        chat = event.get("chat") or (event.get("message") or {}).get("chat")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            person = sender["id"]
        elif isinstance(chat, dict) and isinstance(chat.get("id"), int):
            person = chat["id"]
    return Received(int(update["update_id"]), person, kind[:40], orjson.dumps(update).decode())


class Handling:
    def __init__(
        self, dispatcher: Dispatcher, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession],
        concurrency: int, after_handled: tuple[HandledHook, ...] = (),
    ) -> None:
        self.dispatcher = dispatcher
        self.engine = engine
        self.autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.session_factory = session_factory
        self.concurrency = concurrency
        self.after_handled = after_handled
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task | None = None
        self._handling: set[asyncio.Task] = set()
        self._listener: AsyncConnection | None = None
        # The calls of updates whose handling failed here, for the next attempt, should the database
        # not have kept them (it was away).
        self._journals: OrderedDict[int, list[tuple[str, str]]] = OrderedDict()
        self._last_purge = 0.0

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self, bot: Bot) -> None:
        if self._loop_task is not None:
            return
        self._stopping = False
        await self._warm_up()
        self._loop_task = asyncio.create_task(self._run(bot), name="intake-handling")

    async def _warm_up(self) -> None:
        """Open the connections the handling will use before the first update, so that recording a
        call never waits for a new connection: the moment between Telegram carrying out a call and
        its record (when a kill makes the next attempt repeat the call) stays one round trip."""
        with contextlib.suppress(Exception):  # the database may be away at start; it is waited for later
            async with contextlib.AsyncExitStack() as opened:
                for _ in range(min(self.concurrency * 2 + 2, self.engine.pool.size())):  # type: ignore[attr-defined]
                    await opened.enter_async_context(self.engine.connect())

    def wake(self) -> None:
        """Something was stored: look now (the NOTIFY of another process does the same)."""
        self._wake.set()

    async def stop(self, grace: float) -> None:
        """Take nothing new; let what is being handled finish for `grace` seconds; then cancel the
        rest (their transactions roll back and the updates wait for the next process)."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        if self._handling:
            done, pending = await asyncio.wait(set(self._handling), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                where = " | ".join(_awaiting(task) for task in pending)
                log.warning("stopped with updates still being handled; they wait for the next start",
                            extra={"cancelled": len(pending), "where": where})
                await asyncio.wait(pending, timeout=5)
        await self._unlisten()

    @property
    def busy(self) -> int:
        return len(self._handling)

    # --- listening ------------------------------------------------------------------------------

    async def _listening(self) -> None:
        if self._listener is not None:
            driver = (await self._listener.get_raw_connection()).driver_connection
            if not driver.is_closed():
                return
            await self._unlisten()
        connection = await self.engine.connect()
        try:
            driver = (await connection.get_raw_connection()).driver_connection
            await driver.add_listener(intake.CHANNEL, self._notified)
        except BaseException:
            await connection.close()
            raise
        self._listener = connection

    async def _unlisten(self) -> None:
        if self._listener is None:
            return
        connection, self._listener = self._listener, None
        with contextlib.suppress(Exception):
            driver = (await connection.get_raw_connection()).driver_connection
            await driver.remove_listener(intake.CHANNEL, self._notified)
        with contextlib.suppress(Exception):
            await connection.close()

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    # --- the loop -------------------------------------------------------------------------------

    async def _run(self, bot: Bot) -> None:
        while not self._stopping:
            self._wake.clear()
            wait = IDLE_SECONDS
            try:
                await self._listening()
                await self._claim_while_room(bot)
                if len(self._handling) >= self.concurrency:
                    # Full: wait for a handling to end (then its person's next update may be due).
                    self._room.clear()
                    await self._room.wait()
                    continue
                await self._purge_now_and_then()
                async with self.autocommit.connect() as conn:
                    due = await intake.seconds_to_next(conn)
                if due is not None:
                    wait = min(wait, max(due, 0.05))
            except Exception as error:
                if not unreachable(error):
                    log.exception("the intake's handling loop failed; looking again shortly")
                else:
                    log.warning("the database is unreachable; the intake waits for it")
                wait = DATABASE_PAUSE
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _claim_while_room(self, bot: Bot) -> None:
        while len(self._handling) < self.concurrency and not self._stopping:
            session = self.session_factory()
            try:
                await session.begin()
                claimed = await intake.claim_next(session)
            except BaseException:
                await _close_quietly(session)
                raise
            if claimed is None:
                await _close_quietly(session)
                return
            task = asyncio.create_task(self._handle(bot, session, claimed), name=f"update-{claimed.update_id}")
            self._handling.add(task)
            task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task) -> None:
        self._handling.discard(task)
        self._room.set()
        self._wake.set()  # the person's next update may be due now

    async def _purge_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._last_purge < PURGE_EVERY:
            return
        self._last_purge = now
        async with self.autocommit.connect() as conn:
            await intake.purge(conn)

    # --- one update -----------------------------------------------------------------------------

    async def _handle(self, bot: Bot, session: AsyncSession, claimed: Claimed) -> None:
        journal = CallJournal(claimed.update_id, self._earlier_calls(claimed), self._record_call)
        started = time.perf_counter()
        kind = "unknown"
        try:
            try:
                update = Update.model_validate_json(claimed.payload, context={"bot": bot})
            except ValidationError:
                # Not an update Telegram sends: kept as handled (with the reason) rather than
                # retried for ever.
                log.error("a stored update could not be read; skipped", extra={"update_id": claimed.update_id})
                await intake.give_up(await session.connection(), claimed.update_id, "unreadable")
                await session.commit()
                return
            kind = update.event_type
            token = journal_calls(journal)
            try:
                await self.dispatcher.feed_update(bot, update, session=session)
            finally:
                stop_journal(token)
            if journal.calls:
                await intake.forget_calls(session, claimed.update_id)
            await session.commit()
        except asyncio.CancelledError:
            await _close_quietly(session)
            raise
        except Exception as error:
            await _close_quietly(session)
            await self._failed(claimed, journal, error)
            return
        finally:
            await _close_quietly(session)
        self._journals.pop(claimed.update_id, None)
        metrics.UPDATES_HANDLED.labels(kind).inc()
        metrics.HANDLING_SECONDS.labels(kind).observe(time.perf_counter() - started)
        for hook in self.after_handled:
            await hook(claimed.update_id)

    def _earlier_calls(self, claimed: Claimed) -> list[tuple[str, str]]:
        remembered = self._journals.get(claimed.update_id, [])
        stored = list(claimed.calls)
        return remembered if len(remembered) > len(stored) else stored

    async def _record_call(self, update_id: int, seq: int, method: str, answer: str) -> None:
        try:
            async with self.autocommit.connect() as conn:
                await intake.record_call(conn, update_id, seq, method, answer)
        except Exception as error:  # the journal in memory still has it, for this process
            if not unreachable(error):
                raise
            log.warning("could not record a call of an update", extra={"update_id": update_id})

    async def _failed(self, claimed: Claimed, journal: CallJournal, error: Exception) -> None:
        self._journals[claimed.update_id] = journal.calls
        self._journals.move_to_end(claimed.update_id)
        while len(self._journals) > REMEMBERED_JOURNALS:
            self._journals.popitem(last=False)
        lost_database = unreachable(error)
        metrics.HANDLING_RETRIED.labels("database" if lost_database else "error").inc()
        if lost_database:
            log.warning("an update's handling lost the database; it is handled again once it is back",
                        extra={"update_id": claimed.update_id})
        else:
            log.error("an update's handling could not be committed", exc_info=error,
                      extra={"update_id": claimed.update_id, "attempt": claimed.attempts + 1})
        # Counted only where the database answers: while it is away this fails too, and the update
        # simply waits as it was. An update that fails every time is given up after MAX_ATTEMPTS,
        # so its person's later updates are not held back for ever.
        with contextlib.suppress(Exception):
            async with self.autocommit.connect() as conn:
                if claimed.attempts + 1 >= MAX_ATTEMPTS:
                    await intake.give_up(conn, claimed.update_id, f"gave up: {type(error).__name__}")
                    log.error("gave up an update after repeated failures", extra={"update_id": claimed.update_id})
                else:
                    pause = DATABASE_PAUSE if lost_database else RETRY_SECONDS * 2 ** claimed.attempts
                    await intake.hold_back(conn, claimed.update_id, min(MAX_RETRY_SECONDS, pause))


def _awaiting(task: asyncio.Task) -> str:
    """Where a task waits, innermost last (its chain of awaits), for the log."""
    where = []
    awaited: Any = task.get_coro()
    while awaited is not None and len(where) < 30:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is not None:
            where.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return " > ".join(where)


async def _close_quietly(session: AsyncSession) -> None:
    with contextlib.suppress(Exception):
        await session.close()
