"""Totals, leaderboards and the ranking of regions, from approved deeds only."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.marathon.deeds import _totals
from bot.services.marathon.model import LEADERBOARD_SIZE
from bot.services.marathon.participants import _participants


_NATIONAL_TOTALS = select(_totals.c.kind, func.sum(_totals.c.amount)).group_by(_totals.c.kind)
_REGION_TOTALS = select(_totals.c.kind, _totals.c.amount).where(_totals.c.region == bindparam("in_region"))
_REGION_RANKING = (
    select(_totals.c.region, func.sum(_totals.c.deeds).label("deeds"))
    .group_by(_totals.c.region).order_by(func.sum(_totals.c.deeds).desc(), _totals.c.region)
)
_LEADERS = (
    select(_participants.c.telegram_id, _participants.c.display_name, _participants.c.region, _participants.c.approved_deeds)
    .where(_participants.c.approved_deeds > 0)
    .order_by(_participants.c.approved_deeds.desc(), _participants.c.telegram_id)
    .limit(LEADERBOARD_SIZE)
)
_REGION_LEADERS = _LEADERS.where(_participants.c.region == bindparam("in_region"))


@dataclass(frozen=True, slots=True)
class Leader:
    telegram_id: int
    display_name: str | None  # None: anonymous
    region: str
    approved_deeds: int


async def totals(session: AsyncSession, region: str | None = None) -> dict[str, Decimal]:
    """Approved amounts per kind, national or of one region."""
    if region is None:
        result = await session.execute(_NATIONAL_TOTALS)
    else:
        result = await session.execute(_REGION_TOTALS, {"in_region": region})
    return {kind: amount for kind, amount in result.all() if amount}


async def leaderboard(session: AsyncSession, region: str | None = None) -> list[Leader]:
    if region is None:
        rows = await session.execute(_LEADERS)
    else:
        rows = await session.execute(_REGION_LEADERS, {"in_region": region})
    return [Leader(*row) for row in rows.all()]


async def region_ranking(session: AsyncSession) -> list[tuple[str, int]]:
    """Regions by approved deeds, most first."""
    return [(region, int(deeds)) for region, deeds in (await session.execute(_REGION_RANKING)).all() if deeds]


def plain(amount: Decimal) -> str:
    """An amount without trailing zeros or exponent: 2000, 120.5."""
    return format(amount.normalize(), "f")
