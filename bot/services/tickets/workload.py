"""How busy the desk is, for coordinators (/desk): per office, the requests waiting to be taken and
the oldest; per operator on duty (or off duty still holding some), the requests held and how long
the oldest unanswered citizen has waited. And reassigning a request to an operator on duty, in one
tap. A regional coordinator sees and reassigns their own office's; a national one every office's
(`Act.WORKLOAD`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import access, outbox, timers
from bot.services.access import Act
from bot.services.staff import Operator
from bot.services.tickets.model import (
    ALREADY_THEIRS, CANNOT_TAKE, CLOSED, NOT_FOUND, Content, Limits, Notice, Status, Ticket, TicketError,
)
from bot.services.tickets.owed import NOBODY_ON_DUTY, _refresh_cards, _say, _stop_clock, _timer_key, notify
from bot.services.tickets.queries import _FORGET_CURRENT, _operators, _tickets
from bot.services.tickets.reading import get_ticket, history
from bot.services.tickets.relaying import owe_conversation
from bot.services.operators import get_operator

MOST_LISTED = 10  # requests offered as buttons on one screen


@dataclass(frozen=True, slots=True)
class OfficeLoad:
    office: str
    waiting: int  # new, nobody took them yet
    oldest: datetime | None
    oldest_ticket: int | None


@dataclass(frozen=True, slots=True)
class OperatorLoad:
    operator_id: int
    name: str
    office: str
    on_duty: bool
    held: int
    oldest_unanswered: datetime | None  # the earliest citizen message no answer has followed yet


_OFFICES = text(
    """
    SELECT office, count(*) AS waiting, min(created_at) AS oldest, (array_agg(id ORDER BY id))[1] AS oldest_ticket
    FROM tickets WHERE status = 'new' AND (CAST(:office AS text) IS NULL OR office = :office)
    GROUP BY office ORDER BY office
    """
)
# The citizen's messages after the operator's last one are waiting for an answer.
_OPERATORS = text(
    """
    SELECT o.telegram_id, o.name, o.office, o.on_duty, count(t.id) AS held, min(w.since) AS oldest_unanswered
    FROM operators o
    LEFT JOIN tickets t ON t.operator_id = o.telegram_id AND t.status = 'taken'
    LEFT JOIN LATERAL (
        SELECT min(m.created_at) AS since FROM ticket_messages m
        WHERE m.ticket_id = t.id AND m.author = 'citizen'
          AND m.id > coalesce((SELECT max(a.id) FROM ticket_messages a WHERE a.ticket_id = t.id AND a.author = 'operator'), 0)
    ) w ON true
    WHERE o.active AND (CAST(:office AS text) IS NULL OR o.office = :office)
    GROUP BY o.telegram_id, o.name, o.office, o.on_duty
    HAVING o.on_duty OR count(t.id) > 0
    ORDER BY o.office, count(t.id) DESC, o.name
    """
)


async def workload(session: AsyncSession, by: Operator) -> tuple[list[OfficeLoad], list[OperatorLoad]]:
    fresh = await access.require(session, by, Act.WORKLOAD)
    office = access.own_region(fresh, Act.WORKLOAD)
    offices = [OfficeLoad(r.office, r.waiting, r.oldest, r.oldest_ticket) for r in await session.execute(_OFFICES, {"office": office})]
    operators = [
        OperatorLoad(r.telegram_id, r.name, r.office, r.on_duty, r.held, r.oldest_unanswered)
        for r in await session.execute(_OPERATORS, {"office": office})
    ]
    return offices, operators


_OPEN_IN_SCOPE = text(
    """
    SELECT id FROM tickets
    WHERE status <> 'closed' AND (CAST(:office AS text) IS NULL OR office = :office)
      AND ((CAST(:holder AS bigint) IS NULL AND status = 'new') OR operator_id = :holder)
    ORDER BY id LIMIT :limit
    """
)


async def open_requests(session: AsyncSession, by: Operator, holder: int | None) -> list[Ticket]:
    """The requests `holder` holds (None: those waiting to be taken), oldest first, in scope."""
    fresh = await access.require(session, by, Act.WORKLOAD)
    office = access.own_region(fresh, Act.WORKLOAD)
    ids = (await session.execute(_OPEN_IN_SCOPE, {"office": office, "holder": holder, "limit": MOST_LISTED})).scalars()
    found = [await get_ticket(session, ticket_id) for ticket_id in ids]
    return [ticket for ticket in found if ticket is not None]


_ON_DUTY_FOR = text(
    """
    SELECT telegram_id FROM operators
    WHERE active AND on_duty AND office IN (:office, 'national') ORDER BY office = 'national', name
    """
)


async def candidates(session: AsyncSession, by: Operator, ticket_id: int) -> tuple[Ticket, list[Operator]]:
    """The open request, and who may be given it: operators on duty of its office, then of the
    national office (which may act on every region's)."""
    ticket = await _reassignable(session, by, ticket_id, lock=False)
    ids = (await session.execute(_ON_DUTY_FOR, {"office": ticket.office})).scalars().all()
    people = [await get_operator(session, operator_id) for operator_id in ids]
    return ticket, [p for p in people if p is not None and p.telegram_id != ticket.operator_id]


async def _reassignable(session: AsyncSession, by: Operator, ticket_id: int, *, lock: bool = True) -> Ticket:
    """The open request, if `by` may reassign it; another office's is "not found", as a number that
    does not exist is, so numbers reveal nothing."""
    fresh = await access.require(session, by, Act.WORKLOAD)
    ticket = await get_ticket(session, ticket_id)
    if ticket is None or not access.may(fresh, Act.WORKLOAD, (ticket.office,)):
        raise TicketError(NOT_FOUND)
    if lock:
        ticket = await get_ticket(session, ticket_id, lock=True)
        if ticket is None or not access.may(fresh, Act.WORKLOAD, (ticket.office,)):
            raise TicketError(NOT_FOUND)  # (moved or gone meanwhile)
    if ticket.status is Status.CLOSED:
        raise TicketError(CLOSED, ticket)
    return ticket


_GIVE = (
    update(_tickets).where(_tickets.c.id == bindparam("ticket_id"))
    .values(status=Status.TAKEN.value, operator_id=bindparam("to"), taken_at=func.coalesce(_tickets.c.taken_at, func.now()))
)


async def reassign(session: AsyncSession, limits: Limits, by: Operator, ticket_id: int, to_id: int) -> Ticket:
    """A coordinator gives the request to an operator on duty who may act on it: it is theirs now,
    with its conversation and notes; the one who held it (if anyone) sees their card change."""
    # The operator's record before the request's, in the order a Take locks them: never a deadlock.
    target = await get_operator(session, to_id, lock=True)
    ticket = await _reassignable(session, by, ticket_id)
    if target is None or not target.active or not target.on_duty or not access.may(target, Act.REQUESTS, (ticket.office,)):
        raise TicketError(CANNOT_TAKE, ticket)
    if ticket.operator_id == target.telegram_id:
        raise TicketError(ALREADY_THEIRS, ticket)
    await _refresh_cards(session, ticket_id)  # before the change: the cards of whoever had one
    await session.execute(_FORGET_CURRENT, {"ticket_id": ticket_id})
    await session.execute(_GIVE, {"ticket_id": ticket_id, "to": target.telegram_id})
    # Their plain messages go to it, unless they are in the middle of another one.
    await session.execute(
        update(_operators).where(_operators.c.telegram_id == target.telegram_id, _operators.c.current_ticket.is_(None))
        .values(current_ticket=ticket_id)
    )
    await _say(
        session, ticket_id, "system", by.telegram_id,
        Content("text", extra={"event": "reassigned", "from": ticket.operator_id, "to": target.telegram_id, "to_name": target.name}),
    )
    await _stop_clock(session, ticket_id, "ticket_remind", "ticket_escalate", NOBODY_ON_DUTY)
    if ticket.status is Status.NEW:
        await notify(session, ticket.citizen_id, ticket_id, Notice.TAKEN)
        await timers.set_timer(
            session, "ticket_unanswered", _timer_key(ticket_id),
            await limits.due_at_office(session, ticket.office, limits.answer_after), {"ticket": ticket_id},
        )
    await outbox.owe(session, target.telegram_id, "ticket_reassigned", {"ticket": ticket_id, "by": by.telegram_id})
    await outbox.owe(session, target.telegram_id, "ticket_card", {"ticket": ticket_id})
    await owe_conversation(session, target.telegram_id, await history(session, ticket_id))
    given = await get_ticket(session, ticket_id)
    assert given is not None
    return given

