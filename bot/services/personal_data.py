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
from bot.db.models import is_row_id
from bot.services import access, marathon, marathon_export, tickets, timers, users
from bot.services.access import Act
from bot.services.knowledge import gaps as knowledge_gaps
from bot.services.staff import Operator

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
    OPERATOR_ADDED = "operator_added"  # from the command line
    OPERATOR_INVITED = "operator_invited"  # a coordinator made an invite link
    OPERATOR_JOINED = "operator_joined"  # someone became an operator through an invite link
    OPERATOR_REMOVED = "operator_removed"
    OPERATOR_MOVED = "operator_moved"
    # Telegram refused the bot's messages to an operator on duty (never opened the bot, or blocked
    # it): taken off duty by the bot (`operators.unreachable`).
    OPERATOR_UNREACHABLE = "operator_unreachable"
    RETENTION_PEOPLE = "retention_people"  # people silent for RETENTION_DAYS erased by it
    RETENTION_MARATHON = "retention_marathon"  # a long-finished marathon's deeds made anonymous by it
    MARATHON_EXPORT = "marathon_export"  # participants (ids, names) and deeds exported
    BLOCK = "block"  # a coordinator blocked a request's author (`bot/services/abuse.py`)
    UNBLOCK = "unblock"
    KNOWLEDGE_CHANGED = "knowledge_changed"  # the knowledge base: the text before and after (`knowledge.store`)
    SAVED_REPLY_CHANGED = "saved_reply_changed"  # an office's saved reply: the text before and after
    APPROVAL_WITHDRAWN = "approval_withdrawn"  # a deed's approval taken back: the deed, who had approved it
    CERTIFICATE_WITHDRAWN = "certificate_withdrawn"  # a coordinator withdrew a certificate: its code


async def audit(
    session: AsyncSession, action: str, subject: dict[str, Any], *, actor_id: int | None = None, actor: str,
) -> None:
    await session.execute(insert(_audit).values(actor_id=actor_id, actor=actor, action=action, subject=subject))


async def record_marathon_export(
    session: AsyncSession, filters: marathon_export.Filters, export: marathon_export.Export, *,
    actor_id: int | None = None, actor: str,
) -> None:
    """The marathon's export names participants and carries their Telegram ids: the audit log says
    who took it, with which filters and how many rows."""
    subject = {
        "region": filters.region, "state": filters.state.value if filters.state else None,
        "from": filters.since.isoformat() if filters.since else None,
        "to": filters.until.isoformat() if filters.until else None,
        "participants": len(export.participants), "deeds": len(export.deeds),
    }
    await audit(session, Action.MARATHON_EXPORT, subject, actor_id=actor_id, actor=actor)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    subject: dict[str, Any]


async def audit_log(session: AsyncSession, limit: int = 30, by: Operator | None = None) -> list[AuditRecord]:
    """The newest entries first; in the bot, for national coordinators only (`by`)."""
    if by is not None:
        await access.require(session, by, Act.AUDIT)
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
# Where the messages were delivered: with the words gone, no edit will follow them.
_COPIES = text(
    "DELETE FROM ticket_message_copies WHERE ticket_message_id IN"
    " (SELECT id FROM ticket_messages WHERE ticket_id = ANY(CAST(:ids AS bigint[])))"
)
_CITIZENS_LINKS = text("DELETE FROM ticket_links WHERE ticket_id = ANY(CAST(:ids AS bigint[])) AND chat_id = ANY(CAST(:people AS bigint[]))")
_TICKETS_OF = select(_tickets.c.id).where(_tickets.c.citizen_id == bindparam("person", type_=BigInteger))


async def _erase_tickets(session: AsyncSession, ticket_ids: list[int], citizen_ids: list[int]) -> None:
    if not ticket_ids:
        return
    await session.execute(_CITIZENS_LINKS, {"ids": ticket_ids, "people": citizen_ids})
    await session.execute(_COPIES, {"ids": ticket_ids})
    await session.execute(_ERASE_MESSAGES, {"ids": ticket_ids})
    await session.execute(_ERASE_TICKETS, {"ids": ticket_ids, "keep": list(ANONYMOUS_DETAILS)})


# Whatever else carries the person's id: what the bot owes or owed them, timers about them,
# announcements' lists, conversations' state (aiogram's keys hold the chat and user ids).
_ERASE_TRACES = (
    text("DELETE FROM outbox WHERE chat_id = :person"),
    text("DELETE FROM timers WHERE payload ->> 'chat_id' = CAST(CAST(:person AS bigint) AS text)"),
    text("DELETE FROM announcement_recipients WHERE telegram_id = :person"),
    text("DELETE FROM ticket_links WHERE chat_id = :person"),
    text("DELETE FROM ticket_message_copies WHERE chat_id = :person"),
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


class StaffMember(ValueError):
    """The citizen of the ticket is an active operator: not erased by a coordinator."""

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"the citizen of ticket {ticket_id} is active staff")
        self.ticket_id = ticket_id


_ACTIVE_STAFF = text("SELECT EXISTS (SELECT 1 FROM operators WHERE telegram_id = :person AND active)")


async def erase_citizen_of_ticket(session: AsyncSession, ticket_id: int, by: Operator) -> Erased | None:
    """A coordinator erases, on the person's request, the data of the citizen of ticket №N (they
    may have asked by phone): any ticket's for the national office, one at their own office for a
    regional one (access.Denied otherwise). Recorded in the audit log by the ticket's number.
    None if the ticket does not exist or its citizen's data is already gone."""
    found = None if not is_row_id(ticket_id) else (  # a forged number past bigint finds nothing
        await session.execute(select(_tickets.c.citizen_id, _tickets.c.office).where(_tickets.c.id == ticket_id))
    ).first()
    if found is None:
        await access.require(session, by, Act.ERASE)
        return None
    by = await access.require(session, by, Act.ERASE, (found.office,))
    if found.citizen_id is None:
        return None
    if await session.scalar(_ACTIVE_STAFF, {"person": found.citizen_id}):
        # Erasing them as a citizen would take their desk too: the links of the requests they
        # answer, the cards owed to them. They are removed first, or erase themselves (/forget).
        raise StaffMember(ticket_id)
    erased = await erase_person(session, found.citizen_id)
    await audit(session, Action.ERASE_PERSON, {"ticket": ticket_id, "tickets": erased.tickets}, actor_id=by.telegram_id, actor=by.name)
    return erased


# How long what is not counted in RETENTION_DAYS is kept. README "What is kept and for how long"
# and /privacy state each of these; the retention job enforces them.
# A form or a choice untouched for a week is abandoned: filling one in takes minutes, and a person
# who comes back after a week starts afresh (their language and region are in `users`, not here).
DRAFTS_KEPT = timedelta(days=7)
# What the bot sent or gave up sending: a week to look into "did they get it?"; the payloads name
# people (texts, ids) and are of no use once delivered.
DELIVERIES_KEPT = timedelta(days=7)
# Fired timers: a month, to see why a reminder went out. The fired T1/T3 reminders of requests are
# kept: /stats counts the time limits missed from them, and they hold only a request's number.
FIRED_TIMERS_KEPT = timedelta(days=30)
COUNTED_TIMERS = ("ticket_remind", "ticket_unanswered")
# An operator's invite names them: a month after it expired (used ones are in `operators`).
INVITES_KEPT = timedelta(days=30)
PEOPLE_BATCH = 100  # people erased per firing (each is a /forget); the rest at the next one
DEEDS_BATCH = 1000

_RETENTION_DUE = text(
    """
    SELECT id, citizen_id FROM tickets
    WHERE status = 'closed' AND erased_at IS NULL AND closed_at < now() - CAST(:keep AS interval)
    ORDER BY closed_at LIMIT :batch
    FOR UPDATE SKIP LOCKED
    """
)
# Who has not written to the bot for more than the retention period; the staff stay.
_SILENT_PEOPLE = text(
    """
    SELECT telegram_id FROM users
    WHERE last_active_on < current_date - CAST(:keep_days AS integer)
      AND NOT EXISTS (SELECT 1 FROM operators WHERE operators.telegram_id = users.telegram_id AND operators.active)
    ORDER BY last_active_on LIMIT :batch
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
_ABANDONED_CONVERSATIONS = text("DELETE FROM fsm_states WHERE updated_at < now() - CAST(:age AS interval)")
_OLD_DELIVERIES = text(
    "DELETE FROM outbox WHERE sent_at < now() - CAST(:age AS interval) "
    "OR (failed IS NOT NULL AND created_at < now() - CAST(:age AS interval))"
)
_OLD_TIMERS = text(
    "DELETE FROM timers WHERE done_at < now() - CAST(:age AS interval) AND kind <> ALL(CAST(:counted AS text[]))"
)
_OLD_INVITES = text("DELETE FROM operator_invites WHERE expires_at < now() - CAST(:age AS interval)")


@dataclass(frozen=True, slots=True)
class Swept:
    """What one run of the retention job erased."""

    tickets: int
    people: int
    deeds: int

    @property
    def more_due(self) -> bool:
        """A batch was full: run again soon rather than tomorrow."""
        return self.tickets >= RETENTION_BATCH or self.people >= PEOPLE_BATCH or self.deeds >= DEEDS_BATCH


async def erase_expired(
    session: AsyncSession, keep_days: int, rules: marathon.Rules, batch: int = RETENTION_BATCH
) -> Swept:
    """Everything past its stated age, in the caller's transaction:
    - closed requests' personal data, `keep_days` after closing (the tickets stay, anonymous);
    - people who have not written for more than `keep_days` days, as if they had sent /forget
      (operators excepted);
    - the marathon's deeds' descriptions, places and photos, `keep_days` after it ended;
    - finished announcements' recipient lists, `keep_days` after they finished (the counts stay);
    - questions the knowledge base did not settle (masked), `keep_days` after they were asked;
    - abandoned conversations, delivered messages, fired timers and expired invites (see above).
    Erasures of people's data are recorded in the audit log."""
    keep = timedelta(days=keep_days)
    rows = (await session.execute(_RETENTION_DUE, {"keep": keep, "batch": batch})).all()
    ticket_ids = [row.id for row in rows]
    await _erase_tickets(session, ticket_ids, [row.citizen_id for row in rows if row.citizen_id is not None])
    if ticket_ids:
        await audit(session, Action.RETENTION, {"tickets": len(ticket_ids), "older_than_days": keep_days}, actor="retention")
    silent = list((await session.execute(_SILENT_PEOPLE, {"keep_days": keep_days, "batch": PEOPLE_BATCH})).scalars())
    for person in silent:
        await erase_person(session, person)
    if silent:
        await audit(
            session, Action.RETENTION_PEOPLE, {"people": len(silent), "older_than_days": keep_days}, actor="retention"
        )
    deeds = await marathon.erase_finished_deeds(session, rules, keep_days, DEEDS_BATCH)
    if deeds:
        await audit(session, Action.RETENTION_MARATHON, {"deeds": deeds, "older_than_days": keep_days}, actor="retention")
    # Questions the knowledge base did not settle (masked already) are kept no longer either.
    await knowledge_gaps.erase_older_than(session, keep_days)
    # Who an announcement went to is of no use once it is over; its counts stay on the announcement.
    await session.execute(_FORGET_RECIPIENTS, {"keep": keep})
    await session.execute(_ABANDONED_CONVERSATIONS, {"age": DRAFTS_KEPT})
    await session.execute(_OLD_DELIVERIES, {"age": DELIVERIES_KEPT})
    await session.execute(_OLD_TIMERS, {"age": FIRED_TIMERS_KEPT, "counted": list(COUNTED_TIMERS)})
    await session.execute(_OLD_INVITES, {"age": INVITES_KEPT})
    return Swept(len(ticket_ids), len(silent), deeds)


async def _retention_due(session: AsyncSession, payload: dict[str, Any]) -> None:
    """The retention job's timer (`{"keep_days": N}`): erase what is due, then set itself again,
    in a minute while more is due, else in a day. Durable and fired once across processes, as
    every timer."""
    keep_days = int(payload["keep_days"])
    swept = await erase_expired(session, keep_days, marathon.Rules.load())
    await schedule_retention(session, keep_days, RETENTION_SOON if swept.more_due else RETENTION_DAILY)


RETENTION_DAILY = timedelta(days=1)
RETENTION_SOON = timedelta(minutes=1)


async def schedule_retention(session: AsyncSession, keep_days: int, after: timedelta) -> None:
    """(Re)set the retention job's one timer; at start, with the retention period now configured."""
    await timers.set_timer(session, RETENTION_TIMER, "daily", after, {"keep_days": keep_days})


timers.register(RETENTION_TIMER, _retention_due)


async def ticket_record(
    session: AsyncSession, ticket_id: int, by: Operator | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The ticket's full row and its messages, personal data included; None if there is none. `by`
    is the coordinator asking in the bot (access.Denied unless the ticket is at their office, or they
    are of the national one); None for the command line on the server."""
    if not is_row_id(ticket_id):
        return None
    ticket = (await session.execute(select(_tickets).where(_tickets.c.id == ticket_id))).mappings().first()
    if by is not None:
        await access.require(session, by, Act.RECORD, None if ticket is None else (ticket["office"],))
    if ticket is None:
        return None
    said = await session.execute(
        select(_messages.c.created_at, _messages.c.author, _messages.c.author_id, _messages.c.kind,
               _messages.c.text, _messages.c.file_id, _messages.c.extra)
        .where(_messages.c.ticket_id == ticket_id).order_by(_messages.c.id)
    )
    return dict(ticket), [dict(row) for row in said.mappings()]


