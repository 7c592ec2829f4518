"""Sends coordinators' announcements (`bot/services/announcements/`) in the background, at a
steady rate under Telegram's limit of about 30 messages a second, and keeps the coordinator's
progress message up to date.

One process at a time sends announcements: it holds a PostgreSQL advisory lock while it does, so
with several bot processes the rate is still the rate, and announcements go out one after another.
The recipients are written as the sending starts (not in the coordinator's Send press); each batch
of them is marked `sending` and committed before anything is sent, and recorded after; a restart
resumes with whoever is still `pending`.

An announcement reaches each person at most once. Telegram's answers:
* 429: everyone waits `retry_after` (the limit is the bot's, not the chat's); the person is tried
  again;
* 403: the person blocked the bot; counted, and marked unreachable so later announcements skip them;
* 400: Telegram refuses this message to this chat; counted as not delivered;
* no answer, because the connection broke or timed out after the request went out (or anything
  unexpected happened around the call): Telegram may have delivered it, so it is never sent again;
  recorded `unconfirmed`, counted as not delivered;
* a connection that could not be made, or a 5xx (Telegram says it failed): tried again later,
  given up after a few attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.utils.i18n import I18n
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import metrics
from bot.services import announcements
from bot.services.announcements import Announcement, Outcome, Recipient, State
from bot.services.directory import Directory
from bot.telegram.send_budget import announcing
from bot.telegram.session import delivery_unknown
from bot.views import announcements as texts

log = logging.getLogger(__name__)

# Any number unique to this lock among the application's advisory locks.
LOCK_KEY = 0x616E6E6F  # "anno"
IDLE_SECONDS = 1.0  # how often an idle process looks for a running announcement
PROGRESS_SECONDS = 3.0  # how often the progress message is edited
FINAL_EDIT_ATTEMPTS = 3
MAX_FINAL_EDIT_WAIT = 30.0
IN_FLIGHT = 16  # sends awaiting Telegram's answer at once (its answer takes ~50-300 ms)


class Pacer:
    """Hands out send slots evenly, `rate` a second, never in bursts; `hold` stops them all for a
    while (Telegram's `retry_after`)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = time.monotonic()

    async def slot(self, stopping: asyncio.Event | None = None) -> None:
        """Wait for the next slot; at once when `stopping` is set (a 429's `retry_after` can be
        longer than a stop waits, and a claimed recipient left unsent would be lost)."""
        now = time.monotonic()
        # After a pause, start again from now instead of catching up with a burst.
        self._next = max(self._next, now)
        wait = self._next - now
        self._next += self.interval
        if wait <= 0:
            return
        if stopping is None:
            await asyncio.sleep(wait)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), wait)

    def hold(self, seconds: float) -> None:
        self._next = max(self._next, time.monotonic() + seconds)


class RateMeter:
    """Messages a second over the last few seconds, for the progress message."""

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self._times: deque[float] = deque()

    def tick(self, count: int = 1) -> None:
        now = time.monotonic()
        self._times.extend([now] * count)

    def rate(self) -> float | None:
        now = time.monotonic()
        while self._times and self._times[0] < now - self.window:
            self._times.popleft()
        if len(self._times) < 2:
            return None
        span = max(now - self._times[0], 1.0)
        return len(self._times) / span


class Announcer:
    def __init__(
        self, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], i18n: I18n,
        directory: Directory, rate: float,
    ) -> None:
        self.engine = engine
        self.session_factory = session_factory
        self.i18n = i18n
        self.directory = directory
        self.rate = rate
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self, bot: Bot) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(bot), name="announcer")

    async def stop(self) -> None:
        """Let the sends in flight finish and be recorded, so a restart sends nobody twice."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 10)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None

    async def _run(self, bot: Bot) -> None:
        while not self._stopping.is_set():
            try:
                await self._round(bot)
            except Exception:
                log.exception("announcements round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), IDLE_SECONDS)

    async def _round(self, bot: Bot) -> None:
        async with self.session_factory() as session:
            if await announcements.next_running(session) is None:
                return  # the common case costs this one query
        async with self.engine.connect() as lock:
            await lock.execution_options(isolation_level="AUTOCOMMIT")
            if not await lock.scalar(select(func.pg_try_advisory_lock(LOCK_KEY))):
                return  # another process is sending
            try:
                async with self.session_factory() as session, session.begin():
                    lost = await announcements.recover(session)
                if lost:
                    log.warning("announcement sends of a stopped process left unconfirmed", extra={"count": lost})
                while not self._stopping.is_set():
                    async with self.session_factory() as session:
                        current = await announcements.next_running(session)
                    if current is None:
                        return
                    await self._deliver(bot, current)
            finally:
                await lock.scalar(select(func.pg_advisory_unlock(LOCK_KEY)))

    async def _deliver(self, bot: Bot, announcement: Announcement) -> None:
        """Send `announcement` until it is done, paused or cancelled, or the process stops."""
        pacer, meter = Pacer(self.rate), RateMeter()
        async with self.session_factory() as session, session.begin():
            written_now = await announcements.write_recipients(session, announcement.id)
        # The total may have changed since the press (someone left): then shown after the first batch.
        shown_at = 0.0 if written_now else time.monotonic()
        batch_size = max(1, round(self.rate))  # about a second of sending: a pause acts within it
        while True:
            async with self.session_factory() as session, session.begin():
                current = await announcements.get(session, announcement.id)
                if current is None or current.state is not State.RUNNING or self._stopping.is_set():
                    break
                batch = await announcements.claim(session, announcement.id, batch_size)
                if not batch:
                    current = await announcements.finish(session, announcement.id) or current
                    break
            outcomes = await self._send_batch(bot, current, batch, pacer)
            async with self.session_factory() as session, session.begin():
                await announcements.record(session, announcement.id, outcomes)
            meter.tick(sum(1 for outcome, _ in outcomes.values() if outcome is not Outcome.RETRY))
            if time.monotonic() - shown_at >= PROGRESS_SECONDS:
                shown_at = time.monotonic()
                await self._show(bot, announcement.id, meter)
        await self._show(bot, announcement.id, meter, final=True)

    async def _send_batch(
        self, bot: Bot, announcement: Announcement, batch: list[Recipient], pacer: Pacer
    ) -> dict[int, tuple[Outcome, bool]]:
        outcomes: dict[int, tuple[Outcome, bool]] = {}
        in_flight = asyncio.Semaphore(IN_FLIGHT)

        async def send(recipient: Recipient) -> None:
            # People's answers first: the send budget gives an announcement only the places they
            # leave (`bot/telegram/send_budget.py`). (This task's own context.)
            announcing.set(True)
            try:
                outcomes[recipient.telegram_id] = await self._send_one(bot, announcement, recipient, pacer)
            finally:
                in_flight.release()

        async with asyncio.TaskGroup() as group:
            for recipient in batch:
                if not self._stopping.is_set():
                    await pacer.slot(self._stopping)
                if self._stopping.is_set():
                    outcomes[recipient.telegram_id] = (Outcome.RETRY, False)  # back to pending
                    continue
                await in_flight.acquire()
                group.create_task(send(recipient))
        return outcomes

    async def _send_one(
        self, bot: Bot, announcement: Announcement, recipient: Recipient, pacer: Pacer
    ) -> tuple[Outcome, bool]:
        version = announcements.version_for(announcement.versions, recipient.language)
        try:
            if version.photo:
                await bot.send_photo(recipient.telegram_id, version.photo, caption=version.html or None)
            else:
                await bot.send_message(recipient.telegram_id, version.html)
        except TelegramRetryAfter as error:
            pacer.hold(error.retry_after)
            return Outcome.RETRY, False
        except TelegramForbiddenError:
            return Outcome.BLOCKED, True
        except TelegramBadRequest as error:
            log.warning("Telegram refused an announcement", extra={"announcement": announcement.id, "reason": error.message})
            return Outcome.FAILED, True
        except TelegramNetworkError as error:
            if delivery_unknown(error):
                log.warning("an announcement's delivery is unknown; not sent again", extra={"announcement": announcement.id})
                return Outcome.UNCONFIRMED, True
        except TelegramServerError:
            pass
        except Exception:
            # After the request went out or before: which, nobody can tell here, and a second
            # copy is the one thing an announcement must never be.
            log.exception("an announcement could not be sent", extra={"announcement": announcement.id})
            return Outcome.UNCONFIRMED, True
        else:
            metrics.ANNOUNCEMENT_SENT.inc()
            return Outcome.SENT, True
        # No connection, or Telegram's 5xx: not delivered; later, a few times.
        if recipient.attempts + 1 >= announcements.MAX_NETWORK_ATTEMPTS:
            return Outcome.FAILED, True
        return Outcome.RETRY, True

    async def _show(self, bot: Bot, announcement_id: int, meter: RateMeter, *, final: bool = False) -> None:
        """Edit the progress message to the announcement as it stands now. The last edit (done,
        paused, cancelled) waits out Telegram's flood control, a few times: a message left saying
        "sending" with its buttons would mislead the coordinator."""
        for _attempt in range(FINAL_EDIT_ATTEMPTS if final else 1):
            retry_after = await self._edit_progress(bot, announcement_id, meter)
            if retry_after is None or self._stopping.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), min(retry_after, MAX_FINAL_EDIT_WAIT))

    async def _edit_progress(self, bot: Bot, announcement_id: int, meter: RateMeter) -> float | None:
        """One edit; Telegram's retry_after if it refused it for flood control, else None."""
        async with self.session_factory() as session:
            current = await announcements.get(session, announcement_id)
        if current is None or current.progress_message_id is None or current.progress_chat_id is None:
            return None
        with self.i18n.context(), self.i18n.use_locale(current.language):
            text = texts.progress_text(current, self.directory, meter.rate(), self.rate)
            keyboard = texts.progress_keyboard(current)
        digest = announcements.progress_digest(text, keyboard)
        async with self.session_factory() as session, session.begin():
            if not await announcements.claim_progress_edit(session, announcement_id, digest):
                return None  # it says so already (this process's last edit, another's, a button's)
        try:
            await bot.edit_message_text(
                text, chat_id=current.progress_chat_id, message_id=current.progress_message_id, reply_markup=keyboard
            )
            return None
        except TelegramRetryAfter as error:
            log.info("progress not shown: flood control", extra={"retry_after": error.retry_after})
            retry_after: float | None = float(error.retry_after)
        except TelegramBadRequest as error:
            if "not modified" in error.message:
                return None  # it says so already
            log.warning("progress not shown", extra={"announcement": announcement_id, "reason": error.message})
            retry_after = None
        except (TelegramForbiddenError, TelegramNetworkError, TelegramServerError):
            log.warning("progress not shown", extra={"announcement": announcement_id})
            retry_after = None
        async with self.session_factory() as session, session.begin():
            await announcements.forget_progress_shown(session, announcement_id, digest)
        return retry_after
