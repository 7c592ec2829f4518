"""What citizens do with their requests: open, add to, reopen, close, rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Interval, bindparam, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import access, outbox, timers
from bot.services.access import Act
from bot.services.staff import COLUMNS as OPERATOR_COLUMNS, Operator
from bot.services.lengths import cut
from bot.services.tickets.model import (
    ALREADY_OPEN, CALLBACK, CLOSED, Content, HELP, HELP_CATEGORIES, Limits, MAX_COMMENT_LENGTH, NOT_FOUND,
    NO_OPEN_TICKET, Notice, QUESTION, Status, TOO_LATE, Ticket, TicketError,
)
from bot.services.tickets.operators import _close
from bot.services.tickets.relaying import owe_said
from bot.services.tickets.owed import CALL_DUE, _deliver_cards, _say, _start_clock, _stop_clock, _timer_key, notify
from bot.services.tickets.queries import _NEW_TICKET, _SET_CURRENT, _TICKET_COLUMNS, _TICKET_FROM, _operators, _tickets
from bot.services.tickets.reading import get_ticket, open_ticket_of


async def open_ticket(
    session: AsyncSession, limits: Limits, *, citizen_id: int, region: str, language: str, kind: str,
    category: str, first: Content, phone: str | None = None, details: dict[str, Any] | None = None,
) -> Ticket:
    """A new ticket at the citizen's regional office, its first message, cards to the office's
    operators, the citizen's confirmation and the T1/T2 timers, all in the caller's transaction.
    ALREADY_OPEN (with that ticket) if the citizen has one open."""
    if kind not in (QUESTION, HELP, CALLBACK) or (kind == HELP and category not in HELP_CATEGORIES) or (
        kind == CALLBACK and (category != CALLBACK or not phone)
    ):
        raise ValueError(f"unknown ticket kind or category: {kind}/{category}")
    try:
        async with session.begin_nested():  # the unique index, not a prior read, decides a race
            ticket_id = (
                await session.execute(
                    _NEW_TICKET,
                    {"citizen_id": citizen_id, "kind": kind, "category": category, "region": region, "office": region,
                     "language": language, "phone": phone, "details": details or {}},
                )
            ).scalar_one()
    except IntegrityError:
        existing = await open_ticket_of(session, citizen_id)
        raise TicketError(ALREADY_OPEN, existing) from None
    await _say(session, ticket_id, "citizen", citizen_id, first)
    await notify(session, citizen_id, ticket_id, Notice.OPENED)
    await _deliver_cards(session, ticket_id, region, alert=limits)
    await _start_clock(session, ticket_id, limits, region)
    if kind == CALLBACK and (details or {}).get("window_from"):
        begins = datetime.fromisoformat(details["window_from"]) - datetime.now(UTC)
        if begins > timedelta(0):  # whoever holds it then is reminded that the window has begun
            await timers.set_timer(session, CALL_DUE, _timer_key(ticket_id), begins, {"ticket": ticket_id})
    ticket = await get_ticket(session, ticket_id)
    assert ticket is not None
    return ticket


async def citizen_says(session: AsyncSession, limits: Limits, citizen_id: int, content: Content) -> Ticket:
    """Add what the citizen wrote to their open ticket; the assignee, if any, is owed it at once.
    NO_OPEN_TICKET if there is none."""
    ticket = await open_ticket_of(session, citizen_id, lock=True)  # not taken or moved meanwhile
    if ticket is None:
        raise TicketError(NO_OPEN_TICKET)
    message_id = await _say(session, ticket.id, "citizen", citizen_id, content)
    if ticket.status is Status.TAKEN and ticket.operator_id is not None:
        await owe_said(session, ticket.id, message_id, content, ticket.operator_id)
        # T3 counts from the first message still unanswered, so later ones do not move it (nor
        # cost reading the office's calendar).
        key = _timer_key(ticket.id)
        if not await timers.is_pending(session, "ticket_unanswered", key):
            await timers.set_timer(
                session, "ticket_unanswered", key, await limits.due_at_office(session, ticket.office, limits.answer_after),
                {"ticket": ticket.id}, keep_pending=True,
            )
    return ticket


# The request closed last, whoever closed it: one a block closed is not offered, nor any before it.
_RECENTLY_CLOSED = (
    select(*_TICKET_COLUMNS, _tickets.c.closed_by, _tickets.c.rating_comment).select_from(_TICKET_FROM)
    .where(_tickets.c.citizen_id == bindparam("citizen_id"), _tickets.c.status == Status.CLOSED.value,
           _tickets.c.erased_at.is_(None), _tickets.c.closed_at > func.now() - bindparam("within", type_=Interval))
    .order_by(_tickets.c.closed_at.desc()).limit(1)
)


async def recently_closed(session: AsyncSession, limits: Limits, citizen_id: int) -> Ticket | None:
    """The citizen's request closed last, if that was within `limits.reopen_within` (by its
    operator or by them; not by a block, and not anonymised since): what a new message to an
    operator may be about."""
    if limits.reopen_within <= timedelta(0):
        return None
    row = (await session.execute(_RECENTLY_CLOSED, {"citizen_id": citizen_id, "within": limits.reopen_within})).mappings().first()
    return Ticket.from_row(row) if row is not None and row["closed_by"] in ("operator", "citizen") else None


_CLOSED_WITH = select(_tickets.c.closed_by, _tickets.c.rating_comment).where(_tickets.c.id == bindparam("ticket_id"))
_REOPEN = (
    update(_tickets).where(_tickets.c.id == bindparam("ticket_id"))
    .values(status=bindparam("status"), operator_id=bindparam("operator_id"),
            taken_at=case((bindparam("operator_id", type_=BigInteger).is_(None), None), else_=func.now()),
            closed_at=None, closed_by=None, resolution=None, rating=None, rating_comment=None, citizen_unreachable=False,
            # A call back's window was for its first call: reopened, it is a conversation again.
            details=_tickets.c.details.op("-")("window_from").op("-")("window_to"))
)


async def _operator(session: AsyncSession, telegram_id: int) -> Operator | None:
    row = (await session.execute(select(*OPERATOR_COLUMNS).where(_operators.c.telegram_id == telegram_id))).mappings().first()
    return Operator.from_row(row) if row else None


async def reopen(session: AsyncSession, limits: Limits, citizen_id: int, ticket_id: int, first: Content) -> Ticket:
    """The citizen's new message is about their request closed lately: it is open again, with its
    history (and, on it, what it was closed with). It goes back to the operator who had it if they
    are on duty and may still act on it, otherwise to its office as new. TOO_LATE if it may no
    longer be reopened, ALREADY_OPEN if the citizen has another open request."""
    ticket = await get_ticket(session, ticket_id, lock=True)
    if ticket is None or ticket.citizen_id != citizen_id:
        raise TicketError(NOT_FOUND)
    latest = await recently_closed(session, limits, citizen_id)
    if latest is None or latest.id != ticket.id:
        raise TicketError(TOO_LATE, ticket)
    held_by = await _operator(session, ticket.operator_id) if ticket.operator_id is not None else None
    back_to = held_by if held_by is not None and held_by.active and held_by.on_duty and access.may(
        held_by, Act.REQUESTS, (ticket.office,)) else None
    values = {"ticket_id": ticket.id, "status": Status.TAKEN.value if back_to else Status.NEW.value,
              "operator_id": back_to.telegram_id if back_to else None}
    closed = (await session.execute(_CLOSED_WITH, {"ticket_id": ticket.id})).mappings().one()  # before it goes
    try:
        async with session.begin_nested():  # the one open request a person may have: the index decides
            await session.execute(_REOPEN, values)
    except IntegrityError:
        raise TicketError(ALREADY_OPEN, await open_ticket_of(session, citizen_id)) from None
    # What it was closed with stays on its History: who closed it, the resolution, the rating.
    await _say(session, ticket.id, "system", None, Content("text", ticket.resolution, extra={
        "event": "reopened", "rating": ticket.rating, "comment": closed["rating_comment"], "closed_by": closed["closed_by"],
    }))
    message_id = await _say(session, ticket.id, "citizen", citizen_id, first)
    await _stop_clock(session, ticket.id)
    if back_to is not None:
        await _SET_CURRENT.execute(session, {"operator_id": back_to.telegram_id, "ticket_id": ticket.id})
        await notify(session, back_to.telegram_id, ticket.id, Notice.REOPENED)
        await outbox.owe(session, back_to.telegram_id, "ticket_card", {"ticket": ticket.id})
        await owe_said(session, ticket.id, message_id, first, back_to.telegram_id)
        await timers.set_timer(
            session, "ticket_unanswered", _timer_key(ticket.id),
            await limits.due_at_office(session, ticket.office, limits.answer_after), {"ticket": ticket.id},
        )
    else:
        await _deliver_cards(session, ticket.id, ticket.office, notice=Notice.REOPENED_QUEUE, alert=limits)
        await _start_clock(session, ticket.id, limits, ticket.office)
    await notify(session, citizen_id, ticket.id, Notice.REOPENED)
    reopened = await get_ticket(session, ticket.id)
    assert reopened is not None
    return reopened


async def close_by_citizen(session: AsyncSession, citizen_id: int, ticket_id: int) -> Ticket:
    ticket = await get_ticket(session, ticket_id, lock=True)
    if ticket is None or ticket.citizen_id != citizen_id:
        raise TicketError(NOT_FOUND)
    if not ticket.is_open:
        raise TicketError(CLOSED, ticket)
    closed = await _close(session, ticket, "citizen", None)
    if ticket.operator_id is not None:
        await notify(session, ticket.operator_id, ticket.id, Notice.CITIZEN_CLOSED)
    return closed


_RATE = (
    update(_tickets)
    .where(_tickets.c.id == bindparam("ticket_id"), _tickets.c.citizen_id == bindparam("citizen"),
           _tickets.c.status == Status.CLOSED.value)
    .values(rating=bindparam("stars"))
    .returning(_tickets.c.id)
)
_COMMENT = (
    update(_tickets)
    .where(_tickets.c.id == bindparam("ticket_id"), _tickets.c.citizen_id == bindparam("citizen"),
           _tickets.c.rating.is_not(None))
    .values(rating_comment=bindparam("comment"))
    .returning(_tickets.c.id)
)


async def rate(session: AsyncSession, citizen_id: int, ticket_id: int, rating: int) -> bool:
    """The citizen's 1-5 for a closed ticket of theirs (a second press changes it); False if not theirs
    or not closed."""
    if not 1 <= rating <= 5:
        raise ValueError("a rating is 1 to 5")
    params = {"ticket_id": ticket_id, "citizen": citizen_id, "stars": rating}
    return (await session.execute(_RATE, params)).first() is not None


async def comment(session: AsyncSession, citizen_id: int, ticket_id: int, words: str) -> bool:
    """A comment to the rating; False if the ticket is not the citizen's rated one."""
    params = {"ticket_id": ticket_id, "citizen": citizen_id, "comment": cut(words, MAX_COMMENT_LENGTH)}
    return (await session.execute(_COMMENT, params)).first() is not None
