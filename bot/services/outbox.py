"""Messages the bot owes people, kept in PostgreSQL until they are delivered. Knows nothing of
Telegram: a service writes what is owed (a kind and its data) in the transaction of the change that
causes it; the worker (`bot/jobs/outbox.py`) sends it once that transaction has committed.

Rows of one chat go out in the order they were written: only the oldest pending row of a chat is
ever handed out, and it is locked while it is being sent (`FOR UPDATE SKIP LOCKED`), so several bot
processes can deliver at once without sending anything twice or out of order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Executable, Interval, bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.driver import Statement
from bot.db.models import OutboxMessage

# NOTIFY on this channel wakes the workers; PostgreSQL sends it only at commit.
CHANNEL = "outbox"

_outbox = OutboxMessage.__table__
# The workers' wake-up, as a column a row's RETURNING can carry: in the round trip that writes the
# row (PostgreSQL sends one NOTIFY of a channel and payload per transaction, however many ask).
WAKE = func.pg_notify(CHANNEL, "").label("woken")
_NOTIFY = select(WAKE)
# A request's path owes ~20 messages.
_OWE = (
    insert(_outbox).values(chat_id=bindparam("to"), kind=bindparam("what"), payload=bindparam("data"))
    .returning(_outbox.c.id, WAKE)
)
_CLAIM = text(
    """
    SELECT id, chat_id, kind, payload, attempts FROM outbox AS o
    WHERE sent_at IS NULL AND failed IS NULL AND not_before <= now()
      AND NOT EXISTS (
          SELECT 1 FROM outbox AS earlier
          WHERE earlier.chat_id = o.chat_id AND earlier.id < o.id
            AND earlier.sent_at IS NULL AND earlier.failed IS NULL)
    ORDER BY id
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
    """
)
_SENT = update(_outbox).where(_outbox.c.id == bindparam("row")).values(sent_at=func.now())
_FAILED = update(_outbox).where(_outbox.c.id == bindparam("row")).values(failed=bindparam("reason"))
# Times come from the database's clock, the one the claim compares them with.
_POSTPONE = (
    update(_outbox).where(_outbox.c.id == bindparam("row"))
    .values(not_before=func.now() + bindparam("delay", type_=Interval), attempts=_outbox.c.attempts + 1)
)
# Only the oldest pending message of each chat can be sent next: one postponed by a 429 holds back
# its chat's later ones, which must not make the worker think something is due now.
# (The head of each chat in one pass over the pending index: an anti-join compared every pending
# message of a chat with every other, which took milliseconds with a thousand queued for a few chats.)
_NEXT_DUE = text(
    """
    SELECT EXTRACT(EPOCH FROM min(not_before) - clock_timestamp()) FROM (
        SELECT DISTINCT ON (chat_id) not_before FROM outbox
        WHERE sent_at IS NULL AND failed IS NULL
        ORDER BY chat_id, id
    ) AS heads
    """
)


# On the path of every message owed and sent: on the transaction's own asyncpg connection when it
# was handed down (an update's, a delivery's; `bot/db/driver.py`), through the session otherwise.
_OWE_ON_DRIVER = Statement(_OWE)
_CLAIM_ON_DRIVER = Statement(_CLAIM)
_SENT_ON_DRIVER = Statement(_SENT)


@dataclass(frozen=True, slots=True)
class Owed:
    id: int
    chat_id: int
    kind: str
    payload: dict[str, Any]
    attempts: int


async def owe(session: AsyncSession, chat_id: int, kind: str, payload: dict[str, Any]) -> int:
    """Record a message for `chat_id`; it is sent after the session's transaction commits."""
    return await _OWE_ON_DRIVER.scalar(session, {"to": chat_id, "what": kind, "data": payload})


async def claim_due(session: AsyncSession, batch: int = 1) -> list[Owed]:
    """The oldest due message of each chat, locked until the session's transaction ends."""
    rows = await _CLAIM_ON_DRIVER.fetch(session, {"batch": batch})
    return [Owed(r["id"], r["chat_id"], r["kind"], r["payload"], r["attempts"]) for r in rows]


async def mark_sent(session: AsyncSession, owed: Owed) -> None:
    await _SENT_ON_DRIVER.execute(session, {"row": owed.id})


async def mark_failed(session: AsyncSession, owed: Owed, reason: str) -> None:
    """Never to be sent: the person blocked the bot, or Telegram refuses the message as it is."""
    await session.execute(_FAILED, {"row": owed.id, "reason": reason[:500]})


async def postpone(session: AsyncSession, owed: Owed, seconds: float) -> None:
    await session.execute(_POSTPONE, {"row": owed.id, "delay": timedelta(seconds=seconds)})


async def seconds_to_next(session: AsyncSession) -> float | None:
    """How long until the next pending message is due (0 if one is due now); None if none is pending."""
    return await seconds_until(session, _NEXT_DUE)


async def seconds_until(session: AsyncSession, next_due: Executable) -> float | None:
    """The seconds `next_due` selects, measured by the database's clock (0 if past); None if none."""
    seconds = (await session.execute(next_due)).scalar_one_or_none()
    return None if seconds is None else max(0.0, float(seconds))


async def wake_workers(session: AsyncSession) -> None:
    """Have the workers look again once this transaction commits (NOTIFY is sent at commit)."""
    await session.execute(_NOTIFY)
