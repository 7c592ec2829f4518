"""Who takes part: a person, an organisation or a group, in a region."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Participant as ParticipantRow
from bot.services.marathon.model import MAX_NAME_LENGTH, PARTICIPANT_KINDS


@dataclass(frozen=True, slots=True)
class Participant:
    telegram_id: int
    kind: str
    display_name: str | None
    region: str
    approved_deeds: int


_participants = ParticipantRow.__table__
_P_COLUMNS = (_participants.c.telegram_id, _participants.c.kind, _participants.c.display_name, _participants.c.region,
              _participants.c.approved_deeds)
_new_participant = pg_insert(_participants).values(
    telegram_id=bindparam("who"), kind=bindparam("as_kind"), display_name=bindparam("shown_as"), region=bindparam("in_region"),
)
_JOIN = _new_participant.on_conflict_do_update(
    index_elements=[_participants.c.telegram_id],
    set_={"kind": _new_participant.excluded.kind, "display_name": _new_participant.excluded.display_name,
          "region": _new_participant.excluded.region},
).returning(*_P_COLUMNS)
_PARTICIPANT = select(*_P_COLUMNS).where(_participants.c.telegram_id == bindparam("who"))


async def join(session: AsyncSession, telegram_id: int, kind: str, display_name: str | None, region: str) -> Participant:
    """Join the marathon (or change how one takes part). No display name: anonymous on public lists."""
    if kind not in PARTICIPANT_KINDS:
        raise ValueError(f"unknown participant kind {kind!r}")
    if display_name is not None:
        display_name = " ".join(display_name.split())[:MAX_NAME_LENGTH] or None
    params = {"who": telegram_id, "as_kind": kind, "shown_as": display_name, "in_region": region}
    return Participant(*(await session.execute(_JOIN, params)).one())


async def participant(session: AsyncSession, telegram_id: int) -> Participant | None:
    row = (await session.execute(_PARTICIPANT, {"who": telegram_id})).first()
    return Participant(*row) if row else None
