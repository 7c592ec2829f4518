"""What a ticket is: its states, the reasons a request about one is refused, its time limits, what a
message of it holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services.calendar import WorkingCalendar, calendar_for
from bot.services.directory import ServiceHours
from bot.services.lengths import utf16_length


# What one message of a ticket may hold, in UTF-16 units as Telegram counts them (an emoji can be
# two): Telegram's own limits (4,096 for a text, 1,024 for a caption) less room for the header or
# the signature the bot adds when it relays the message (tests/test_telegram_limits.py checks the
# room against every translation and front-office). Checked before a message is accepted, so none
# is accepted and then refused by Telegram on its way.
MAX_TEXT_LENGTH = 3000
MAX_CAPTION_LENGTH = 800
MAX_NOTE_LENGTH = 500
MAX_COMMENT_LENGTH = 1000
MAX_STAFF_NOTE_LENGTH = 1000  # an internal note on a request, for staff only
RECENT_TICKETS = 10

QUESTION = "question"
HELP = "help"
CALLBACK = "callback"  # "call me back": a phone and a time window; its category is the same word
CALL_OUTCOMES = ("called", "no_answer", "reached")  # what an operator marks after a call
CALL_WINDOW = timedelta(hours=2)  # the windows a citizen chooses from
CALL_RETRY = timedelta(minutes=30)  # "no answer" within the citizen's window: the next try
# Kinds of help a citizen can ask volunteers for (the help form's first question).
HELP_CATEGORIES = ("elderly", "family", "animals", "ecology", "emergency", "other")
# What a message of a ticket can carry: the bot sends each of them on again by its file id (a
# location and a contact by their values).
CONTENT_KINDS = (
    "text", "photo", "video", "animation", "document", "audio", "voice", "video_note", "sticker", "contact", "location",
)
# Kinds Telegram sends with a caption; the others get the header or signature as a message of its own.
CAPTIONED_KINDS = ("photo", "video", "animation", "document", "audio", "voice")


class Status(StrEnum):
    NEW = "new"
    TAKEN = "taken"
    CLOSED = "closed"


class Notice(StrEnum):
    """Things the bot tells a citizen or an operator about a ticket, rendered in their language."""

    OPENED = "opened"              # citizen: your request №, when to expect an answer
    REOPENED = "reopened"          # citizen: № is open again; its operator: the citizen reopened it
    CALL_AGAIN = "call_again"      # assignee: no answer last time; time to call again
    CALL_DUE = "call_due"          # assignee: the window the citizen chose has begun
    CALL_MISSED = "call_missed"    # citizen: an operator called and could not reach them
    REOPENED_QUEUE = "reopened_queue"  # office operators: reopened, waiting to be taken
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
ALREADY_THEIRS = "already_theirs"  # reassigning a request to whoever holds it
CANNOT_TAKE = "cannot_take"  # reassigning to someone off duty, removed, or of another office
TOO_LATE = "too_late"  # reopening a request closed too long ago (or by a block, or anonymised)


@dataclass(frozen=True, slots=True)
class Limits:
    """The time limits, counted in the offices' service hours: a request that arrives at night is
    not escalated before anyone could have taken it."""

    remind_after: timedelta   # T1
    escalate_after: timedelta  # T2
    answer_after: timedelta   # T3
    hours: ServiceHours
    # Nobody on duty could take a new request: the coordinators are alerted again this often.
    nobody_on_duty_repeat: timedelta = timedelta(minutes=30)
    # A citizen who writes to an operator this soon after a close is asked whether it is about it.
    reopen_within: timedelta = timedelta(days=7)

    @classmethod
    def from_settings(cls, settings: Settings, hours: ServiceHours) -> Limits:
        return cls(
            timedelta(minutes=settings.ticket_remind_after_minutes),
            timedelta(minutes=settings.ticket_escalate_after_minutes),
            timedelta(minutes=settings.ticket_answer_reminder_minutes),
            hours,
            timedelta(minutes=settings.ticket_nobody_on_duty_repeat_minutes),
            timedelta(days=settings.ticket_reopen_days),
        )

    async def calendar(self, session: AsyncSession, office: str | None) -> WorkingCalendar:
        """The office's working calendar from today on: its hours, public holidays, days off."""
        return await calendar_for(session, self.hours, office, datetime.now(UTC).astimezone(self.hours.zone).date())

    @staticmethod
    def due_in(calendar: WorkingCalendar, limit: timedelta) -> timedelta:
        """From now until `limit` of the calendar's working time has passed."""
        now = datetime.now(UTC)
        return calendar.deadline(now, limit) - now

    async def due_at_office(self, session: AsyncSession, office: str | None, limit: timedelta) -> timedelta:
        return self.due_in(await self.calendar(session, office), limit)


@dataclass(frozen=True, slots=True)
class Content:
    """What one message of a ticket holds: text; or a file (`file_id`) with an optional caption in
    `text`; or a location (`extra`: latitude, longitude) or a contact (`extra`: phone_number,
    first_name, last_name). `extra` also keeps the author's own message (`from_message`), so an
    edit of it can follow, and the album it came in (`album`)."""

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
    author_name: str | None = None  # a member of staff's (notes, in the history)
