"""Abuse is contained, and nobody is silenced by mistake. Knows nothing of Telegram.

Flood control. What a citizen sends to an operator (a message added to their open request, or the
first message of a new one) is admitted only if, counting the stored messages of their recent
requests:
- fewer than `per_minute` of their messages were stored in the last minute (the limit's message
  says when they can write again: when the oldest of those leaves the minute); and
- the same text (letter case and spaces aside) was not stored `repeats - 1` times already within
  `repeat_window` with no operator's message since. Two identical messages are common (a double
  tap, a "hello?" while waiting); a third adds nothing for the operator, who has the words. An
  operator's message in between resets it, so "yes" to each of the operator's questions passes.
A refused message is not stored, so the operators receive at most the limit; what was admitted
before stays stored and is delivered. The person is told once per window (`users.slowed_until`,
`users.repeat_told_until`), so a flood gets one answer, not one per message.

The count is one statement over what PostgreSQL holds, so it is the same whichever bot process
handles the message; it runs only when a person writes to an operator (never for the knowledge
base's questions), inside the update's transaction, and reads at most `scan` of the newest
messages of the person's open request and of those closed within the window
(`ix_tickets_citizen`, `ix_ticket_messages_ticket`). It takes no lock: one person's updates are
handled one at a time, commit included (the event isolation in `bot/app.py`; across replicas, the
isolation they share), so each count sees the message admitted before it. Were two handled at once,
the limit could be passed by one message per concurrent update, never more. (A row lock here would
have put the person's `users` row before their ticket's, the reverse of a 403's order.)

Blocks. A coordinator blocks the author of request №N with a reason: the front-offices receive
nothing more from them (no message is stored into a request, no new request opens) until a
coordinator unblocks them. A national coordinator may block the author of any request; a
regional one only of a request of their own office. The person's open request is closed with the
reason (its operator is told); the person is told once, in their language, through the outbox.
Both are recorded in the audit log by the request's number (the reason stays out of it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, bindparam, delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.db.driver import Statement
from bot.db.models import Block as BlockRow
from bot.db.models import Operator as OperatorRow
from bot.services import access, outbox, personal_data, tickets
from bot.services.access import Act, Denied, Scope
from bot.services.personal_data import Action
from bot.services.staff import Operator
from bot.services.tickets import Content, Ticket

MINUTE = timedelta(minutes=1)
MAX_REASON_LENGTH = 300
BLOCK_NOTICE = "block_notice"  # the outbox kind that tells a person they were blocked or unblocked


# --- flood control -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FloodLimits:
    per_minute: int
    repeats: int
    repeat_window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> FloodLimits:
        return cls(
            settings.flood_messages_per_minute, settings.flood_repeats,
            timedelta(minutes=settings.flood_repeat_minutes),
        )

    @property
    def window(self) -> timedelta:
        return max(MINUTE, self.repeat_window)

    @property
    def scan(self) -> int:
        """Messages read at most: the minute's limit, with room for the operator's answers between."""
        return 2 * self.per_minute + 20


class Verdict(StrEnum):
    PASSED = "passed"
    BLOCKED = "blocked"
    TOO_FAST = "too_fast"  # over the minute's limit
    REPEATED = "repeated"  # the same text again


@dataclass(frozen=True, slots=True)
class Admission:
    verdict: Verdict
    tell: bool = False  # a refusal the person has not been told about in this window yet
    wait: timedelta = timedelta(0)  # until they may send (this) again

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASSED


# Every message of a citizen to an operator is admitted first.
_ADMISSION = Statement(text(
    """
    SELECT coalesce(u.slowed_until > now(), false) AS slowed,
           coalesce(u.repeat_told_until > now(), false) AS repeat_told,
           EXISTS (SELECT 1 FROM blocks b WHERE b.telegram_id = u.telegram_id) AS blocked,
           (SELECT coalesce(jsonb_agg(jsonb_build_array(r.author, r.kind, r.text, r.age) ORDER BY r.id DESC), '[]'::jsonb)
            FROM (SELECT m.id, m.author, m.kind, m.text, EXTRACT(EPOCH FROM now() - m.created_at)::float8 AS age
                  FROM tickets t
                  -- The newest of each request only, read backwards along its index: a long
                  -- conversation costs no more than a short one.
                  CROSS JOIN LATERAL (
                      SELECT * FROM ticket_messages
                      WHERE ticket_messages.ticket_id = t.id
                      ORDER BY ticket_messages.id DESC
                      LIMIT :scan) AS m
                  WHERE t.citizen_id = u.telegram_id
                    AND (t.status <> 'closed' OR t.closed_at > now() - CAST(:window AS interval))
                    AND m.created_at > now() - CAST(:window AS interval)
                  ORDER BY m.id DESC
                  LIMIT :scan) AS r) AS recent
    FROM users u
    WHERE u.telegram_id = :person
    """
).bindparams(bindparam("person", type_=BigInteger)))
_SLOWED = text("UPDATE users SET slowed_until = now() + CAST(:wait AS interval) WHERE telegram_id = :person")
_REPEAT_TOLD = text("UPDATE users SET repeat_told_until = now() + CAST(:wait AS interval) WHERE telegram_id = :person")


def _same_words(words: str | None) -> str | None:
    return " ".join(words.split()).casefold() if words else None


async def admit(session: AsyncSession, limits: FloodLimits, citizen_id: int, content: Content) -> Admission:
    """May this message of the citizen go to an operator now? Call before storing it, in the
    update's transaction; a refusal it tells about is remembered, so the next one in the same
    window is not told again."""
    params = {"person": citizen_id, "window": limits.window, "scan": limits.scan}
    row = await _ADMISSION.fetchrow(session, params)
    if row is None:  # no record: not a citizen who consented, nothing to count
        return Admission(Verdict.PASSED)
    if row["blocked"]:
        return Admission(Verdict.BLOCKED, tell=True)
    recent: list[tuple[str, str, str | None, float]] = [tuple(item) for item in row["recent"]]

    in_minute = [age for author, _, _, age in recent if author == "citizen" and age < MINUTE.total_seconds()]
    if len(in_minute) >= limits.per_minute:
        # They may write again when the oldest of the last `per_minute` leaves the minute.
        wait = MINUTE - timedelta(seconds=in_minute[limits.per_minute - 1])
        tell = not row["slowed"]
        if tell:
            await session.execute(_SLOWED, {"person": citizen_id, "wait": wait})
        return Admission(Verdict.TOO_FAST, tell, wait)

    words = _same_words(content.text) if content.kind == "text" else None
    if words is not None:
        same_ages = []
        for author, kind, said, age in recent:
            if author == "operator":
                break
            if author == "citizen" and kind == "text" and age < limits.repeat_window.total_seconds() and _same_words(said) == words:
                same_ages.append(age)
        if len(same_ages) >= limits.repeats - 1:
            wait = limits.repeat_window - timedelta(seconds=same_ages[limits.repeats - 2])
            tell = not row["repeat_told"]
            if tell:
                await session.execute(_REPEAT_TOLD, {"person": citizen_id, "wait": wait})
            return Admission(Verdict.REPEATED, tell, wait)
    return Admission(Verdict.PASSED)


# --- blocks --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Block:
    telegram_id: int
    reason: str | None  # None once the person erased their data (/forget)
    blocked_by: int
    blocked_by_name: str | None
    blocked_at: datetime
    ticket_id: int | None  # the request it was made through

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Block:
        return cls(
            row["telegram_id"], row["reason"], row["blocked_by"], row.get("blocked_by_name"), row["blocked_at"],
            row["ticket_id"],
        )


class BlockError(ValueError):
    """A block or unblock that cannot be carried out; `reason` says why, for the handler."""

    def __init__(self, reason: str, block: Block | None = None, ticket_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.block = block
        self.ticket_id = ticket_id  # the request the refusal is about, when not the one named


NOT_COORDINATOR = "not_coordinator"  # not (or no longer) an active coordinator
NOT_FOUND = "not_found"  # no such request
OTHER_OFFICE = "other_office"  # a regional coordinator, and another office's request
UNKNOWN_AUTHOR = "unknown_author"  # the request's citizen was erased (and was not blocked through it)
ALREADY_BLOCKED = "already_blocked"  # `block`: the one in force
NOT_BLOCKED = "not_blocked"


@dataclass(frozen=True, slots=True)
class Blocked:
    block: Block
    closed: Ticket | None  # their open request, closed with the reason


_blocks = BlockRow.__table__
_operators = OperatorRow.__table__
_BLOCK_OF = (
    select(*_blocks.c, _operators.c.name.label("blocked_by_name"))
    .select_from(_blocks.outerjoin(_operators, _operators.c.telegram_id == _blocks.c.blocked_by))
    .where(_blocks.c.telegram_id == bindparam("person"))
)
_IS_BLOCKED = select(select(_blocks.c.telegram_id).where(_blocks.c.telegram_id == bindparam("person")).exists())
_BLOCK_OF_ON_DRIVER = Statement(_BLOCK_OF)  # read for every card (`bot/db/driver.py`)
_NEW_BLOCK = (
    insert(_blocks)
    .values(telegram_id=bindparam("person"), reason=bindparam("reason"), blocked_by=bindparam("by"),
            ticket_id=bindparam("ticket_id"))
    .on_conflict_do_nothing(index_elements=[_blocks.c.telegram_id])
    .returning(_blocks.c.telegram_id)
)
# The person of the request, or the one blocked through it (their data erased since).
_UNBLOCK = (
    delete(_blocks)
    .where((_blocks.c.telegram_id == bindparam("person")) | (_blocks.c.ticket_id == bindparam("ticket_id")))
    .returning(*_blocks.c)
)


async def block_of(session: AsyncSession, telegram_id: int | None) -> Block | None:
    if telegram_id is None:
        return None
    row = await _BLOCK_OF_ON_DRIVER.fetchrow(session, {"person": telegram_id})
    return Block.from_row(row) if row else None


async def is_blocked(session: AsyncSession, telegram_id: int) -> bool:
    return bool((await session.execute(_IS_BLOCKED, {"person": telegram_id})).scalar())


async def _ticket_of_coordinator(session: AsyncSession, coordinator: Operator, ticket_id: int) -> tuple[Operator, Ticket]:
    """The acting coordinator as they are now (locked until the block commits, see `access`), and
    the request, if the permission table lets them block its author: a national coordinator any
    request's, a regional one a request at their office."""
    try:
        actor = await access.current(session, coordinator, Act.BLOCK)
    except Denied:
        raise BlockError(NOT_COORDINATOR) from None
    if access.scope(actor, Act.BLOCK) is Scope.NONE:
        raise BlockError(NOT_COORDINATOR)
    ticket = await tickets.get_ticket(session, ticket_id)
    if ticket is None:
        raise BlockError(NOT_FOUND)
    if not access.may(actor, Act.BLOCK, (ticket.office,)):
        raise BlockError(OTHER_OFFICE)
    return actor, ticket


async def block(session: AsyncSession, coordinator: Operator, ticket_id: int, reason: str) -> Blocked:
    """Block the author of request №`ticket_id`, in the caller's transaction."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise ValueError(f"a reason is 1 to {MAX_REASON_LENGTH} characters")
    actor, ticket = await _ticket_of_coordinator(session, coordinator, ticket_id)
    if ticket.citizen_id is None:
        raise BlockError(UNKNOWN_AUTHOR)
    # A block closes the person's open request wherever it is now: that one must be within the
    # coordinator's reach too, or an old request of their region would reach another office's.
    current = await tickets.open_ticket_of(session, ticket.citizen_id, lock=True)
    if current is not None and not access.may(actor, Act.BLOCK, (current.office,)):
        raise BlockError(OTHER_OFFICE, ticket_id=current.id)
    params = {"person": ticket.citizen_id, "reason": reason, "by": actor.telegram_id, "ticket_id": ticket.id}
    if (await session.execute(_NEW_BLOCK, params)).first() is None:
        raise BlockError(ALREADY_BLOCKED, await block_of(session, ticket.citizen_id))
    closed = await tickets.close_for_block(session, ticket.citizen_id, reason)
    await outbox.owe(session, ticket.citizen_id, BLOCK_NOTICE, {"blocked": True, "ticket": closed.id if closed else None})
    await personal_data.audit(session, Action.BLOCK, {"ticket": ticket.id}, actor_id=actor.telegram_id, actor=actor.name)
    found = await block_of(session, ticket.citizen_id)
    assert found is not None
    return Blocked(found, closed)


async def unblock(session: AsyncSession, coordinator: Operator, ticket_id: int) -> Block:
    """Lift the block of the author of request №`ticket_id` (found also after their data was erased,
    through the request it was made by); returns the block lifted."""
    actor, ticket = await _ticket_of_coordinator(session, coordinator, ticket_id)
    # The block in force may have been made through another office's request: lifting it is for
    # whoever may act on that one.
    if (held := await block_of(session, ticket.citizen_id)) is not None and held.ticket_id not in (None, ticket.id):
        through = await tickets.get_ticket(session, held.ticket_id)
        if through is not None and not access.may(actor, Act.BLOCK, (through.office,)):
            raise BlockError(OTHER_OFFICE, ticket_id=through.id)
    lifted = (await session.execute(_UNBLOCK, {"person": ticket.citizen_id, "ticket_id": ticket.id})).mappings().all()
    if not lifted:
        raise BlockError(NOT_BLOCKED if ticket.citizen_id is not None else UNKNOWN_AUTHOR)
    for row in lifted:
        await outbox.owe(session, row["telegram_id"], BLOCK_NOTICE, {"blocked": False})
    await personal_data.audit(session, Action.UNBLOCK, {"ticket": ticket.id}, actor_id=actor.telegram_id, actor=actor.name)
    return Block.from_row(lifted[0])
