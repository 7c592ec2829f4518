"""The worker beside polling: fires due timers (`bot/services/timers.py`) and sends what the
outbox (`bot/services/outbox.py`) says the bot owes.

It wakes on PostgreSQL's NOTIFY when a transaction that owes something or sets a timer commits, and
otherwise when the next timer or postponed message falls due (at the latest every `POLL_SECONDS`, should a notification be
missed). Each message is sent while its row is locked and marked sent in the same transaction, so
after a crash or a restart every pending message goes out, and once, as far as the bot can tell:
only a message in flight at the crash (sent, its transaction not yet committed) can go out again.

What Telegram answers decides what happens next:
* 429 Too Many Requests: tried again after the `retry_after` Telegram gives;
* no answer because the connection broke or timed out after the request went out: Telegram may
  have delivered it, so a message is not sent again (marked `unconfirmed`, and `on_unconfirmed`
  lets its author know); kinds that are safe to repeat (`repeatable`: edits) are tried again;
* a connection that could not be made, or a 5xx: tried again later, waiting longer each time (up to
  `MAX_BACKOFF`);
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
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db.driver import begin_on_driver
from bot.db.listener import Listener
from bot.services import outbox, timers
from bot.telegram.session import delivery_unknown

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
MAX_BACKOFF = 300.0
MAX_ATTEMPTS = 18  # of a message whose sending raises something unexpected: 1+2+…+256+300×9 s
LANES = 4
MAX_PER_LANE = 100  # then the round ends, to look again at what is due soonest
LOCKED_ELSEWHERE_PAUSE = 0.5
STOP_GRACE_SECONDS = 5.0

# How each kind of owed message is sent (`bot/jobs/deliveries.py`): called with the row locked, in
# the transaction that marks it sent, so what a sender writes (a link to a ticket) commits with it.
Sender = Callable[[Bot, AsyncSession, int, dict[str, Any]], Awaitable[Any]]
# Told who blocked the bot, in the same transaction.
BlockedHook = Callable[[AsyncSession, int], Awaitable[None]]
# Told of a message that may or may not have been delivered and is not sent again: (kind, chat, payload).
UnconfirmedHook = Callable[[AsyncSession, str, int, dict[str, Any]], Awaitable[None]]
UNCONFIRMED = "unconfirmed"  # the `failed` reason of such a message


def backoff(attempts: int) -> float:
    return min(MAX_BACKOFF, 2.0 ** attempts)


class Worker:
    def __init__(
        self, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession],
        senders: dict[str, Sender], on_blocked: BlockedHook | None = None,
        on_unconfirmed: UnconfirmedHook | None = None, repeatable: frozenset[str] = frozenset(),
    ) -> None:
        self.engine = engine
        self.session_factory = session_factory
        self.senders = senders
        self.on_blocked = on_blocked
        self.on_unconfirmed = on_unconfirmed
        self.repeatable = repeatable
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None
        self._listener = Listener(engine, outbox.CHANNEL, self._notified)

    async def start(self, bot: Bot) -> None:
        """Start working for `bot` (registered on the dispatcher's startup)."""
        if self._task is not None:
            return
        self._stopping = False
        await self._listener.ensure()
        self._task = asyncio.create_task(self._run(bot), name="worker")

    async def stop(self) -> None:
        """Let the message in flight finish and be marked (a cancelled send would go out again
        after the restart), then stop; cancel only what is still hanging after a few seconds."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE_SECONDS)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        await self._listener.close()

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def _run(self, bot: Bot) -> None:
        while not self._stopping:
            # Cleared before the round, not after: a notification that arrives during the round
            # must cut the next wait short, not be lost.
            self._wake.clear()
            try:
                await self._listener.ensure()
                # Timers first: what they owe goes out in the same round.
                fired = await self.fire_due()
                delivered = await self.deliver_due(bot)
                if fired or delivered:
                    continue  # there may be more: each chat's next message is due now
                async with self.session_factory() as session:
                    waits = [await outbox.seconds_to_next(session), await timers.seconds_to_next(session)]
                wait = min((w for w in waits if w is not None), default=None)
            except Exception:
                # The database went away for a moment, say: nothing is lost, try again shortly.
                log.exception("worker round failed")
                wait = POLL_SECONDS
            # Due now yet not handed out means another process holds it while sending: a pause,
            # not a spin.
            wait = POLL_SECONDS if wait is None else min(POLL_SECONDS, max(wait, LOCKED_ELSEWHERE_PAUSE))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def fire_due(self) -> int:
        """Fire every due timer, each in a transaction of its own; returns how many fired."""
        fired = 0
        while fired < MAX_PER_LANE and not self._stopping:
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
        async with asyncio.TaskGroup() as lanes:  # one lane failing stops the others, none is left behind
            handled = [lanes.create_task(self._lane(bot)) for _ in range(LANES)]
        return sum(task.result() for task in handled)

    async def _lane(self, bot: Bot) -> int:
        handled = 0
        while handled < MAX_PER_LANE and not self._stopping:
            async with self.session_factory() as session, session.begin():
                # What a delivery reads and writes runs on the asyncpg connection itself where it can
                # (`bot/db/driver.py`): a request's path sends ~20 messages, each reading the request.
                await begin_on_driver(session)
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
            await sender(bot, session, owed.chat_id, owed.payload)
        except TelegramRetryAfter as error:
            await outbox.postpone(session, owed, error.retry_after)
        except TelegramNetworkError as error:
            if owed.kind in self.repeatable or not delivery_unknown(error):
                await outbox.postpone(session, owed, backoff(owed.attempts))
            else:
                # Sent again, it might arrive twice (an answer twice, a card twice); not sent again,
                # it might be lost: its author is told, and decides.
                log.warning("an owed message's delivery is unknown; not sent again", extra={"outbox_id": owed.id, "kind": owed.kind})
                await outbox.mark_failed(session, owed, UNCONFIRMED)
                if self.on_unconfirmed is not None:
                    await self.on_unconfirmed(session, owed.kind, owed.chat_id, owed.payload)
        except TelegramServerError:
            await outbox.postpone(session, owed, backoff(owed.attempts))
        except TelegramForbiddenError:
            await outbox.mark_failed(session, owed, "blocked")
            if self.on_blocked is not None:
                await self.on_blocked(session, owed.chat_id)
        except TelegramBadRequest as error:
            log.error("Telegram refused an owed message", extra={"outbox_id": owed.id, "reason": error.message})
            await outbox.mark_failed(session, owed, error.message)
        except Exception:
            # Anything else (another Telegram error, an answer that is not JSON, a sender's bug)
            # must neither block the chat's queue in a loop nor lose the message: later, with a
            # growing pause, and in the log; after MAX_ATTEMPTS (about an hour) it is given up, so
            # the chat's later messages go out.
            log.exception("an owed message could not be sent", extra={"outbox_id": owed.id, "kind": owed.kind})
            if owed.attempts + 1 >= MAX_ATTEMPTS:
                await outbox.mark_failed(session, owed, "gave up after repeated errors")
            else:
                await outbox.postpone(session, owed, backoff(owed.attempts))
        else:
            await outbox.mark_sent(session, owed)
