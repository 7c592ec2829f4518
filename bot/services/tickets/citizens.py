"""What citizens do with their requests: open, add to, close, rate."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import outbox, timers
from bot.services.lengths import cut
from bot.services.tickets.model import (
    ALREADY_OPEN, CLOSED, Content, HELP, HELP_CATEGORIES, Limits, MAX_COMMENT_LENGTH, NOT_FOUND,
    NO_OPEN_TICKET, Notice, QUESTION, Status, Ticket, TicketError,
)
from bot.services.tickets.operators import _close
from bot.services.tickets.owed import _deliver_cards, _say, _start_clock, _timer_key, notify
from bot.services.tickets.queries import _NEW_TICKET, _tickets
from bot.services.tickets.reading import get_ticket, open_ticket_of


async def open_ticket(
    session: AsyncSession, limits: Limits, *, citizen_id: int, region: str, language: str, kind: str,
    category: str, first: Content, phone: str | None = None, details: dict[str, Any] | None = None,
) -> Ticket:
    """A new ticket at the citizen's regional office, its first message, cards to the office's
    operators, the citizen's confirmation and the T1/T2 timers, all in the caller's transaction.
    ALREADY_OPEN (with that ticket) if the citizen has one open."""
    if kind not in (QUESTION, HELP) or (kind == HELP and category not in HELP_CATEGORIES):
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
    await _deliver_cards(session, ticket_id, region)
    await _start_clock(session, ticket_id, limits, region)
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
        await outbox.owe(session, ticket.operator_id, "ticket_message", {"message": message_id})
        # T3 counts from the first message still unanswered, so later ones do not move it (nor
        # cost reading the office's calendar).
        key = _timer_key(ticket.id)
        if not await timers.is_pending(session, "ticket_unanswered", key):
            await timers.set_timer(
                session, "ticket_unanswered", key, await limits.due_at_office(session, ticket.office, limits.answer_after),
                {"ticket": ticket.id}, keep_pending=True,
            )
    return ticket


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
