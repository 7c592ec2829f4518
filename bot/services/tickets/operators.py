"""What operators do with tickets: take, answer, note, close, transfer, hand back; what happens to a
leaving operator's, a forgotten or blocked citizen's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Text, bindparam, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import access, outbox, timers
from bot.services.access import Act
from bot.services.lengths import cut, utf16_length
from bot.services.staff import Operator
from bot.services.tickets.model import (
    CALL_OUTCOMES, CALL_RETRY, CALL_WINDOW, CALLBACK, CLOSED, NOT_FOUND, Content, Limits, MAX_NOTE_LENGTH, MAX_STAFF_NOTE_LENGTH, NOT_YOURS, Notice, PASSED_ON, SAME_OFFICE, Status,
    TAKEN_BY_OTHER, Ticket, TicketError,
)
from bot.services.tickets.owed import (
    CALL_AGAIN, NOBODY_ON_DUTY, _deliver_cards, _refresh_cards, _say, _start_clock, _stop_clock, _timer_key, notify,
)
from bot.services.tickets.queries import _FORGET_CURRENT, _SET_CURRENT, _TAKE, _tickets
from bot.services.tickets.reading import get_ticket, history, open_ticket_of, ticket_for
from bot.services.tickets.relaying import owe_conversation, owe_said


async def take(
    session: AsyncSession, limits: Limits, operator: Operator, ticket_id: int, card: int | None = None
) -> Ticket:
    """The operator answers the ticket from now on. Of two at once, one wins; the other gets
    TAKEN_BY_OTHER (or CLOSED). Every card then shows who took it (but `card`, the message whose
    button was pressed, which the caller changes itself)."""
    # Locked first, so a transfer or an escalation cannot move it out of the office between the
    # check and the take.
    ticket = await ticket_for(session, operator, ticket_id, lock=True)
    taken = (await session.execute(_TAKE, {"ticket_id": ticket_id, "taker": operator.telegram_id})).first()
    if taken is None:
        current = await get_ticket(session, ticket_id)
        assert current is not None
        if current.status is Status.CLOSED:
            raise TicketError(CLOSED, current)
        if current.operator_id == operator.telegram_id:
            return current  # pressed twice: already theirs
        raise TicketError(TAKEN_BY_OTHER, current)
    await _SET_CURRENT.execute(session, {"operator_id": operator.telegram_id, "ticket_id": ticket_id})
    await _stop_clock(session, ticket_id, "ticket_remind", "ticket_escalate", NOBODY_ON_DUTY)
    # The question itself waits for an answer: T3 starts now (for a call back, it is the end of the
    # window the citizen chose: the call is due within it, not sooner).
    await timers.set_timer(session, "ticket_unanswered", _timer_key(ticket_id), await _answer_due(session, limits, ticket), {"ticket": ticket_id})
    await notify(session, ticket.citizen_id, ticket_id, Notice.TAKEN)
    await _refresh_cards(session, ticket_id, (operator.telegram_id, card) if card is not None else None)
    # The conversation so far reaches the operator who took it, after the card.
    await owe_conversation(session, operator.telegram_id, await history(session, ticket_id))
    current = await get_ticket(session, ticket_id)
    assert current is not None
    return current


async def _answer_due(session: AsyncSession, limits: Limits, ticket: Ticket) -> timedelta:
    window_to = ticket.details.get("window_to") if ticket.kind == CALLBACK else None
    if window_to:
        return max(timedelta(0), datetime.fromisoformat(window_to) - datetime.now(UTC))
    return await limits.due_at_office(session, ticket.office, limits.answer_after)


async def answerable(session: AsyncSession, operator: Operator, ticket_id: int) -> Ticket:
    """The ticket, locked, if this operator may answer or close it now: theirs, or new at their own
    office (answering it takes it). A new one at another office, even one the national office may
    see, is taken only by pressing Take: a reply to an old message of a ticket since passed on must
    not pull it back."""
    ticket = await ticket_for(session, operator, ticket_id, lock=True)
    if ticket.status is Status.CLOSED:
        raise TicketError(CLOSED, ticket)
    if ticket.status is Status.NEW and ticket.office != operator.office:
        raise TicketError(PASSED_ON, ticket)
    if ticket.status is Status.TAKEN and ticket.operator_id != operator.telegram_id:
        raise TicketError(TAKEN_BY_OTHER, ticket)
    return ticket


async def _assigned(session: AsyncSession, limits: Limits, operator: Operator, ticket_id: int) -> Ticket:
    ticket = await answerable(session, operator, ticket_id)
    if ticket.status is Status.NEW:
        return await take(session, limits, operator, ticket_id)  # answering an untaken ticket takes it
    return ticket


_ANSWERED = (
    update(_tickets).where(_tickets.c.id == bindparam("ticket_id"))
    .values(first_answer_at=func.coalesce(_tickets.c.first_answer_at, func.now()))
)


async def operator_says(
    session: AsyncSession, limits: Limits, operator: Operator, ticket_id: int, content: Content
) -> Ticket:
    """The assignee's message to the citizen (owed at once); it becomes their current ticket."""
    ticket = await _assigned(session, limits, operator, ticket_id)
    message_id = await _say(session, ticket_id, "operator", operator.telegram_id, content)
    await session.execute(_ANSWERED, {"ticket_id": ticket_id})
    await _SET_CURRENT.execute(session, {"operator_id": operator.telegram_id, "ticket_id": ticket_id})
    await _stop_clock(session, ticket_id, "ticket_unanswered")
    await owe_said(session, ticket_id, message_id, content, ticket.citizen_id)
    return ticket


async def make_current(session: AsyncSession, limits: Limits, operator: Operator, ticket_id: int) -> Ticket:
    """The operator's plain messages go to this ticket from now on (it must be theirs)."""
    ticket = await _assigned(session, limits, operator, ticket_id)
    await _SET_CURRENT.execute(session, {"operator_id": operator.telegram_id, "ticket_id": ticket_id})
    return ticket


async def add_note(session: AsyncSession, operator: Operator, ticket_id: int, text: str) -> tuple[Ticket, int]:
    """An internal note on the request, for staff: on its history, marked as a note, never relayed
    to the citizen. Anyone who may work on the request may leave one, open or closed; a note by
    someone other than the request's operator is passed to that operator. Returns the request and
    the note's id."""
    text = text.strip()
    if not text or utf16_length(text) > MAX_STAFF_NOTE_LENGTH:
        raise ValueError("a note is a text of 1 to MAX_STAFF_NOTE_LENGTH characters")
    ticket = await ticket_for(session, operator, ticket_id, lock=True)
    if ticket.citizen_id is None:  # anonymised: a note would be personal data nothing erases
        raise TicketError(CLOSED, ticket)
    note_id = await _say(session, ticket_id, "note", operator.telegram_id, Content("text", text))
    if ticket.is_open and ticket.operator_id is not None and ticket.operator_id != operator.telegram_id:
        await outbox.owe(session, ticket.operator_id, "ticket_note", {"message": note_id})
    return ticket, note_id


async def call_made(session: AsyncSession, limits: Limits, operator: Operator, ticket_id: int, outcome: str) -> Ticket:
    """The operator called the citizen of a "call me back" request and says how it went: "called"
    (done, e.g. a message left), "no_answer" (try again: a reminder comes when, `_call_again_in`),
    "reached". Each call is on the History; the first one is the request's first
    answer, which the time limit T3 counted to."""
    if outcome not in CALL_OUTCOMES:
        raise ValueError(f"unknown call outcome {outcome!r}")
    ticket = await _assigned(session, limits, operator, ticket_id)
    if ticket.kind != CALLBACK:
        raise TicketError(NOT_FOUND, ticket)
    await _say(session, ticket_id, "system", operator.telegram_id, Content("text", extra={"event": "call", "outcome": outcome}))
    await session.execute(_ANSWERED, {"ticket_id": ticket_id})
    await _SET_CURRENT.execute(session, {"operator_id": operator.telegram_id, "ticket_id": ticket_id})
    await _stop_clock(session, ticket_id, "ticket_unanswered")
    if outcome == "no_answer":
        due = await _call_again_in(session, limits, ticket)
        await timers.set_timer(session, CALL_AGAIN, _timer_key(ticket_id), due, {"ticket": ticket_id})
        await notify(session, ticket.citizen_id, ticket_id, Notice.CALL_MISSED)
    else:
        await timers.cancel_timer(session, CALL_AGAIN, _timer_key(ticket_id))
    called = await get_ticket(session, ticket_id)
    assert called is not None
    return called


_MOVE_WINDOW = (
    update(_tickets).where(_tickets.c.id == bindparam("ticket_id"))
    .values(details=_tickets.c.details.op("||")(func.jsonb_build_object(
        "window_from", cast(bindparam("begins"), Text), "window_to", cast(bindparam("ends"), Text)))
    )
)


async def _call_again_in(session: AsyncSession, limits: Limits, ticket: Ticket) -> timedelta:
    """When to call again after nobody answered: within the window the citizen chose while enough
    of it is left; else at the same hours on the office's next working day (the window moves there,
    and the card and the citizen say so); failing both, at the office's next window."""
    now = datetime.now(UTC)
    chosen = ticket.details.get("window_from"), ticket.details.get("window_to")
    if chosen[1] and datetime.fromisoformat(chosen[1]) - now > 2 * CALL_RETRY:
        return CALL_RETRY
    calendar = await limits.calendar(session, ticket.office)
    later = calendar.same_hours_later(*map(datetime.fromisoformat, chosen)) if all(chosen) else None
    if later is None:
        windows = calendar.windows(now + timedelta(minutes=1), CALL_WINDOW, 1)
        if not windows:
            return limits.due_in(calendar, CALL_WINDOW)
        later = windows[0]
    await session.execute(_MOVE_WINDOW, {"ticket_id": ticket.id, "begins": later[0].isoformat(), "ends": later[1].isoformat()})
    return later[0] - now


_CLOSE = (
    update(_tickets).where(_tickets.c.id == bindparam("ticket_id"))
    .values(status=Status.CLOSED.value, closed_at=func.now(), closed_by=bindparam("by"), resolution=bindparam("why"))
)


async def _close(session: AsyncSession, ticket: Ticket, by: str, resolution: str | None) -> Ticket:
    await session.execute(_CLOSE, {"ticket_id": ticket.id, "by": by, "why": resolution})
    await session.execute(_FORGET_CURRENT, {"ticket_id": ticket.id})
    await _stop_clock(session, ticket.id)
    await _refresh_cards(session, ticket.id)
    closed = await get_ticket(session, ticket.id)
    assert closed is not None
    return closed


async def close_by_operator(
    session: AsyncSession, limits: Limits, operator: Operator, ticket_id: int, resolution: str
) -> Ticket:
    """Closed with a short resolution, which the citizen receives with the request to rate it."""
    resolution = cut(resolution.strip(), MAX_NOTE_LENGTH)
    ticket = await _assigned(session, limits, operator, ticket_id)
    closed = await _close(session, ticket, "operator", resolution)
    await notify(session, ticket.citizen_id, ticket_id, Notice.CLOSED)
    return closed


_TRANSFER = (
    update(_tickets).where(_tickets.c.id == bindparam("ticket_id"))
    .values(office=bindparam("to_office"), status=Status.NEW.value, operator_id=None, taken_at=None)
)


async def transfer(
    session: AsyncSession, limits: Limits, operator: Operator, ticket_id: int, office: str, note: str
) -> Ticket:
    """Hand an open ticket to another office (a region, or `national`) with a note. It is new
    there: its operators get the card and the clock starts again."""
    ticket = await ticket_for(session, operator, ticket_id, lock=True)
    if ticket.status is Status.CLOSED:
        raise TicketError(CLOSED, ticket)
    if ticket.status is Status.TAKEN and ticket.operator_id != operator.telegram_id:
        raise TicketError(TAKEN_BY_OTHER, ticket)
    if office == ticket.office:
        raise TicketError(SAME_OFFICE, ticket)
    await _refresh_cards(session, ticket_id)  # the old cards say where it went
    await session.execute(_TRANSFER, {"ticket_id": ticket_id, "to_office": office})
    await session.execute(_FORGET_CURRENT, {"ticket_id": ticket_id})
    await _say(
        session, ticket_id, "system", operator.telegram_id,
        Content("text", cut(note.strip(), MAX_NOTE_LENGTH), extra={"event": "transfer", "from": ticket.office, "to": office}),
    )
    await _stop_clock(session, ticket_id)
    await _start_clock(session, ticket_id, limits, office)
    await _deliver_cards(session, ticket_id, office, alert=limits)
    await notify(session, ticket.citizen_id, ticket_id, Notice.TRANSFERRED)
    moved = await get_ticket(session, ticket_id)
    assert moved is not None
    return moved


_TAKEN_BY = select(_tickets.c.id, _tickets.c.office).where(
    _tickets.c.operator_id == bindparam("operator_id"), _tickets.c.status == Status.TAKEN.value
).order_by(_tickets.c.id).with_for_update()
_RELEASE = (
    update(_tickets).where(_tickets.c.id == bindparam("ticket_id"))
    .values(status=Status.NEW.value, operator_id=None, taken_at=None)
)


async def _back_to_office(
    session: AsyncSession, limits: Limits, ticket_id: int, office: str, by: int, event: str, note: str | None = None
) -> None:
    """The ticket is new at its office again: every card says so, the clock starts again, and the
    office's other operators on duty (or the national office's) get its card; `by` held it."""
    await session.execute(_RELEASE, {"ticket_id": ticket_id})
    await session.execute(_FORGET_CURRENT, {"ticket_id": ticket_id})
    await _say(session, ticket_id, "system", by, Content("text", note, extra={"event": event}))
    await _refresh_cards(session, ticket_id)
    await _stop_clock(session, ticket_id)
    await _start_clock(session, ticket_id, limits, office)
    await _deliver_cards(session, ticket_id, office, skip=frozenset({by}), alert=limits)


async def hand_back(session: AsyncSession, limits: Limits, operator: Operator, ticket_id: int, note: str) -> Ticket:
    """The operator gives the request they hold back to its office's queue, with a note for whoever
    takes it next (on its History)."""
    ticket = await ticket_for(session, operator, ticket_id, lock=True)
    if ticket.status is Status.CLOSED:
        raise TicketError(CLOSED, ticket)
    if ticket.status is Status.TAKEN and ticket.operator_id != operator.telegram_id:
        raise TicketError(TAKEN_BY_OTHER, ticket)
    if ticket.status is not Status.TAKEN:
        raise TicketError(NOT_YOURS, ticket)  # handed back already (a second note), or never taken
    await _back_to_office(session, limits, ticket_id, ticket.office, operator.telegram_id, "handed_back", cut(note.strip(), MAX_NOTE_LENGTH))
    back = await get_ticket(session, ticket_id)
    assert back is not None
    return back


async def hand_back_all(session: AsyncSession, limits: Limits, operator: Operator) -> list[int]:
    """Everything the operator holds goes back to its office's queue (they go off duty and would
    rather colleagues answered meanwhile). Returns the requests handed back."""
    await access.current(session, operator, Act.REQUESTS)
    held = (await session.execute(_TAKEN_BY, {"operator_id": operator.telegram_id})).all()
    for ticket_id, office in held:
        await _back_to_office(session, limits, ticket_id, office, operator.telegram_id, "off_duty")
    return [ticket_id for ticket_id, _ in held]


async def release_tickets_of(session: AsyncSession, limits: Limits, operator: Operator) -> list[int]:
    """An operator was removed or moved: the tickets they held that they may no longer act on go
    back to their offices as new (cards, clock), so no citizen waits on someone who is gone.
    `operator` is the record as it is now. Returns the tickets released."""
    released = []
    for ticket_id, office in (await session.execute(_TAKEN_BY, {"operator_id": operator.telegram_id})).all():
        if access.may(operator, Act.REQUESTS, (office,)):
            continue
        await _back_to_office(session, limits, ticket_id, office, operator.telegram_id, "released")
        released.append(ticket_id)
    return released


async def close_for_forgotten(session: AsyncSession, citizen_id: int) -> None:
    """The citizen withdrew their consent (/forget): their open request is closed and its operator
    told. (Erasing what their tickets hold is issue 5's /forget.)"""
    ticket = await open_ticket_of(session, citizen_id, lock=True)
    if ticket is None:
        return
    await _close(session, ticket, "citizen", None)
    if ticket.operator_id is not None:
        await notify(session, ticket.operator_id, ticket.id, Notice.CITIZEN_CLOSED)


async def close_for_block(session: AsyncSession, citizen_id: int, reason: str) -> Ticket | None:
    """A coordinator blocked the citizen (`bot/services/abuse.py`): their open request, if any, is
    closed with the reason, and its operator told."""
    ticket = await open_ticket_of(session, citizen_id, lock=True)
    if ticket is None:
        return None
    closed = await _close(session, ticket, "block", reason[:MAX_NOTE_LENGTH])
    if ticket.operator_id is not None:
        await notify(session, ticket.operator_id, ticket.id, Notice.BLOCKED)
    return closed
