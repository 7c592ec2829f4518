"""Timers: something to do at a time, kept in PostgreSQL. Knows nothing of Telegram.

A service sets a timer in the transaction of the change that needs it (a ticket opened: remind its
region's operators if nobody takes it within T1) and cancels it when it is no longer needed (the
ticket was taken). The worker (`bot/jobs/outbox.py`) fires a due timer by calling the handler of its
kind in the transaction that marks it done, with the row locked (`FOR UPDATE SKIP LOCKED`): a timer
fires once, even with several bot processes, and a restart only delays it.

A handler takes the session and the timer's payload and does its work through services, usually
owing a message (`bot/services/outbox.py`), which then goes out once the firing commits.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Interval, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.driver import Statement
from bot.db.models import Timer
from bot.services import outbox

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]

_timers = Timer.__table__
# Times come from the database's clock, the one the claim compares them with.
_new = insert(_timers).values(
    kind=bindparam("what"), key=bindparam("for_key"), payload=bindparam("data"),
    due_at=func.now() + bindparam("after", type_=Interval),
)
# Setting a timer that is already pending moves it: one pending timer per kind and key.
_SET = _new.on_conflict_do_update(
    index_elements=[_timers.c.kind, _timers.c.key], index_where=_timers.c.done_at.is_(None),
    set_={"payload": _new.excluded.payload, "due_at": _new.excluded.due_at},
)
# Or leave a pending one where it is (a limit that counts from the first of several causes).
_SET_UNLESS_PENDING = _new.on_conflict_do_nothing(
    index_elements=[_timers.c.kind, _timers.c.key], index_where=_timers.c.done_at.is_(None)
)
# A timer set or moved wakes the workers, one of them maybe asleep until a later timer, in the same
# round trip (`outbox.WAKE`); one left pending as it was needs no look. On the transaction's own
# connection when it was handed down (`bot/db/driver.py`).
_SET_AND_WAKE = Statement(_SET.returning(outbox.WAKE))
_SET_UNLESS_PENDING_AND_WAKE = Statement(_SET_UNLESS_PENDING.returning(outbox.WAKE))
_CANCEL = delete(_timers).where(
    _timers.c.kind == bindparam("what"), _timers.c.key == bindparam("for_key"), _timers.c.done_at.is_(None)
).returning(_timers.c.id)
_CLAIM = text(
    """
    SELECT id, kind, key, payload FROM timers
    WHERE done_at IS NULL AND due_at <= now()
    ORDER BY due_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
    """
)
_DONE = update(_timers).where(_timers.c.id == bindparam("row")).values(done_at=func.now())
RETRY_AFTER_ERROR = timedelta(minutes=5)
RETRY_WHEN_BUSY = timedelta(seconds=2)
_RETRY_LATER = update(_timers).where(_timers.c.id == bindparam("row")).values(
    due_at=func.now() + bindparam("pause", type_=Interval), done_at=None
)
_CANCEL_ON_DRIVER = Statement(_CANCEL)  # on a request's path several times (`bot/db/driver.py`)


class Busy(Exception):
    """Raised by a handler whose object is locked by a transaction in progress (an operator taking
    the ticket, say): the timer fires again in a moment. A handler never waits for such a lock,
    because that transaction may be waiting to cancel this very timer, which the worker holds."""
_NEXT_DUE = select(func.extract("epoch", func.min(_timers.c.due_at) - func.clock_timestamp())).where(
    _timers.c.done_at.is_(None)
)


@dataclass(frozen=True, slots=True)
class DueTimer:
    id: int
    kind: str
    key: str
    payload: dict[str, Any]


async def _remind(session: AsyncSession, payload: dict[str, Any]) -> None:
    """`{"chat_id": …, "text": …}`: a text owed to someone at the timer's time."""
    await outbox.owe(session, payload["chat_id"], "text", {"text": payload["text"]})


# What each kind of timer does; services add theirs with `register` (tickets: T1, T2, T3).
HANDLERS: dict[str, Handler] = {"remind": _remind}


def register(kind: str, handler: Handler) -> None:
    if HANDLERS.get(kind, handler) is not handler:
        raise ValueError(f"timers of kind {kind!r} already have a handler")
    HANDLERS[kind] = handler


async def set_timer(
    session: AsyncSession, kind: str, key: str, after: timedelta, payload: dict[str, Any] | None = None,
    *, keep_pending: bool = False,
) -> None:
    """Fire `kind` for `key` after `after`, moving a pending timer of the same kind and key (or,
    with `keep_pending`, leaving it as it is)."""
    if kind not in HANDLERS:
        raise ValueError(f"no handler for timers of kind {kind!r}")
    statement = _SET_UNLESS_PENDING_AND_WAKE if keep_pending else _SET_AND_WAKE
    await statement.execute(session, {"what": kind, "for_key": key, "data": payload or {}, "after": after})


_PENDING = select(_timers.c.id).where(
    _timers.c.kind == bindparam("what"), _timers.c.key == bindparam("for_key"), _timers.c.done_at.is_(None)
)


async def is_pending(session: AsyncSession, kind: str, key: str) -> bool:
    return (await session.execute(_PENDING, {"what": kind, "for_key": key})).first() is not None


async def cancel_timer(session: AsyncSession, kind: str, key: str) -> bool:
    """True if a pending timer was cancelled."""
    return await _CANCEL_ON_DRIVER.fetchrow(session, {"what": kind, "for_key": key}) is not None


async def fire_one(session: AsyncSession) -> DueTimer | None:
    """Fire the most overdue timer in the session's transaction; None if none is due."""
    row = (await session.execute(_CLAIM)).mappings().first()
    if row is None:
        return None
    timer = DueTimer(row["id"], row["kind"], row["key"], row["payload"])
    # Done before its handler runs, so a handler that sets its own kind and key again (a job that
    # repeats) makes a new pending timer instead of moving this one, which would then be marked done.
    await session.execute(_DONE, {"row": timer.id})
    try:
        async with session.begin_nested():
            await HANDLERS[timer.kind](session, timer.payload)
    except Busy:
        await session.execute(_RETRY_LATER, {"row": timer.id, "pause": RETRY_WHEN_BUSY})
        return timer
    except Exception:
        # A handler's bug must neither lose the timer nor make it fire in a loop: try again later.
        log.exception("timer failed", extra={"timer_id": timer.id, "kind": timer.kind})
        await session.execute(_RETRY_LATER, {"row": timer.id, "pause": RETRY_AFTER_ERROR})
        return timer
    return timer


async def seconds_to_next(session: AsyncSession) -> float | None:
    """How long until the next timer is due (0 if one is due now); None if none is pending."""
    return await outbox.seconds_until(session, _NEXT_DUE)
