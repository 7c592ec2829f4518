"""How busy the desk is, for coordinators (/desk): per office, the requests waiting to be taken and
the oldest; per operator on duty (or off duty still holding some), the requests held and how long
the oldest unanswered citizen has waited. And reassigning a request to an operator on duty, in one
tap. A regional coordinator sees and reassigns their own office's; a national one every office's
(`Act.WORKLOAD`). Offices, operators, requests and candidates come a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

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

# A national call-centre has about 63 operators over 21 offices and, on a bad day, hundreds of
# requests waiting: no screen lists them all. Each lists one page, sized so that its longest lines
# (an operator's name is at most 64 characters) stay well under Telegram's 4,096 characters and its
# buttons, with ◀️ ▶️ and ⬅️ Back, under 100 (bot/views/workload.py).
OFFICES_PER_PAGE = 24  # the national overview: the 21 offices on one page
OPERATORS_PER_PAGE = 15  # an office's page: a line each, up to about 200 characters
REQUESTS_PER_PAGE = 20  # a list of requests: a short line and a button each
CANDIDATES_PER_PAGE = 20  # who may be given a request: a button each

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a longer list: `number` counts from 0 and is always a page that exists (a press on
    an old ▶️ after the list shrank shows its last page); `total` is the length of the whole list."""

    items: list[T]
    number: int
    count: int
    total: int


def page_number(wanted: int, total: int, size: int) -> tuple[int, int]:
    """The page to show (within those that exist) and how many there are; an empty list has one."""
    count = max(1, -(-total // size))
    return min(max(wanted, 0), count - 1), count


def page_of(items: Sequence[T], wanted: int, size: int) -> Page[T]:
    number, count = page_number(wanted, len(items), size)
    return Page(list(items[number * size:(number + 1) * size]), number, count, len(items))


@dataclass(frozen=True, slots=True)
class OfficeLoad:
    office: str
    waiting: int  # new, nobody took them yet
    oldest: datetime | None
    oldest_ticket: int | None
    on_duty: int = 0  # its operators on duty
    held: int = 0  # the requests its operators have in work


@dataclass(frozen=True, slots=True)
class OperatorLoad:
    operator_id: int
    name: str
    office: str
    on_duty: bool
    held: int
    oldest_unanswered: datetime | None  # the earliest citizen message no answer has followed yet


@dataclass(frozen=True, slots=True)
class Overview:
    """Every office at a glance (the national coordinators' /desk): a page of offices, and the sums."""

    offices: Page[OfficeLoad]
    waiting: int
    on_duty: int
    held: int


@dataclass(frozen=True, slots=True)
class OfficeDesk:
    """One office's page: its waiting requests, and a page of its operators on duty or holding some."""

    load: OfficeLoad
    operators: Page[OperatorLoad]


_OFFICES = text(
    """
    WITH waiting AS (
        SELECT office, count(*) AS waiting, min(created_at) AS oldest, min(id) AS oldest_ticket
        FROM tickets WHERE status = 'new' AND (CAST(:office AS text) IS NULL OR office = :office)
        GROUP BY office
    ), held AS (
        SELECT operator_id, count(*) AS held FROM tickets WHERE status = 'taken' GROUP BY operator_id
    ), staff AS (
        SELECT o.office, count(*) FILTER (WHERE o.on_duty) AS on_duty, coalesce(sum(h.held), 0) AS held
        FROM operators o LEFT JOIN held h ON h.operator_id = o.telegram_id
        WHERE o.active AND (CAST(:office AS text) IS NULL OR o.office = :office)
        GROUP BY o.office
    )
    SELECT coalesce(w.office, s.office) AS office, coalesce(w.waiting, 0) AS waiting, w.oldest, w.oldest_ticket,
           coalesce(s.on_duty, 0) AS on_duty, coalesce(s.held, 0) AS held
    FROM waiting w FULL JOIN staff s ON s.office = w.office
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
    WHERE o.active AND o.office = :office
    GROUP BY o.telegram_id, o.name, o.office, o.on_duty
    HAVING o.on_duty OR count(t.id) > 0
    ORDER BY count(t.id) DESC, o.name, o.telegram_id
    """
)


async def desk_office(session: AsyncSession, by: Operator) -> str | None:
    """The one office `by` sees at the desk (a regional coordinator's own); None: every office."""
    return access.own_region(await access.require(session, by, Act.WORKLOAD), Act.WORKLOAD)


async def overview(session: AsyncSession, by: Operator, offices: Sequence[str], page: int) -> Overview:
    """Each of `offices` (in that order; any other holding requests after them) with its waiting
    requests and operators, a page of them, and the sums over all: for whoever reaches every office."""
    fresh = await access.require(session, by, Act.WORKLOAD)
    scope = access.own_region(fresh, Act.WORKLOAD)
    found = {r.office: OfficeLoad(r.office, r.waiting, r.oldest, r.oldest_ticket, r.on_duty, r.held)
             for r in await session.execute(_OFFICES, {"office": scope})}
    shown = [office for office in offices if scope is None or office == scope]
    shown += sorted(set(found) - set(shown))
    loads = [found.get(office) or OfficeLoad(office, 0, None, None) for office in shown]
    return Overview(
        page_of(loads, page, OFFICES_PER_PAGE), sum(load.waiting for load in loads),
        sum(load.on_duty for load in loads), sum(load.held for load in loads),
    )


async def office_desk(session: AsyncSession, by: Operator, office: str, page: int) -> OfficeDesk:
    """One office's waiting requests and a page of its operators; access.Denied for an office `by`
    does not reach (forged button data)."""
    await access.require(session, by, Act.WORKLOAD, (office,))
    row = (await session.execute(_OFFICES, {"office": office})).first()
    load = OfficeLoad(office, row.waiting, row.oldest, row.oldest_ticket, row.on_duty, row.held) if row else OfficeLoad(office, 0, None, None)
    operators = [
        OperatorLoad(r.telegram_id, r.name, r.office, r.on_duty, r.held, r.oldest_unanswered)
        for r in await session.execute(_OPERATORS, {"office": office})
    ]
    return OfficeDesk(load, page_of(operators, page, OPERATORS_PER_PAGE))


_IN_SCOPE = """
    FROM tickets
    WHERE status <> 'closed' AND (CAST(:office AS text) IS NULL OR office = :office)
      AND ((CAST(:holder AS bigint) IS NULL AND status = 'new') OR operator_id = :holder)
"""
_COUNT_IN_SCOPE = text("SELECT count(*)" + _IN_SCOPE)
_OPEN_IN_SCOPE = text("SELECT id" + _IN_SCOPE + "ORDER BY id LIMIT :limit OFFSET :offset")


async def open_requests(session: AsyncSession, by: Operator, holder: int | None, office: str | None, page: int) -> Page[Ticket]:
    """A page of the requests `holder` holds (None: of those waiting to be taken, at `office` or at
    every office `by` reaches), oldest first, in scope; access.Denied for an office out of it."""
    fresh = await access.require(session, by, Act.WORKLOAD, None if office is None or holder is not None else (office,))
    scope = access.own_region(fresh, Act.WORKLOAD)
    if holder is None and office is not None:
        scope = office
    params = {"office": scope, "holder": holder}
    total = (await session.execute(_COUNT_IN_SCOPE, params)).scalar_one()
    number, count = page_number(page, total, REQUESTS_PER_PAGE)
    ids = (await session.execute(
        _OPEN_IN_SCOPE, {**params, "limit": REQUESTS_PER_PAGE, "offset": number * REQUESTS_PER_PAGE}
    )).scalars().all()
    found = [await get_ticket(session, ticket_id) for ticket_id in ids]
    return Page([ticket for ticket in found if ticket is not None], number, count, total)


_ON_DUTY_FOR = text(
    """
    SELECT telegram_id FROM operators
    WHERE active AND on_duty AND office IN (:office, 'national') ORDER BY office = 'national', name, telegram_id
    """
)


async def candidates(session: AsyncSession, by: Operator, ticket_id: int, page: int) -> tuple[Ticket, Page[Operator]]:
    """The open request, and a page of who may be given it: operators on duty of its office, then of
    the national office (which may act on every region's)."""
    ticket = await _reassignable(session, by, ticket_id, lock=False)
    ids = [
        operator_id for operator_id in (await session.execute(_ON_DUTY_FOR, {"office": ticket.office})).scalars()
        if operator_id != ticket.operator_id
    ]
    shown = page_of(ids, page, CANDIDATES_PER_PAGE)
    people = [await get_operator(session, operator_id) for operator_id in shown.items]
    return ticket, Page([p for p in people if p is not None], shown.number, shown.count, shown.total)


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

