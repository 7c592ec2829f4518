"""Who among the front-offices' staff may do what: the permission table, checked by the services
in the transaction of the action itself. Knows nothing of Telegram.

Four kinds of staff: an operator or a coordinator, of a region's front-office or of the national
one. For each action the table says how far each kind reaches:

- `ALL`: every region's objects;
- `OWN`: only objects of their own office (a request at that office or from its region, a deed of
  its region, an announcement to its region's residents, an operator of that office);
- `NONE`: not at all.

A citizen, a removed operator, and anyone whose record changed since the update arrived (moved to
another office, made an operator again) may do nothing. `require` re-reads the actor's record and
keeps it locked until the action commits, so a Take that races `/remove_operator` either sees the
removal and is refused, or commits first and is then released by the removal; never a ticket left
with an inactive operator.

Buttons and commands shown to people are a convenience; this table is the permission. The README's
"Who may do what" shows the same table, and tests/test_permissions.py walks it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum, StrEnum

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.driver import Statement
from bot.db.models import Operator as OperatorRow
from bot.services.directory import NATIONAL
from bot.services.staff import COLUMNS, Operator, Role


class Scope(Enum):
    NONE = 0
    OWN = 1
    ALL = 2


class Act(StrEnum):
    """Everything the staff do, by what it touches. Each command and button maps to one."""

    REQUESTS = "requests"  # cards, Take, Answer, Transfer, Close, notes, saved replies, /queue, /my, /ticket
    SUPERVISE = "supervise"  # the History of a request another operator holds or held
    EXPORT_REQUESTS = "export_requests"  # /tickets_export
    RECORD = "record"  # /ticket_record: one request's full record, with personal data
    ERASE = "erase"  # /erase: a request's citizen's personal data
    BLOCK = "block"  # /block, /unblock the author of a request
    AUDIT = "audit"  # /audit
    LIST_OPERATORS = "list_operators"  # /operators
    INVITE = "invite"  # /invite
    REMOVE_OPERATOR = "remove_operator"  # /remove_operator (a regional coordinator: operators, not coordinators)
    MOVE_OPERATOR = "move_operator"  # /move_operator
    DUTY = "duty"  # /duty
    ANNOUNCE = "announce"  # /announce (a regional coordinator: to their region's residents only)
    CONTROL_ANNOUNCEMENTS = "control_announcements"  # /announcements, Pause, Resume, Cancel
    REVIEW_DEEDS = "review_deeds"  # /deeds and its buttons
    EXPORT_MARATHON = "export_marathon"  # /marathon_export
    MARATHON_SETTINGS = "marathon_settings"  # /marathon_dates, /marathon_limit, /marathon_kind, /nominations
    STATS = "stats"  # /stats
    EDIT_KNOWLEDGE = "edit_knowledge"  # /faq: the knowledge base's topics, questions, answers, history
    DAYS_OFF = "days_off"  # /days_off: days an office does not work (regional: their own office's)
    OFFICE_DETAILS = "office_details"  # /office: an office's phone, e-mail, link, address, map pin, hours
    SAVED_REPLIES = "saved_replies"  # /replies: keeping an office's saved replies (sending them is REQUESTS)
    WORKLOAD = "workload"  # /desk: requests waiting and held per operator, and reassigning one


@dataclass(frozen=True, slots=True)
class Reach:
    """How far each kind of staff reaches for one action."""

    regional_operator: Scope
    national_operator: Scope
    regional_coordinator: Scope
    national_coordinator: Scope


N, O, A = Scope.NONE, Scope.OWN, Scope.ALL
TABLE: dict[Act, Reach] = {
    Act.REQUESTS: Reach(O, A, O, A),
    Act.SUPERVISE: Reach(N, N, O, A),
    Act.EXPORT_REQUESTS: Reach(N, N, O, A),
    Act.RECORD: Reach(N, N, O, A),
    Act.ERASE: Reach(N, N, O, A),
    Act.BLOCK: Reach(N, N, O, A),
    Act.AUDIT: Reach(N, N, N, A),
    Act.LIST_OPERATORS: Reach(N, N, O, A),
    Act.INVITE: Reach(N, N, O, A),
    Act.REMOVE_OPERATOR: Reach(N, N, O, A),
    Act.MOVE_OPERATOR: Reach(N, N, N, A),
    Act.DUTY: Reach(O, O, O, O),
    Act.ANNOUNCE: Reach(N, N, O, A),
    Act.CONTROL_ANNOUNCEMENTS: Reach(N, N, O, A),
    Act.REVIEW_DEEDS: Reach(O, A, O, A),
    Act.EXPORT_MARATHON: Reach(N, N, O, A),
    Act.MARATHON_SETTINGS: Reach(N, N, N, A),
    Act.STATS: Reach(O, A, O, A),
    Act.EDIT_KNOWLEDGE: Reach(N, N, N, A),
    Act.DAYS_OFF: Reach(N, N, O, A),
    Act.OFFICE_DETAILS: Reach(N, N, O, A),
    Act.SAVED_REPLIES: Reach(N, N, O, A),
    Act.WORKLOAD: Reach(N, N, O, A),
}
del N, O, A


class Refusal(StrEnum):
    NOT_STAFF = "not_staff"  # not an active operator (a citizen, removed, or changed since)
    NOT_ALLOWED = "not_allowed"  # the action is beyond this kind of staff
    OTHER_OFFICE = "other_office"  # the object belongs to another office


class Denied(Exception):
    """The actor may not do this; nothing of the action may be kept (the update rolls back)."""

    def __init__(self, act: Act, reason: Refusal) -> None:
        super().__init__(f"{act.value}: {reason.value}")
        self.act = act
        self.reason = reason


def scope(actor: Operator | None, act: Act) -> Scope:
    if actor is None or not actor.active:
        return Scope.NONE
    reach = TABLE[act]
    national = actor.office == NATIONAL
    if actor.role is Role.COORDINATOR:
        return reach.national_coordinator if national else reach.regional_coordinator
    return reach.national_operator if national else reach.regional_operator


def may(actor: Operator | None, act: Act, offices: Iterable[str | None] | None = None) -> bool:
    """Whether `actor` may do `act` at all (`offices` None), or on an object that belongs to any of
    `offices`."""
    reach = scope(actor, act)
    if reach is Scope.NONE:
        return False
    if reach is Scope.ALL or offices is None:
        return True
    assert actor is not None
    return actor.office in set(offices)


def own_region(actor: Operator, act: Act) -> str | None:
    """The one region whose objects `actor` reaches for `act`: None when they reach all."""
    return None if scope(actor, act) is Scope.ALL else actor.office


_operators = OperatorRow.__table__
# FOR NO KEY UPDATE: /remove_operator and /move_operator wait for the action to commit (and then
# release what it took), while foreign-key checks of other transactions are not held up.
_ACTOR_LOCKED = Statement(
    select(*COLUMNS).where(_operators.c.telegram_id == bindparam("telegram_id"))
    .with_for_update(key_share=True)
)


async def current(session: AsyncSession, actor: Operator | None, act: Act) -> Operator:
    """The actor's record as it is now, locked until the update commits; Denied if they are not
    the active staff member, of the office and role, that the update arrived with."""
    if actor is None:
        raise Denied(act, Refusal.NOT_STAFF)
    row = await _ACTOR_LOCKED.fetchrow(session, {"telegram_id": actor.telegram_id})
    fresh = Operator.from_row(row) if row is not None else None
    if fresh is None or not fresh.active or fresh.office != actor.office or fresh.role is not actor.role:
        raise Denied(act, Refusal.NOT_STAFF)
    return fresh


async def require(
    session: AsyncSession, actor: Operator | None, act: Act, offices: Iterable[str | None] | None = None
) -> Operator:
    """The actor, checked now and locked (see `current`), if they may do `act` (on an object of
    any of `offices`); otherwise Denied, with the reason."""
    fresh = await current(session, actor, act)
    if scope(fresh, act) is Scope.NONE:
        raise Denied(act, Refusal.NOT_ALLOWED)
    if not may(fresh, act, offices):
        raise Denied(act, Refusal.OTHER_OFFICE)
    return fresh


async def scoped_region(session: AsyncSession, actor: Operator | None, act: Act, region: str | None) -> str | None:
    """The region an export or a report by `actor` covers: the one asked for, if they may; their own
    if they asked for none and reach only their own; None (all) for the national office."""
    fresh = await require(session, actor, act, None if region is None else (region,))
    return region if region is not None else own_region(fresh, act)
