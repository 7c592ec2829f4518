"""The marathon's dates and each kind's limit and offer, as coordinators change them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import DeedKindLimit, MarathonSettings
from bot.services.marathon.model import Dates, DatesAcrossYears, Kind, Rules


_settings = MarathonSettings.__table__
_SETTINGS = select(_settings.c.starts_on, _settings.c.ends_on, _settings.c.daily_limit).where(_settings.c.id == 1)
_new_settings = pg_insert(_settings).values(
    id=1, starts_on=bindparam("starts"), ends_on=bindparam("ends"), daily_limit=bindparam("limit"), updated_by=bindparam("by"),
)
_SET_SETTINGS = _new_settings.on_conflict_do_update(
    index_elements=[_settings.c.id],
    set_={"starts_on": _new_settings.excluded.starts_on, "ends_on": _new_settings.excluded.ends_on,
          "daily_limit": _new_settings.excluded.daily_limit, "updated_by": _new_settings.excluded.updated_by,
          "updated_at": func.now()},
)


async def dates(session: AsyncSession, rules: Rules) -> Dates:
    row = (await session.execute(_SETTINGS)).first()
    return Dates(*row) if row else rules.defaults


async def set_dates(
    session: AsyncSession, rules: Rules, starts_on: date, ends_on: date, daily_limit: int | None = None, by: int | None = None
) -> Dates:
    """Coordinators move the marathon's dates (and its daily limit)."""
    if starts_on > ends_on:
        raise ValueError("the marathon cannot end before it starts")
    if starts_on.year != ends_on.year:
        raise DatesAcrossYears()
    limit = daily_limit if daily_limit is not None else (await dates(session, rules)).daily_limit
    if not 0 < limit <= 1000:
        raise ValueError("the daily limit is a number from 1 to 1000")
    await session.execute(_SET_SETTINGS, {"starts": starts_on, "ends": ends_on, "limit": limit, "by": by})
    return Dates(starts_on, ends_on, limit)


_limits = DeedKindLimit.__table__
_LIMIT = select(_limits.c.max_amount, _limits.c.offered).where(_limits.c.kind == bindparam("of_kind"))
_LIMITS = select(_limits.c.kind, _limits.c.max_amount, _limits.c.offered)
_new_limit = pg_insert(_limits).values(kind=bindparam("of_kind"), max_amount=bindparam("most"), updated_by=bindparam("by"))
_SET_LIMIT = _new_limit.on_conflict_do_update(
    index_elements=[_limits.c.kind],
    set_={"max_amount": _new_limit.excluded.max_amount, "updated_by": _new_limit.excluded.updated_by, "updated_at": func.now()},
)
_new_offer = pg_insert(_limits).values(kind=bindparam("of_kind"), offered=bindparam("on"), updated_by=bindparam("by"))
_SET_OFFERED = _new_offer.on_conflict_do_update(
    index_elements=[_limits.c.kind],
    set_={"offered": _new_offer.excluded.offered, "updated_by": _new_offer.excluded.updated_by, "updated_at": func.now()},
)


async def kind_of(session: AsyncSession, rules: Rules, slug: str) -> Kind | None:
    """The kind with the largest amount coordinators set for it (the data file's if they did not)."""
    found = rules.kind(slug)
    if found is None:
        return None
    row = (await session.execute(_LIMIT, {"of_kind": slug})).first()
    return found if row is None else _changed(found, *row)


def _changed(kind: Kind, most: Decimal | None, offered: bool) -> Kind:
    return replace(kind, max=most if most is not None else kind.max, offered=offered)


async def kinds_of(session: AsyncSession, rules: Rules) -> list[Kind]:
    """Every kind as coordinators left it, offered or not."""
    changes = {slug: (most, offered) for slug, most, offered in (await session.execute(_LIMITS)).all()}
    return [_changed(k, *changes[k.slug]) if k.slug in changes else k for k in rules.kinds]


async def offer_kind(session: AsyncSession, rules: Rules, slug: str, offered: bool, by: int | None = None) -> Kind:
    """Coordinators stop offering a kind of deed (or offer it again); logged deeds stay and count."""
    if rules.kind(slug) is None:
        raise ValueError(f"no deed kind {slug!r}; one of: {', '.join(k.slug for k in rules.kinds)}")
    await session.execute(_SET_OFFERED, {"of_kind": slug, "on": offered, "by": by})
    found = await kind_of(session, rules, slug)
    assert found is not None
    return found


async def set_kind_limit(session: AsyncSession, rules: Rules, slug: str, most: Decimal, by: int | None = None) -> Kind:
    """Coordinators change how much one deed of a kind can plausibly be."""
    if rules.kind(slug) is None:
        raise ValueError(f"no deed kind {slug!r}; one of: {', '.join(k.slug for k in rules.kinds)}")
    if not most.is_finite() or most.quantize(Decimal("0.01")) <= 0 or most >= Decimal("1e10"):
        raise ValueError("the largest amount is a positive number")
    most = most.quantize(Decimal("0.01"))
    await session.execute(_SET_LIMIT, {"of_kind": slug, "most": most, "by": by})
    found = await kind_of(session, rules, slug)
    assert found is not None
    return found
