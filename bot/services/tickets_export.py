"""Tickets for statistics and the committee, as CSV and an Excel workbook, without personal data:
no phone numbers, no message texts, no Telegram ids of citizens. Filtered by region, state and the
day a ticket was opened. Knows nothing of Telegram; the bot sends the files, the command line writes
them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Ticket, TicketMessage
from bot.services import access
from bot.services.access import Act
from bot.services.clock import KAZAKHSTAN
from bot.services.spreadsheets import table_csv, workbook
from bot.services.staff import Operator

COLUMNS = ("ticket", "kind", "category", "region", "office", "language", "status", "opened_at", "taken_at",
           "first_answer_at", "escalated_at", "closed_at", "closed_by", "rating", "messages", "citizen_unreachable")


@dataclass(frozen=True, slots=True)
class Filters:
    region: str | None = None
    status: str | None = None  # new, taken, closed
    since: date | None = None
    until: date | None = None


_tickets = Ticket.__table__
_messages = TicketMessage.__table__


async def collect(session: AsyncSession, filters: Filters, by: Operator | None = None) -> list[tuple[Any, ...]]:
    """The tickets matching `filters`; for a coordinator in the bot (`by`) within their reach: a
    regional one gets their region's only (access.Denied for another's)."""
    if by is not None:
        filters = replace(filters, region=await access.scoped_region(session, by, Act.EXPORT_REQUESTS, filters.region))
    messages = select(func.count()).where(_messages.c.ticket_id == _tickets.c.id).scalar_subquery()
    query = select(
        _tickets.c.id, _tickets.c.kind, _tickets.c.category, _tickets.c.region, _tickets.c.office, _tickets.c.language,
        _tickets.c.status, _tickets.c.created_at, _tickets.c.taken_at, _tickets.c.first_answer_at,
        _tickets.c.escalated_at, _tickets.c.closed_at, _tickets.c.closed_by, _tickets.c.rating, messages,
        _tickets.c.citizen_unreachable,
    ).order_by(_tickets.c.id)
    if filters.region:
        query = query.where(_tickets.c.region == filters.region)
    if filters.status:
        query = query.where(_tickets.c.status == filters.status)
    # Days as the offices count them (Astana time).
    local_day = func.date(func.timezone("UTC", _tickets.c.created_at) + KAZAKHSTAN.utcoffset(None))
    if filters.since:
        query = query.where(local_day >= filters.since)
    if filters.until:
        query = query.where(local_day <= filters.until)
    return [tuple(row) for row in (await session.execute(query)).all()]


def to_csv(rows: list[tuple[Any, ...]]) -> bytes:
    return table_csv(COLUMNS, rows)


def to_xlsx(rows: list[tuple[Any, ...]]) -> bytes:
    return workbook({"tickets": (COLUMNS, rows)})


# The full record of one ticket, personal data included: only on a coordinator's request, recorded
# in the audit log (`bot/services/personal_data.py`).
RECORD_FIELDS = ("id", "kind", "category", "region", "office", "language", "status", "citizen_id", "phone",
                 "details", "created_at", "taken_at", "operator_id", "first_answer_at", "escalated_at", "closed_at",
                 "closed_by", "resolution", "rating", "rating_comment", "citizen_unreachable", "erased_at")
MESSAGE_COLUMNS = ("at", "author", "author_id", "kind", "text", "file_id", "extra")


def _flat(value: Any) -> Any:
    """A JSON object (the help form's answers, a location) as one cell."""
    if isinstance(value, dict):
        return "; ".join(f"{key}: {item}" for key, item in value.items())
    return value


def record_rows(ticket: dict[str, Any], messages: list[dict[str, Any]]) -> tuple[list[tuple], list[tuple]]:
    fields = [(name, _flat(ticket.get(name))) for name in RECORD_FIELDS]
    said = [(m["created_at"], m["author"], m["author_id"], m["kind"], m["text"], m["file_id"], _flat(m["extra"]))
            for m in messages]
    return fields, said


def record_xlsx(ticket: dict[str, Any], messages: list[dict[str, Any]]) -> bytes:
    fields, said = record_rows(ticket, messages)
    return workbook({"ticket": (("field", "value"), fields), "messages": (MESSAGE_COLUMNS, said)})


def record_csv(ticket: dict[str, Any], messages: list[dict[str, Any]]) -> bytes:
    """The conversation, one message a row (the ticket's fields are in the workbook)."""
    return table_csv(MESSAGE_COLUMNS, record_rows(ticket, messages)[1])
