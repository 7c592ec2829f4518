"""The marathon's records for the organising committee: participants and deeds (with their review
state, region, kind, amount and date), filtered by region, state and dates, as CSV and as an Excel
workbook. Knows nothing of Telegram; the bot sends the files, the command line writes them.

Columns are stable English names, so spreadsheets and scripts built on an export keep working.
Participants' Telegram ids are included: the committee contacts winners through the bot.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Deed, Participant
from bot.services import access
from bot.services.access import Act
from bot.services.marathon import State
from bot.services.spreadsheets import table_csv, workbook
from bot.services.staff import Operator

DEED_COLUMNS = ("deed", "participant", "participant_name", "region", "kind", "amount", "date", "locality", "description",
                "state", "reject_reason", "claimed_amount", "logged_at")
PARTICIPANT_COLUMNS = ("participant", "kind", "name", "region", "approved_deeds", "joined_at")


@dataclass(frozen=True, slots=True)
class Filters:
    region: str | None = None
    state: State | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True, slots=True)
class Export:
    participants: list[tuple[Any, ...]]
    deeds: list[tuple[Any, ...]]


_deeds = Deed.__table__
_participants = Participant.__table__


async def collect(session: AsyncSession, filters: Filters, by: Operator | None = None) -> Export:
    """Deeds matching the filters, and the participants: those of the region (all without one). For
    a coordinator in the bot (`by`), within their reach: a regional one gets their region's only
    (access.Denied for another's)."""
    if by is not None:
        filters = replace(filters, region=await access.scoped_region(session, by, Act.EXPORT_MARATHON, filters.region))
    deeds = (
        select(
            _deeds.c.id, _deeds.c.participant_id, _participants.c.display_name, _deeds.c.region, _deeds.c.kind,
            _deeds.c.amount, _deeds.c.deed_date, _deeds.c.locality, _deeds.c.description, _deeds.c.state,
            _deeds.c.reject_reason, _deeds.c.claimed_amount, _deeds.c.created_at,
        )
        # (outer: deeds of participants who erased their data stay, anonymous)
        .select_from(_deeds.outerjoin(_participants, _participants.c.telegram_id == _deeds.c.participant_id))
        .order_by(_deeds.c.id)
    )
    participants = select(
        _participants.c.telegram_id, _participants.c.kind, _participants.c.display_name, _participants.c.region,
        _participants.c.approved_deeds, _participants.c.joined_at,
    ).order_by(_participants.c.telegram_id)
    if filters.region:
        deeds = deeds.where(_deeds.c.region == filters.region)
        participants = participants.where(_participants.c.region == filters.region)
    if filters.state:
        deeds = deeds.where(_deeds.c.state == filters.state.value)
    if filters.since:
        deeds = deeds.where(_deeds.c.deed_date >= filters.since)
    if filters.until:
        deeds = deeds.where(_deeds.c.deed_date <= filters.until)
    return Export(
        [tuple(row) for row in (await session.execute(participants)).all()],
        [tuple(row) for row in (await session.execute(deeds)).all()],
    )


def to_csv(export: Export) -> tuple[bytes, bytes]:
    """(participants.csv, deeds.csv)."""
    return table_csv(PARTICIPANT_COLUMNS, export.participants), table_csv(DEED_COLUMNS, export.deeds)


def to_xlsx(export: Export) -> bytes:
    """One workbook, a sheet of participants and a sheet of deeds."""
    return workbook({"participants": (PARTICIPANT_COLUMNS, export.participants), "deeds": (DEED_COLUMNS, export.deeds)})
