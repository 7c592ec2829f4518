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
  changes are rolled back (the transaction, which then claims the update again:
  `DatabaseSessionMiddleware`) and it counts as handled;
* the commit itself fails (a deadlock, say): tried again after a pause, up to `MAX_ATTEMPTS`;
* the handling kills its process every time (memory, say): given up after `MAX_STARTS` starts, so
  the person's later updates are not held back for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson
from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Update
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import metrics
from bot.db.engine import server_settings, unreachable
from bot.db.listener import Listener
from bot.middlewares.database import HandledElsewhere, UndoFailed
from bot.middlewares.user import ARRIVAL_READ, ArrivalRead
from bot.services import intake, users
from bot.services.intake import Claimed, Received
from bot.telegram.journal import CallJournal, journal_calls, stop_journal

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0  # at the latest, look again this often (a missed NOTIFY, a held-back update)
RETRY_SECONDS = 1.0  # the first pause after a failed attempt; doubled each time
MAX_RETRY_SECONDS = 30.0
MAX_ATTEMPTS = 10  # of one update whose handling fails on something other than the database
DATABASE_PAUSE = 0.5  # between looks while the database is unreachable
PURGE_EVERY = 600.0
MAX_STARTS = 3  # of one update whose handling never ended (its process died each time)
# An update claimed later than this after it arrived may have been started before (by a process
# that then died); its starts are counted. A fresh one, the usual case, costs no such write.
FRESH_SECONDS = 5.0
PARALLEL_CLAIMS = 4  # claims at once while they find updates
JOURNAL_CONNECTIONS = 4  # the calls are recorded on connections of their own (asyncpg, autocommit)
RECORD_AT_MOST = 5.0  # seconds to store a failed handling's calls before letting the update go
REMEMBERED_JOURNALS = 1000  # updates whose calls this process keeps while the database is away
# A handled update's recorded calls are deleted this long after its commit, together with those of
# the updates handled meanwhile: a statement for a batch rather than one in every such handling
# (a round trip of the update's own, ~0.4 of them an update in the closed-loop benchmark). They are
# never read again once the update is handled; should the process die first, the purge takes them.
FORGET_CALLS_AFTER = 1.0

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
        self._listener = Listener(engine, intake.CHANNEL, self._notified)
        # The calls of updates whose handling failed here, for the next attempt, should the database
        # not have kept them (it was away).
        self._journals: OrderedDict[int, list[tuple[str, str]]] = OrderedDict()
        self._last_purge = 0.0
        self._journal_pool: asyncpg.Pool | None = None
        self._journal_opening = asyncio.Lock()
        self._counted_starts: set[int] = set()  # updates being handled whose start was counted
        self._undoing: set[int] = set()  # updates whose failed handling is being undone and reclaimed
        self._held_back = True  # whether an update may wait with a `not_before` (looked at first)
        # When the claims next go on until one finds nothing (`_run`): at once at the start, after
        # a failure, and at least once a second.
        self._drain_at = 0.0
        self._claim_sql = intake.CLAIM_SQL
        self._fsm_key_template = ""
        self._forgettable: list[int] = []  # handled updates whose recorded calls are still stored
        self._forgetting: asyncio.Task | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self, bot: Bot) -> None:
        if self._loop_task is not None:
            return
        self._stopping = False
        self._claim_sql, self._fsm_key_template = self._claim_with_arrival(bot)
        await self._warm_up()
        self._loop_task = asyncio.create_task(self._run(bot), name="intake-handling")

    def _claim_with_arrival(self, bot: Bot) -> tuple[str, str]:
        """The claim, with the person's record and conversation state read in its round trip (what
        `ArrivalMiddleware` reads first in every update). Their FSM key is built in SQL from a
        template of the storage's own, for a private chat (the person's id as chat and user): in a
        group the key differs, and the middleware reads the arrival itself."""
        stand_in = -9_876_543_210_123
        built = self.dispatcher.fsm.storage.key_builder.build(StorageKey(bot_id=bot.id, chat_id=stand_in, user_id=stand_in))
        template = built.replace("%", "%%").replace(str(stand_in), "%s")
        arrival = users.arrival_joined("claimed.person_id", "format($1::text, claimed.person_id, claimed.person_id)")
        # (`person_arrival` is volatile: it reads with a snapshot taken after the claim's, and so
        # sees the commit of the person's previous update, which the claim waited for.)
        sql = (
            f"SELECT claimed.*, {intake.OTHERS_WAITING}, arrival.* FROM intake_claim() AS claimed"
            f" LEFT JOIN LATERAL {arrival} AS arrival ON true"
        )
        return sql, template

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
        await self._listener.close()
        if self._forgetting is not None:
            self._forgetting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._forgetting
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._forget_calls(), 5)
        if self._journal_pool is not None:
            pool, self._journal_pool = self._journal_pool, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.close(), 5)

    @property
    def busy(self) -> int:
        return len(self._handling)

    # --- being woken ----------------------------------------------------------------------------

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    # --- the loop -------------------------------------------------------------------------------

    async def _run(self, bot: Bot) -> None:
        while not self._stopping:
            self._wake.clear()
            wait = IDLE_SECONDS
            # Most looks claim as many updates as the claims see waiting unclaimed. At least once a
            # second one claims until a claim finds nothing: for updates no wake-up announced and
            # the count does not see (one whose claim was rolled back, by a killed process, a stop
            # or a failure, bears that claim's mark until it is claimed again: `OTHERS_WAITING`).
            drain = time.monotonic() >= self._drain_at
            if drain:
                self._drain_at = time.monotonic() + IDLE_SECONDS
            try:
                await self._listener.ensure()
                await self._purge_now_and_then()
                if await self._claim_while_room(bot, drain):
                    # Full: wait for a handling to end, then take the next.
                    self._room.clear()
                    await self._room.wait()
                    continue
                if self._held_back:
                    async with self.autocommit.connect() as conn:
                        due = await intake.seconds_to_next(conn)
                    self._held_back = due is not None
                    if due is not None:
                        wait = min(wait, max(due, 0.05))
            except Exception as error:
                if not unreachable(error):
                    log.exception("the intake's handling loop failed; looking again shortly")
                else:
                    log.warning("the database is unreachable; the intake waits for it")
                wait = DATABASE_PAUSE
                self._drain_at = 0.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _claim_while_room(self, bot: Bot, drain: bool) -> bool:
        """Take updates while there is room; returns whether it stopped for want of room (rather
        than of updates). Claims run side by side once they find updates (1, 2, 4… up to
        `PARALLEL_CLAIMS`): one at a time, a backlog went no faster than one claim's round trips
        allowed, well below what the handling can do. Unless `drain`, as many as the claims saw
        waiting: a single update costs one claim, not one more that finds nothing."""
        width = 1
        while not self._stopping:
            room = self.concurrency - len(self._handling)
            if room <= 0:
                return True
            outcomes = await asyncio.gather(
                *(self._claim_one(bot) for _ in range(min(width, room))), return_exceptions=True
            )
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
            if None in outcomes:
                return False
            seen_waiting = PARALLEL_CLAIMS if drain else max(outcomes)
            width = min(width * 2, PARALLEL_CLAIMS, seen_waiting)
            if width == 0:
                return False
        return False

    async def _claim_one(self, bot: Bot) -> int | None:
        """Claim an update and start handling it; returns None if there was none, otherwise how
        many of other people's updates its claim saw waiting."""
        session = self.session_factory()
        try:
            await session.begin()
            claimed = await intake.claim_next(session, self._claim_sql, self._fsm_key_template)
        except BaseException:
            await _close_quietly(session)
            raise
        if claimed is None or self._stopping:
            await _close_quietly(session)  # (a claim made as the stop began rolls back)
            return None
        if claimed.update_id in self._undoing:
            # Its failed handling is being undone here, and its reclaim waits for this claim's lock:
            # let it go to that, and look for the next.
            await _close_quietly(session)
            return 1
        task = asyncio.create_task(self._handle(bot, session, claimed), name=f"update-{claimed.update_id}")
        self._handling.add(task)
        task.add_done_callback(lambda done, more=claimed.more: self._ended(done, more))
        return claimed.others_waiting

    def _ended(self, task: asyncio.Task, more: bool) -> None:
        self._handling.discard(task)
        self._room.set()
        if more:
            self._wake.set()  # the person's next update is due now

    async def _purge_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._last_purge < PURGE_EVERY:
            return
        self._last_purge = now
        async with self.autocommit.connect() as conn:
            await intake.purge(conn)

    async def _journal(self) -> asyncpg.Pool:
        """The connections the calls are recorded on: asyncpg's own pool, as recording is on the
        path of every Bot API call (SQLAlchemy's checkout and execution layer cost more than the
        statement)."""
        async with self._journal_opening:  # the first calls of several handlings open one pool
            if self._journal_pool is None:
                url = self.engine.url.set(drivername="postgresql")
                self._journal_pool = await asyncpg.create_pool(
                    url.render_as_string(hide_password=False), min_size=1, max_size=JOURNAL_CONNECTIONS,
                    server_settings=server_settings(), reset=_nothing_to_reset,
                )
        return self._journal_pool

    # --- one update -----------------------------------------------------------------------------

    async def _handle(self, bot: Bot, session: AsyncSession, claimed: Claimed) -> None:
        journal = CallJournal(claimed.update_id, self._earlier_calls(claimed), self._record_call)
        started = time.perf_counter()
        kind = "unknown"
        try:
            reason = await self._reason_to_give_up(claimed)
            if reason is None:
                try:
                    update = Update.model_validate_json(claimed.payload, context={"bot": bot})
                except ValidationError:
                    reason = "unreadable"  # not an update Telegram sends
            if reason is not None:
                # Kept as handled, with the reason, rather than tried for ever.
                log.error("gave up a stored update", extra={"update_id": claimed.update_id, "reason": reason})
                await intake.give_up(session, claimed.update_id, reason)
                await session.commit()
                return
            kind = update.event_type
            token = journal_calls(journal)
            try:
                await self.dispatcher.feed_update(
                    bot, update, session=session, driver=claimed.driver, **{ARRIVAL_READ: self._arrival_read(claimed)},
                    restart=functools.partial(self._reclaim, journal=journal, update_id=claimed.update_id),
                )
            finally:
                stop_journal(token)
            await journal.settle()
            await session.commit()
            if claimed.calls or journal.recorded or claimed.update_id in self._counted_starts:
                # Its record holds what the bot said (and to whom): it goes soon.
                self._forget_calls_soon(claimed.update_id)
        except asyncio.CancelledError:
            await _record_before_letting_go(journal)
            raise  # (the session rolls back as it closes, below)
        except HandledElsewhere as elsewhere:
            # A handler failed, and as its work was undone another process claimed the update: it
            # is theirs now (they replay the calls made here, stored before the undo).
            log.error("an update's handling failed; another process claimed it as it was undone",
                      exc_info=elsewhere.__cause__, extra={"update_id": claimed.update_id})
            return
        except UndoFailed as undo:
            # The handler failed and its work could not be undone: tried again as a whole.
            log.error("an update's handling failed", exc_info=undo.__cause__, extra={"update_id": claimed.update_id})
            await _record_before_letting_go(journal)
            await _close_quietly(session)
            await self._failed(claimed, journal, undo.error)
            return
        except Exception as error:
            # The calls first: once rolled back, the update waits again for any process.
            await _record_before_letting_go(journal)
            await _close_quietly(session)
            await self._failed(claimed, journal, error)
            return
        finally:
            await _close_quietly(session)
            self._counted_starts.discard(claimed.update_id)
        self._journals.pop(claimed.update_id, None)
        metrics.UPDATES_HANDLED.labels(kind).inc()
        metrics.HANDLING_SECONDS.labels(kind).observe(time.perf_counter() - started)
        for hook in self.after_handled:
            await hook(claimed.update_id)

    def _forget_calls_soon(self, update_id: int) -> None:
        self._forgettable.append(update_id)
        if self._forgetting is None and not self._stopping:  # (a stop takes what is left itself)
            self._forgetting = asyncio.create_task(self._forget_calls_later(), name="intake-forget-calls")

    async def _forget_calls_later(self) -> None:
        # Until nothing is left: what is handled while a batch is deleted goes with the next one.
        try:
            while self._forgettable:
                await asyncio.sleep(FORGET_CALLS_AFTER)
                await self._forget_calls()
        finally:
            self._forgetting = None

    async def _forget_calls(self) -> None:
        update_ids, self._forgettable = self._forgettable, []
        if not update_ids:
            return
        try:
            await intake.forget_calls(await self._journal(), update_ids)
        except asyncio.CancelledError:
            self._forgettable[:0] = update_ids  # (a stop: it deletes them itself)
            raise
        except Exception as error:
            log.warning("could not delete the recorded calls of handled updates; the purge will",
                        exc_info=not unreachable(error), extra={"updates": len(update_ids)})

    def _arrival_read(self, claimed: Claimed) -> ArrivalRead | None:
        row = claimed.row
        if row is None or "telegram_id" not in row.keys():
            return None
        person = row["person_id"]
        return ArrivalRead(self._fsm_key_template % (person, person), users.arrival_from_row(row))

    async def _reason_to_give_up(self, claimed: Claimed) -> str | None:
        """Why not to handle the update at all: its handling was started `MAX_STARTS` times and
        never ended. Only an update that is not fresh may have been started before."""
        if claimed.waited < FRESH_SECONDS and not claimed.calls and not claimed.attempts:
            return None
        pool = await self._journal()
        starts = await intake.count_start(pool, claimed.update_id)
        self._counted_starts.add(claimed.update_id)
        # The first start of an update that was fresh then is not counted: `starts` undercounts by
        # at most one.
        if starts > MAX_STARTS:
            return f"its handling never ended, at least {MAX_STARTS} times"
        return None

    async def _reclaim(self, driver: Any, *, journal: CallJournal, update_id: int) -> bool:
        # The calls made so far are stored first: the rollback lets the update go, and another
        # process may claim it at once (and must replay them, not repeat them). A claim of this
        # process made in that moment lets it go again (`_claim_one`): the update is this
        # handling's to finish, and its person is told of the failure once.
        await journal.record_now()
        self._undoing.add(update_id)
        try:
            return await intake.reclaim(driver, update_id)
        finally:
            self._undoing.discard(update_id)

    def _earlier_calls(self, claimed: Claimed) -> list[tuple[str, str]]:
        remembered = self._journals.get(claimed.update_id, [])
        stored = list(claimed.calls)
        return remembered if len(remembered) > len(stored) else stored

    async def _record_call(self, update_id: int, seq: int, method: str, answer: str) -> None:
        # Telegram has carried the call out by now: whatever goes wrong here must not fail the
        # handling (it would be tried again and repeat the call). The journal in memory keeps it for
        # an attempt in this process.
        try:
            pool = await self._journal()
            await intake.record_call(pool, update_id, seq, method, answer)
        except Exception as error:
            log.warning("could not record a call of an update", exc_info=not unreachable(error),
                        extra={"update_id": update_id})

    async def _failed(self, claimed: Claimed, journal: CallJournal, error: Exception) -> None:
        if claimed.update_id in self._counted_starts:
            # This start ended (in a failure, told here), so it is not one of those never ended.
            with contextlib.suppress(Exception):
                await intake.uncount_start(await self._journal(), claimed.update_id)
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
        # Where the database answers: while it is away this fails too, and the update simply waits
        # as it was. An update that fails every time for another reason is given up after
        # MAX_ATTEMPTS, so its person's later updates are not held back for ever.
        with contextlib.suppress(Exception):
            async with self.autocommit.connect() as conn:
                if not lost_database and claimed.attempts + 1 >= MAX_ATTEMPTS:
                    await intake.give_up(conn, claimed.update_id, f"gave up: {type(error).__name__}")
                    log.error("gave up an update after repeated failures", extra={"update_id": claimed.update_id})
                else:
                    pause = DATABASE_PAUSE if lost_database else RETRY_SECONDS * 2 ** claimed.attempts
                    await intake.hold_back(conn, claimed.update_id, min(MAX_RETRY_SECONDS, pause), counted=not lost_database)
                    self._held_back = True
        self._drain_at = 0.0  # (its rolled-back claim left its mark on the row: not counted)
        self._wake.set()  # it (or its person's next) waits again: look soon


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


async def _record_before_letting_go(journal: CallJournal) -> None:
    """Store the calls of a handling that will not commit, bounded: a database that does not answer
    must not hold the update (this process remembers the calls meanwhile)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(journal.unsettle(), RECORD_AT_MOST)


async def _nothing_to_reset(_: asyncpg.Connection) -> None:
    """The journal's connections only ever run single autocommitted statements: nothing to undo
    when one goes back to its pool (asyncpg's default reset is a round trip each time)."""


async def _close_quietly(session: AsyncSession) -> None:
    with contextlib.suppress(Exception):
        await session.close()
