"""The worker beside polling: fires due timers (`bot/services/timers.py`) and sends what the
outbox (`bot/services/outbox.py`) says the bot owes.

It wakes on PostgreSQL's NOTIFY when a transaction that owes something or sets a timer commits, and
otherwise when the next timer or postponed message falls due (at the latest every `POLL_SECONDS`, should a notification be
missed). Each message is sent while its row is locked and marked sent in the same transaction, so
after a crash or a restart every pending message goes out, and once, as far as the bot can tell:
only a message in flight at the crash (sent, its transaction not yet committed) can go out again.

What Telegram answers decides what happens next:
* 429 Too Many Requests: tried again after the `retry_after` Telegram gives;
* network trouble or a 5xx: tried again later, waiting longer each time (up to `MAX_BACKOFF`);
* 403 (the person blocked the bot, or deleted their account): never sent, marked `blocked`;
* 400 (Telegram refuses the message itself): never sent, marked with Telegram's reason, logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.services import outbox, timers

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
MAX_BACKOFF = 300.0
LANES = 4
MAX_PER_LANE = 100  # then the round ends, to look again at what is due soonest

# How each kind of owed message is sent. Later capabilities add theirs (ticket cards, answers…).
Sender = Callable[[Bot, int, dict[str, Any]], Awaitable[Any]]


async def send_text(bot: Bot, chat_id: int, payload: dict[str, Any]) -> None:
    """`{"text": …}`: a text already in the recipient's language, in the bot's HTML."""
    await bot.send_message(chat_id, payload["text"])


SENDERS: dict[str, Sender] = {"text": send_text}


def backoff(attempts: int) -> float:
    return min(MAX_BACKOFF, 2.0 ** attempts)


class Worker:
    def __init__(
        self, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession],
        senders: dict[str, Sender] | None = None,
    ) -> None:
        self.engine = engine
        self.session_factory = session_factory
        self.senders = senders or SENDERS
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._listener: AsyncConnection | None = None

    async def start(self, bot: Bot) -> None:
        """Start delivering for `bot` (registered on the dispatcher's startup)."""
        self._listener = await self.engine.connect()
        driver = (await self._listener.get_raw_connection()).driver_connection
        await driver.add_listener(outbox.CHANNEL, self._notified)
        self._task = asyncio.create_task(self._run(bot), name="outbox delivery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._listener is not None:
            await self._listener.close()
            self._listener = None

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def _run(self, bot: Bot) -> None:
        while True:
            # Cleared before the round, not after: a notification that arrives during the round
            # must cut the next wait short, not be lost.
            self._wake.clear()
            try:
                # Timers first: what they owe goes out in the same round.
                fired = await self.fire_due()
                delivered = await self.deliver_due(bot)
                if fired or delivered:
                    continue  # there may be more: each chat's next message is due now
                async with self.session_factory() as session:
                    waits = [await outbox.seconds_to_next(session), await timers.seconds_to_next(session)]
                wait = min((w for w in waits if w is not None), default=None)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database went away for a moment, say: nothing is lost, try again shortly.
                log.exception("worker round failed")
                wait = POLL_SECONDS
            # A due row another process holds locked makes `wait` 0: a short pause, not a spin.
            wait = POLL_SECONDS if wait is None else min(POLL_SECONDS, max(wait, 0.1))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def fire_due(self) -> int:
        """Fire every due timer, each in a transaction of its own; returns how many fired."""
        fired = 0
        while fired < MAX_PER_LANE:
            async with self.session_factory() as session, session.begin():
                if await timers.fire_one(session) is None:
                    break
            fired += 1
        return fired

    async def deliver_due(self, bot: Bot) -> int:
        """Send everything due now; returns how many messages were handled.

        Each message is claimed, sent and marked in a transaction of its own, so a crash can repeat
        at most the message in flight in each lane. Several lanes send at once (the row locks keep
        them apart and each chat in order); Telegram allows about 30 messages a second in all."""
        handled = await asyncio.gather(*(self._lane(bot) for _ in range(LANES)))
        return sum(handled)

    async def _lane(self, bot: Bot) -> int:
        handled = 0
        while handled < MAX_PER_LANE:
            async with self.session_factory() as session, session.begin():
                due = await outbox.claim_due(session, 1)
                if not due:
                    return handled
                await self._deliver(bot, session, due[0])
            handled += 1
        return handled

    async def _deliver(self, bot: Bot, session: AsyncSession, owed: outbox.Owed) -> None:
        sender = self.senders.get(owed.kind)
        if sender is None:
            log.error("no sender for an owed message", extra={"kind": owed.kind, "outbox_id": owed.id})
            await outbox.mark_failed(session, owed, f"unknown kind {owed.kind!r}")
            return
        try:
            await sender(bot, owed.chat_id, owed.payload)
        except TelegramRetryAfter as error:
            await outbox.postpone(session, owed, error.retry_after)
        except (TelegramNetworkError, TelegramServerError):
            await outbox.postpone(session, owed, backoff(owed.attempts))
        except TelegramForbiddenError:
            await outbox.mark_failed(session, owed, "blocked")
        except TelegramBadRequest as error:
            log.error("Telegram refused an owed message", extra={"outbox_id": owed.id, "reason": error.message})
            await outbox.mark_failed(session, owed, error.message)
        else:
            await outbox.mark_sent(session, owed)
