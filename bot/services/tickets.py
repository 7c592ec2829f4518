"""Tickets: what the knowledge base could not answer, in the hands of a front-office. Knows nothing
of Telegram.

A ticket is a citizen's free question or request for volunteers' help. It starts `new` at the
citizen's regional office; every on-duty operator there (the national office's when the region has
none on duty) is owed a card. The first operator to take it answers it; the citizen and the operator
then talk through the bot. It ends `closed`, by either side, and the citizen may rate it.

Every message a change causes is owed through the outbox in the change's transaction, and every
time limit is a timer row, so neither a crash nor a restart loses them:
- T1 (`Limits.remind_after`): a ticket nobody took reminds the operators who got its card;
- T2 (`Limits.escalate_after`): still nobody, and it goes up to the national office;
- T3 (`Limits.answer_after`): a citizen's message unanswered that long reminds the assignee.

Who may act: an operator of the ticket's office, or of the national office, which sees every region.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.db.models import Operator as OperatorRow
from bot.db.models import is_row_id
from bot.db.models import Ticket as TicketRow
from bot.db.models import TicketLink, TicketMessage
from bot.services import access, outbox, timers
from bot.services.directory import NATIONAL, ServiceHours
from bot.services.access import Act
from bot.services.lengths import cut, utf16_length
from bot.services.staff import Operator

# What one message of a ticket may hold, in UTF-16 units as Telegram counts them (an emoji can be
# two): Telegram's own limits (4,096 for a text, 1,024 for a caption) less room for the header or
# the signature the bot adds when it relays the message (tests/test_telegram_limits.py checks the
# room against every translation and front-office). Checked before a message is accepted, so none
# is accepted and then refused by Telegram on its way.
MAX_TEXT_LENGTH = 3000
MAX_CAPTION_LENGTH = 800
MAX_NOTE_LENGTH = 500
MAX_COMMENT_LENGTH = 1000
RECENT_TICKETS = 10

QUESTION = "question"
HELP = "help"
# Kinds of help a citizen can ask volunteers for (the help form's first question).
HELP_CATEGORIES = ("elderly", "family", "animals", "ecology", "emergency", "other")
# What a message of a ticket can carry: the bot sends each of them on again by its file id.
CONTENT_KINDS = ("text", "photo", "document", "voice", "location")


class Status(StrEnum):
    NEW = "new"
    TAKEN = "taken"
    CLOSED = "closed"


class Notice(StrEnum):
    """Things the bot tells a citizen or an operator about a ticket, rendered in their language."""

    OPENED = "opened"              # citizen: your request №, when to expect an answer
    TAKEN = "taken"                # citizen: an operator of <office> took it
    TRANSFERRED = "transferred"    # citizen: passed to <office>
    CLOSED = "closed"              # citizen: closed, with the resolution; rate 1-5
    REMIND = "remind"              # operators: nobody took № within T1
    ESCALATED = "escalated"        # national operators: № came up after T2
    UNANSWERED = "unanswered"      # assignee: the citizen waits for an answer (T3)
    CITIZEN_CLOSED = "citizen_closed"  # assignee: the citizen closed it
    UNREACHABLE = "unreachable"    # assignee: the citizen blocked the bot
    UNCONFIRMED = "unconfirmed"    # author: their relayed message may not have arrived (not resent)
    BLOCKED = "blocked"            # assignee: a coordinator blocked the citizen; closed with the reason


class TicketError(ValueError):
    """A request about a ticket that cannot be carried out; `reason` says why, for the handler."""

    def __init__(self, reason: str, ticket: Ticket | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ticket = ticket


# The reasons a TicketError carries.
ALREADY_OPEN = "already_open"   # the citizen has an open ticket (`ticket`)
NOT_FOUND = "not_found"         # no such ticket, or not one this operator may see
TAKEN_BY_OTHER = "taken_by_other"
CLOSED = "closed"
NOT_YOURS = "not_yours"         # the operator is not the ticket's assignee
SAME_OFFICE = "same_office"     # a transfer to where it is already
PASSED_ON = "passed_on"         # new at another office than the operator's: Take it there first
NO_OPEN_TICKET = "no_open_ticket"


@dataclass(frozen=True, slots=True)
class Limits:
    """The time limits, counted in the offices' service hours: a request that arrives at night is
    not escalated before anyone could have taken it."""

    remind_after: timedelta   # T1
    escalate_after: timedelta  # T2
    answer_after: timedelta   # T3
    hours: ServiceHours

    @classmethod
    def from_settings(cls, settings: Settings, hours: ServiceHours) -> Limits:
        return cls(
            timedelta(minutes=settings.ticket_remind_after_minutes),
            timedelta(minutes=settings.ticket_escalate_after_minutes),
            timedelta(minutes=settings.ticket_answer_reminder_minutes),
            hours,
        )

    def after(self, limit: timedelta) -> timedelta:
        """From now until `limit` has passed in service hours (roughly: the wait until the office
        opens, then the limit)."""
        now = datetime.now(UTC)
        opening = self.hours.next_opening(now)
        return limit if opening is None else opening - now + limit


@dataclass(frozen=True, slots=True)
class Content:
    """What one message of a ticket holds: text, or a photo/document/voice (with an optional
    caption in `text`), or a location (`extra`: latitude, longitude)."""

    kind: str
    text: str | None = None
    file_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in CONTENT_KINDS:
            raise ValueError(f"unknown content kind {self.kind!r}")

    @property
    def limit(self) -> int:
        """How long its words may be: a text's, or a file's caption."""
        return MAX_TEXT_LENGTH if self.kind == "text" else MAX_CAPTION_LENGTH

    @property
    def too_long(self) -> bool:
        return self.text is not None and utf16_length(self.text) > self.limit


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    citizen_id: int
    kind: str
    category: str
    region: str
    office: str
    language: str
    status: Status
    operator_id: int | None
    operator_name: str | None
    phone: str | None
    details: dict[str, Any]
    created_at: datetime
    closed_at: datetime | None
    resolution: str | None
    rating: int | None
    citizen_unreachable: bool

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Ticket:
        return cls(
            row["id"], row["citizen_id"], row["kind"], row["category"], row["region"], row["office"],
            row["language"], Status(row["status"]), row["operator_id"], row["operator_name"], row["phone"],
            dict(row["details"] or {}), row["created_at"], row["closed_at"], row["resolution"], row["rating"],
            row["citizen_unreachable"],
        )

    @property
    def is_open(self) -> bool:
        return self.status is not Status.CLOSED


@dataclass(frozen=True, slots=True)
class Said:
    """One stored message of a ticket's conversation."""

    id: int
    ticket_id: int
    author: str
    author_id: int | None
    content: Content
    created_at: datetime


_tickets = TicketRow.__table__
_messages = TicketMessage.__table__
_links = TicketLink.__table__
_operators = OperatorRow.__table__

_TICKET_COLUMNS = (*_tickets.c, _operators.c.name.label("operator_name"))
_TICKET_FROM = _tickets.outerjoin(_operators, _operators.c.telegram_id == _tickets.c.operator_id)
_BY_ID = select(*_TICKET_COLUMNS).select_from(_TICKET_FROM).where(_tickets.c.id == bindparam("ticket_id"))
# Locked while a change reads and writes it: a Take, a transfer, a citizen's message and a close of
# the same ticket happen one after the other, each seeing what the one before did.
_BY_ID_LOCKED = _BY_ID.with_for_update(of=_tickets)
_BY_ID_UNLESS_LOCKED = _BY_ID.with_for_update(of=_tickets, skip_locked=True)
_OPEN_OF_CITIZEN = (
    select(*_TICKET_COLUMNS).select_from(_TICKET_FROM)
    .where(_tickets.c.citizen_id == bindparam("citizen_id"), _tickets.c.status != Status.CLOSED.value)
)
_OPEN_OF_CITIZEN_LOCKED = _OPEN_OF_CITIZEN.with_for_update(of=_tickets)
_OF_CITIZEN = (
    select(*_TICKET_COLUMNS).select_from(_TICKET_FROM)
    .where(_tickets.c.citizen_id == bindparam("citizen_id"))
    .order_by(_tickets.c.id.desc()).limit(RECENT_TICKETS)
)
_NEW_TICKET = insert(_tickets).returning(_tickets.c.id)
_SAY = insert(_messages).returning(_messages.c.id)
# The first Take wins: the status is checked and changed in one statement, so of two operators
# pressing at once one updates the row and the other finds it taken.
_TAKE = (
    update(_tickets)
    .where(_tickets.c.id == bindparam("ticket_id"), _tickets.c.status == Status.NEW.value)
    .values(status=Status.TAKEN.value, operator_id=bindparam("taker"), taken_at=func.now())
    .returning(_tickets.c.id)
)
_SET_CURRENT = (
    update(_operators).where(_operators.c.telegram_id == bindparam("operator_id"))
    .values(current_ticket=bindparam("ticket_id"))
)
_FORGET_CURRENT = (
    update(_operators).where(_operators.c.current_ticket == bindparam("ticket_id")).values(current_ticket=None)
)
# Whoever was owed this ticket's card: delivered ones are linked, the rest are still in the outbox,
# which sends a chat's messages in order, so a refresh owed now reaches each card after it.
_CARD_CHATS = text(
    """
    SELECT chat_id FROM ticket_links WHERE ticket_id = :ticket_id AND is_card
    UNION
    SELECT chat_id FROM outbox
    WHERE kind = 'ticket_card' AND sent_at IS NULL AND failed IS NULL AND (payload->>'ticket')::bigint = :ticket_id
    """
)
_ON_DUTY = (
    select(_operators.c.telegram_id)
    .where(_operators.c.office == bindparam("office"), _operators.c.active, _operators.c.on_duty)
    .order_by(_operators.c.telegram_id)
)
_QUEUE = (
    select(*_TICKET_COLUMNS).select_from(_TICKET_FROM)
    .where(_tickets.c.status != Status.CLOSED.value)
    .order_by(_tickets.c.id).limit(bindparam("limit"))
)
_QUEUE_OF_OFFICE = _QUEUE.where(_tickets.c.office == bindparam("office"))
_MINE = (
    select(*_TICKET_COLUMNS).select_from(_TICKET_FROM)
    .where(_tickets.c.operator_id == bindparam("operator_id"), _tickets.c.status == Status.TAKEN.value)
    .order_by(_tickets.c.id)
)
_HISTORY = (
    select(_messages).where(_messages.c.ticket_id == bindparam("ticket_id")).order_by(_messages.c.id)
)
_MESSAGE = select(_messages).where(_messages.c.id == bindparam("message_id"))
_FIRST_FROM_CITIZEN = (
    select(_messages).where(_messages.c.ticket_id == bindparam("ticket_id"), _messages.c.author == "citizen")
    .order_by(_messages.c.id).limit(1)
)
_new_link = pg_insert(_links).values(
    chat_id=bindparam("chat_id"), message_id=bindparam("message_id"), ticket_id=bindparam("ticket_id"),
    is_card=bindparam("is_card"),
)
_LINK = _new_link.on_conflict_do_update(
    index_elements=[_links.c.chat_id, _links.c.message_id], set_={"is_card": _new_link.excluded.is_card}
)
_LINKED = select(_links.c.ticket_id).where(
    _links.c.chat_id == bindparam("chat_id"), _links.c.message_id == bindparam("message_id")
)
_CARDS_IN_CHAT = select(_links.c.message_id).where(
    _links.c.ticket_id == bindparam("ticket_id"), _links.c.chat_id == bindparam("chat_id"), _links.c.is_card
)


# --- reading -------------------------------------------------------------------------------------

async def get_ticket(session: AsyncSession, ticket_id: int, *, lock: bool = False) -> Ticket | None:
    if not is_row_id(ticket_id):
        return None
    row = (await session.execute(_BY_ID_LOCKED if lock else _BY_ID, {"ticket_id": ticket_id})).mappings().first()
    return Ticket.from_row(row) if row else None


async def _ticket_unless_locked(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """The ticket, locked; timers.Busy if a transaction in progress holds it (see timers.Busy)."""
    row = (await session.execute(_BY_ID_UNLESS_LOCKED, {"ticket_id": ticket_id})).mappings().first()
    if row is not None:
        return Ticket.from_row(row)
    if await get_ticket(session, ticket_id) is not None:
        raise timers.Busy
    return None


async def open_ticket_of(session: AsyncSession, citizen_id: int, *, lock: bool = False) -> Ticket | None:
    statement = _OPEN_OF_CITIZEN_LOCKED if lock else _OPEN_OF_CITIZEN
    row = (await session.execute(statement, {"citizen_id": citizen_id})).mappings().first()
    return Ticket.from_row(row) if row else None


async def tickets_of(session: AsyncSession, citizen_id: int) -> list[Ticket]:
    """The citizen's most recent tickets, newest first."""
    return [Ticket.from_row(r) for r in (await session.execute(_OF_CITIZEN, {"citizen_id": citizen_id})).mappings()]


async def ticket_for(session: AsyncSession, operator: Operator, ticket_id: int, *, lock: bool = False) -> Ticket:
    """The ticket if this operator may work on it (see `access`: the national office every region's,
    a regional one its own); otherwise NOT_FOUND, whatever the reason, so ids of other regions'
    tickets reveal nothing. The operator's record is checked and locked first (access.Denied if
    they were removed or moved meanwhile), so what they do with it commits only while they may."""
    await access.current(session, operator, Act.REQUESTS)
    ticket = await get_ticket(session, ticket_id, lock=lock)
    if ticket is None or not access.may(operator, Act.REQUESTS, (ticket.office,)):
        raise TicketError(NOT_FOUND)
    return ticket


async def history_for(session: AsyncSession, operator: Operator, ticket_id: int) -> tuple[Ticket, list[Said]]:
    """A ticket's whole conversation, for an operator who may work on it and holds it (or it is
    new), or for a coordinator supervising their office; a colleague holding none of these learns
    only that someone else has it (TAKEN_BY_OTHER)."""
    ticket = await ticket_for(session, operator, ticket_id)
    held_by_other = ticket.operator_id is not None and ticket.operator_id != operator.telegram_id
    if held_by_other and not access.may(operator, Act.SUPERVISE, (ticket.office,)):
        raise TicketError(TAKEN_BY_OTHER, ticket)
    return ticket, await history(session, ticket_id)


async def queue(session: AsyncSession, operator: Operator, limit: int = 30) -> list[Ticket]:
    """Open tickets of the operator's office (every office's for the national one), oldest first."""
    await access.current(session, operator, Act.REQUESTS)
    if operator.office == NATIONAL:
        result = await session.execute(_QUEUE, {"limit": limit})
    else:
        result = await session.execute(_QUEUE_OF_OFFICE, {"office": operator.office, "limit": limit})
    return [Ticket.from_row(r) for r in result.mappings()]


async def taken_by(session: AsyncSession, operator: Operator) -> list[Ticket]:
    await access.current(session, operator, Act.REQUESTS)
    return [Ticket.from_row(r) for r in (await session.execute(_MINE, {"operator_id": operator.telegram_id})).mappings()]


def _said(row: Mapping[str, Any]) -> Said:
    content = Content(row["kind"], row["text"], row["file_id"], dict(row["extra"] or {}))
    return Said(row["id"], row["ticket_id"], row["author"], row["author_id"], content, row["created_at"])


async def history(session: AsyncSession, ticket_id: int) -> list[Said]:
    return [_said(r) for r in (await session.execute(_HISTORY, {"ticket_id": ticket_id})).mappings()]


async def first_from_citizen(session: AsyncSession, ticket_id: int) -> Said | None:
    """What the citizen asked first: the message a ticket's card shows."""
    row = (await session.execute(_FIRST_FROM_CITIZEN, {"ticket_id": ticket_id})).mappings().first()
    return _said(row) if row else None


async def get_message(session: AsyncSession, message_id: int) -> Said | None:
    row = (await session.execute(_MESSAGE, {"message_id": message_id})).mappings().first()
    return _said(row) if row else None


async def linked_ticket(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    """The ticket a bot message in this chat belongs to (what an operator replied to)."""
    return (await session.execute(_LINKED, {"chat_id": chat_id, "message_id": message_id})).scalar_one_or_none()


# What the worker is sending to a chat right now is locked until the transaction that marks it sent,
# and the link of a ticket's message commits in that same transaction.
_IN_FLIGHT_TO_CHAT = text("SELECT 1 FROM outbox WHERE chat_id = :chat_id AND sent_at IS NULL AND failed IS NULL FOR SHARE")


async def replied_ticket(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    """The ticket a reply to message `message_id` in `chat_id` belongs to, by what the bot recorded
    when it sent that message. A reply quicker than the link's commit (the operator saw the message
    the moment Telegram had it) waits for the chat's sends in flight to settle, then looks again."""
    found = await linked_ticket(session, chat_id, message_id)
    if found is None:
        await session.execute(_IN_FLIGHT_TO_CHAT, {"chat_id": chat_id})
        found = await linked_ticket(session, chat_id, message_id)
    return found


async def link(session: AsyncSession, chat_id: int, message_id: int, ticket_id: int, *, is_card: bool) -> None:
    await session.execute(_LINK, {"chat_id": chat_id, "message_id": message_id, "ticket_id": ticket_id, "is_card": is_card})


async def cards_in_chat(session: AsyncSession, ticket_id: int, chat_id: int) -> list[int]:
    return list((await session.execute(_CARDS_IN_CHAT, {"ticket_id": ticket_id, "chat_id": chat_id})).scalars())


# --- what is owed ----------------------------------------------------------------------------------

async def notify(session: AsyncSession, chat_id: int, ticket_id: int, notice: Notice) -> None:
    await outbox.owe(session, chat_id, "ticket_notice", {"ticket": ticket_id, "notice": notice.value})


async def _on_duty(session: AsyncSession, office: str) -> list[int]:
    return list((await session.execute(_ON_DUTY, {"office": office})).scalars())


async def _deliver_cards(
    session: AsyncSession, ticket_id: int, office: str, *, notice: Notice | None = None, skip: frozenset[int] = frozenset()
) -> list[int]:
    """Owe the ticket's card (after `notice`, if any) to the office's on-duty operators, or the
    national office's when none is on duty there, but those in `skip`; returns who gets it."""
    recipients = await _on_duty(session, office)
    if not recipients and office != NATIONAL:
        recipients = await _on_duty(session, NATIONAL)
    recipients = [chat_id for chat_id in recipients if chat_id not in skip]
    for chat_id in recipients:
        if notice is not None:
            await notify(session, chat_id, ticket_id, notice)
        await outbox.owe(session, chat_id, "ticket_card", {"ticket": ticket_id})
    return recipients


async def _refresh_cards(session: AsyncSession, ticket_id: int, shown: tuple[int, int] | None = None) -> None:
    """Every card of the ticket shows its new state (who took it, where it went, closed), except
    `shown` (chat, message), the card the acting operator sees changed already."""
    for chat_id in (await session.execute(_CARD_CHATS, {"ticket_id": ticket_id})).scalars():
        payload: dict[str, Any] = {"ticket": ticket_id}
        if shown is not None and shown[0] == chat_id:
            payload["skip"] = shown[1]
        await outbox.owe(session, chat_id, "ticket_refresh", payload)


async def _say(session: AsyncSession, ticket_id: int, author: str, author_id: int | None, content: Content) -> int:
    if content.too_long:  # the handlers refuse it with a reason first; this keeps the rule whole
        raise ValueError("a ticket's message is longer than it may be")
    return (
        await session.execute(
            _SAY,
            {"ticket_id": ticket_id, "author": author, "author_id": author_id, "kind": content.kind,
             "text": content.text, "file_id": content.file_id, "extra": content.extra},
        )
    ).scalar_one()


def _timer_key(ticket_id: int) -> str:
    return str(ticket_id)


async def _start_clock(session: AsyncSession, ticket_id: int, limits: Limits) -> None:
    key = _timer_key(ticket_id)
    await timers.set_timer(session, "ticket_remind", key, limits.after(limits.remind_after), {"ticket": ticket_id})
    await timers.set_timer(session, "ticket_escalate", key, limits.after(limits.escalate_after), {"ticket": ticket_id})


async def _stop_clock(session: AsyncSession, ticket_id: int, *kinds: str) -> None:
    for kind in kinds or ("ticket_remind", "ticket_escalate", "ticket_unanswered"):
        await timers.cancel_timer(session, kind, _timer_key(ticket_id))


# --- citizens --------------------------------------------------------------------------------------

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
    await _start_clock(session, ticket_id, limits)
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
        # T3 counts from the first message still unanswered, so later ones do not move it.
        await timers.set_timer(
            session, "ticket_unanswered", _timer_key(ticket.id), limits.after(limits.answer_after), {"ticket": ticket.id},
            keep_pending=True,
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


# --- operators -------------------------------------------------------------------------------------

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
    await session.execute(_SET_CURRENT, {"operator_id": operator.telegram_id, "ticket_id": ticket_id})
    await _stop_clock(session, ticket_id, "ticket_remind", "ticket_escalate")
    # The question itself waits for an answer: T3 starts now.
    await timers.set_timer(
        session, "ticket_unanswered", _timer_key(ticket_id), limits.after(limits.answer_after), {"ticket": ticket_id}
    )
    await notify(session, ticket.citizen_id, ticket_id, Notice.TAKEN)
    await _refresh_cards(session, ticket_id, (operator.telegram_id, card) if card is not None else None)
    # The conversation so far reaches the operator who took it, after the card.
    for said in await history(session, ticket_id):
        if said.author == "citizen":
            await outbox.owe(session, operator.telegram_id, "ticket_message", {"message": said.id})
    current = await get_ticket(session, ticket_id)
    assert current is not None
    return current


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
    await session.execute(_SET_CURRENT, {"operator_id": operator.telegram_id, "ticket_id": ticket_id})
    await _stop_clock(session, ticket_id, "ticket_unanswered")
    await outbox.owe(session, ticket.citizen_id, "ticket_message", {"message": message_id})
    return ticket


async def make_current(session: AsyncSession, limits: Limits, operator: Operator, ticket_id: int) -> Ticket:
    """The operator's plain messages go to this ticket from now on (it must be theirs)."""
    ticket = await _assigned(session, limits, operator, ticket_id)
    await session.execute(_SET_CURRENT, {"operator_id": operator.telegram_id, "ticket_id": ticket_id})
    return ticket


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
    await _start_clock(session, ticket_id, limits)
    await _deliver_cards(session, ticket_id, office)
    await notify(session, ticket.citizen_id, ticket_id, Notice.TRANSFERRED)
    moved = await get_ticket(session, ticket_id)
    assert moved is not None
    return moved


_TAKEN_BY = select(_tickets.c.id, _tickets.c.office).where(
    _tickets.c.operator_id == bindparam("operator_id"), _tickets.c.status == Status.TAKEN.value
).with_for_update()
_RELEASE = (
    update(_tickets).where(_tickets.c.id == bindparam("ticket_id"))
    .values(status=Status.NEW.value, operator_id=None, taken_at=None)
)


async def release_tickets_of(session: AsyncSession, limits: Limits, operator: Operator) -> list[int]:
    """An operator was removed or moved: the tickets they held that they may no longer act on go
    back to their offices as new (cards, clock), so no citizen waits on someone who is gone.
    `operator` is the record as it is now. Returns the tickets released."""
    released = []
    for ticket_id, office in (await session.execute(_TAKEN_BY, {"operator_id": operator.telegram_id})).all():
        if access.may(operator, Act.REQUESTS, (office,)):
            continue
        await session.execute(_RELEASE, {"ticket_id": ticket_id})
        await _say(session, ticket_id, "system", operator.telegram_id, Content("text", extra={"event": "released"}))
        await _refresh_cards(session, ticket_id)
        await _stop_clock(session, ticket_id)
        await _start_clock(session, ticket_id, limits)
        await _deliver_cards(session, ticket_id, office)
        released.append(ticket_id)
    if released:
        await session.execute(
            update(_operators)
            .where(_operators.c.telegram_id == operator.telegram_id, _operators.c.current_ticket.in_(released))
            .values(current_ticket=None)
        )
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


# --- the bot's own side: deliveries and time limits ------------------------------------------------

_UNREACHABLE = (
    update(_tickets)
    .where(_tickets.c.citizen_id == bindparam("citizen"), _tickets.c.status != Status.CLOSED.value,
           _tickets.c.citizen_unreachable.is_(False))
    .values(citizen_unreachable=True)
    .returning(_tickets.c.id, _tickets.c.operator_id)
)
_REACHABLE = (
    update(_tickets)
    .where(_tickets.c.citizen_id == bindparam("citizen"), _tickets.c.citizen_unreachable)
    .values(citizen_unreachable=False)
)


async def citizen_blocked(session: AsyncSession, citizen_id: int) -> None:
    """Telegram refused a message to this citizen (they blocked the bot): their open ticket is
    marked unreachable and its operator is told, once."""
    for ticket_id, operator_id in (await session.execute(_UNREACHABLE, {"citizen": citizen_id})).all():
        if operator_id is not None:
            await notify(session, operator_id, ticket_id, Notice.UNREACHABLE)


async def citizen_is_back(session: AsyncSession, citizen_id: int) -> None:
    """The citizen wrote again, so messages reach them again."""
    await session.execute(_REACHABLE, {"citizen": citizen_id})


async def relay_unconfirmed(session: AsyncSession, message_id: int) -> None:
    """A message of the conversation may not have reached the other side (the connection broke
    before Telegram confirmed it) and is not sent again, so that it never arrives twice: its
    author is told, to send it again if it matters."""
    said = await get_message(session, message_id)
    ticket = await get_ticket(session, said.ticket_id) if said is not None else None
    if ticket is None:
        return
    author = ticket.citizen_id if said.author == "citizen" else said.author_id
    if author is not None:
        await notify(session, author, ticket.id, Notice.UNCONFIRMED)


async def _remind_untaken(session: AsyncSession, payload: dict[str, Any]) -> None:
    ticket = await get_ticket(session, payload["ticket"])
    if ticket is None or ticket.status is not Status.NEW:
        return
    await _deliver_cards(session, ticket.id, ticket.office, notice=Notice.REMIND)


async def _escalate_untaken(session: AsyncSession, payload: dict[str, Any]) -> None:
    ticket = await _ticket_unless_locked(session, payload["ticket"])
    if ticket is None or ticket.status is not Status.NEW or ticket.office == NATIONAL:
        return
    have_card = frozenset((await session.execute(_CARD_CHATS, {"ticket_id": ticket.id})).scalars())
    await _refresh_cards(session, ticket.id)
    await session.execute(
        update(_tickets).where(_tickets.c.id == ticket.id).values(office=NATIONAL, escalated_at=func.now())
    )
    await _say(session, ticket.id, "system", None, Content("text", extra={"event": "escalated", "from": ticket.office}))
    # National operators who got its card already (their region had nobody on duty) are not sent
    # another; the refresh above shows them it is theirs now.
    await _deliver_cards(session, ticket.id, NATIONAL, notice=Notice.ESCALATED, skip=have_card)


async def _remind_unanswered(session: AsyncSession, payload: dict[str, Any]) -> None:
    ticket = await get_ticket(session, payload["ticket"])
    if ticket is None or ticket.status is not Status.TAKEN or ticket.operator_id is None:
        return
    await notify(session, ticket.operator_id, ticket.id, Notice.UNANSWERED)


timers.register("ticket_remind", _remind_untaken)
timers.register("ticket_escalate", _escalate_untaken)
timers.register("ticket_unanswered", _remind_unanswered)

