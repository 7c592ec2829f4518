"""Personal data under control: erasing a person (/forget, or a coordinator on their behalf),
erasing what old tickets hold once the retention period has passed, the full record of one
ticket, and the audit log of coordinators' actions on someone's data. Knows nothing of Telegram.

What an erasure keeps is anonymous and keeps the statistics true: that a ticket existed, its
region, category, times, status and rating; that a deed of a kind and amount was approved in a
region on a day. What it takes: the person's id wherever it is stored, their phone, what they and
the operators wrote (texts, files, locations, the help form's answers, the resolution, the rating's
comment), their marathon name, deeds' descriptions and places, and photos. A coordinators' block
of the person keeps their id (erasing must not lift it) and loses its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, bindparam, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AuditEntry, Ticket, TicketMessage
from bot.services import marathon, tickets, timers, users

# What of a ticket's `details` is not about the person (how the ticket came about) and stays.
ANONYMOUS_DETAILS = ("via", "kb")
RETENTION_TIMER = "retention"
RETENTION_BATCH = 500  # tickets erased per firing; the next firing follows at once if more are due

_audit = AuditEntry.__table__
_tickets = Ticket.__table__
_messages = TicketMessage.__table__


class Action:
    """What an audit entry records."""

    TICKET_RECORD = "ticket_record"  # the full record of a ticket, personal data included, exported
    ERASE_PERSON = "erase_person"  # a coordinator erased a ticket's citizen's data
    RETENTION = "retention"  # old tickets' personal data erased by the retention job
    BLOCK = "block"  # a coordinator blocked a request's author (`bot/services/abuse.py`)
    UNBLOCK = "unblock"


async def audit(
    session: AsyncSession, action: str, subject: dict[str, Any], *, actor_id: int | None = None, actor: str,
) -> None:
    await session.execute(insert(_audit).values(actor_id=actor_id, actor=actor, action=action, subject=subject))


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    subject: dict[str, Any]


async def audit_log(session: AsyncSession, limit: int = 30) -> list[AuditRecord]:
    """The newest entries first."""
    rows = await session.execute(
        select(_audit.c.at, _audit.c.actor_id, _audit.c.actor, _audit.c.action, _audit.c.subject)
        .order_by(_audit.c.id.desc()).limit(limit)
    )
    return [AuditRecord(*row) for row in rows.all()]


# The tickets' own personal data; `erased_at` marks them done for the retention job.
_ERASE_TICKETS = text(
    """
    UPDATE tickets SET citizen_id = NULL, phone = NULL, resolution = NULL, rating_comment = NULL,
        details = (SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb)
                   FROM jsonb_each(details) WHERE key = ANY(CAST(:keep AS text[]))),
        erased_at = now()
    WHERE id = ANY(CAST(:ids AS bigint[]))
    """
)
# Who wrote stays (citizen, operator, the bot) and when, for the counts; never what.
_ERASE_MESSAGES = text(
    """
    UPDATE ticket_messages SET text = NULL, file_id = NULL, extra = '{}'::jsonb,
        author_id = CASE WHEN author = 'citizen' THEN NULL ELSE author_id END
    WHERE ticket_id = ANY(CAST(:ids AS bigint[]))
    """
)
_CITIZENS_LINKS = text("DELETE FROM ticket_links WHERE ticket_id = ANY(CAST(:ids AS bigint[])) AND chat_id = ANY(CAST(:people AS bigint[]))")
_TICKETS_OF = select(_tickets.c.id).where(_tickets.c.citizen_id == bindparam("person", type_=BigInteger))


async def _erase_tickets(session: AsyncSession, ticket_ids: list[int], citizen_ids: list[int]) -> None:
    if not ticket_ids:
        return
    await session.execute(_CITIZENS_LINKS, {"ids": ticket_ids, "people": citizen_ids})
    await session.execute(_ERASE_MESSAGES, {"ids": ticket_ids})
    await session.execute(_ERASE_TICKETS, {"ids": ticket_ids, "keep": list(ANONYMOUS_DETAILS)})


# Whatever else carries the person's id: what the bot owes or owed them, timers about them,
# announcements' lists, conversations' state (aiogram's keys hold the chat and user ids).
_ERASE_TRACES = (
    text("DELETE FROM outbox WHERE chat_id = :person"),
    text("DELETE FROM timers WHERE payload ->> 'chat_id' = CAST(CAST(:person AS bigint) AS text)"),
    text("DELETE FROM announcement_recipients WHERE telegram_id = :person"),
    text("DELETE FROM ticket_links WHERE chat_id = :person"),
    # A block outlives /forget (or erasing would lift it), but without its reason's words.
    text("UPDATE blocks SET reason = NULL WHERE telegram_id = :person"),
    text("DELETE FROM fsm_states WHERE key LIKE '%:' || CAST(CAST(:person AS bigint) AS text) || ':%' OR key LIKE '%:' || CAST(CAST(:person AS bigint) AS text)"),
)


@dataclass(frozen=True, slots=True)
class Erased:
    had_data: bool
    tickets: int


async def erase_person(session: AsyncSession, telegram_id: int) -> Erased:
    """Everything about the person, in the caller's transaction: their open request is closed and
    its operator told first (the notice names only the ticket's number)."""
    await tickets.close_for_forgotten(session, telegram_id)
    ticket_ids = list((await session.execute(_TICKETS_OF, {"person": telegram_id})).scalars())
    await _erase_tickets(session, ticket_ids, [telegram_id])
    await marathon.forget_participant(session, telegram_id)
    for statement in _ERASE_TRACES:
        await session.execute(statement, {"person": telegram_id})
    had_user = await users.forget(session, telegram_id)
    return Erased(had_user or bool(ticket_ids), len(ticket_ids))


async def erase_citizen_of_ticket(
    session: AsyncSession, ticket_id: int, *, actor_id: int | None, actor: str
) -> Erased | None:
    """A coordinator erases, on the person's request, the data of the citizen of ticket №N (they
    may have asked by phone). Recorded in the audit log by the ticket's number. None if the ticket
    does not exist or its citizen's data is already gone."""
    citizen = (await session.execute(select(_tickets.c.citizen_id).where(_tickets.c.id == ticket_id))).scalar_one_or_none()
    if citizen is None:
        return None
    erased = await erase_person(session, citizen)
    await audit(session, Action.ERASE_PERSON, {"ticket": ticket_id, "tickets": erased.tickets}, actor_id=actor_id, actor=actor)
    return erased


_RETENTION_DUE = text(
    """
    SELECT id, citizen_id FROM tickets
    WHERE status = 'closed' AND erased_at IS NULL AND closed_at < now() - CAST(:keep AS interval)
    ORDER BY closed_at LIMIT :batch
    FOR UPDATE SKIP LOCKED
    """
)


_FORGET_RECIPIENTS = text(
    """
    DELETE FROM announcement_recipients WHERE announcement_id IN (
        SELECT id FROM announcements
        WHERE state IN ('done', 'cancelled') AND finished_at < now() - CAST(:keep AS interval))
    """
)


async def erase_expired(session: AsyncSession, keep_days: int, batch: int = RETENTION_BATCH) -> int:
    """Erase the personal data of tickets closed more than `keep_days` ago; returns how many
    (at most `batch`). The people themselves stay users; only those tickets lose what they held."""
    rows = (await session.execute(_RETENTION_DUE, {"keep": timedelta(days=keep_days), "batch": batch})).all()
    ticket_ids = [row.id for row in rows]
    await _erase_tickets(session, ticket_ids, [row.citizen_id for row in rows if row.citizen_id is not None])
    # Who an announcement went to is of no use once it is over; its counts stay on the announcement.
    await session.execute(_FORGET_RECIPIENTS, {"keep": timedelta(days=keep_days)})
    if ticket_ids:
        await audit(session, Action.RETENTION, {"tickets": len(ticket_ids), "older_than_days": keep_days}, actor="retention")
    return len(ticket_ids)


async def _retention_due(session: AsyncSession, payload: dict[str, Any]) -> None:
    """The retention job's timer (`{"keep_days": N}`): erase what is due, then set itself again,
    in a minute while more is due, else in a day. Durable and fired once across processes, as
    every timer."""
    keep_days = int(payload["keep_days"])
    erased = await erase_expired(session, keep_days)
    await schedule_retention(session, keep_days, RETENTION_SOON if erased >= RETENTION_BATCH else RETENTION_DAILY)


RETENTION_DAILY = timedelta(days=1)
RETENTION_SOON = timedelta(minutes=1)


async def schedule_retention(session: AsyncSession, keep_days: int, after: timedelta) -> None:
    """(Re)set the retention job's one timer; at start, with the retention period now configured."""
    await timers.set_timer(session, RETENTION_TIMER, "daily", after, {"keep_days": keep_days})


timers.register(RETENTION_TIMER, _retention_due)


async def ticket_record(session: AsyncSession, ticket_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The ticket's full row and its messages, personal data included; None if there is none."""
    ticket = (await session.execute(select(_tickets).where(_tickets.c.id == ticket_id))).mappings().first()
    if ticket is None:
        return None
    said = await session.execute(
        select(_messages.c.created_at, _messages.c.author, _messages.c.author_id, _messages.c.kind,
               _messages.c.text, _messages.c.file_id, _messages.c.extra)
        .where(_messages.c.ticket_id == ticket_id).order_by(_messages.c.id)
    )
    return dict(ticket), [dict(row) for row in said.mappings()]


