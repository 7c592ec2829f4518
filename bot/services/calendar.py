"""When the front-offices work, and time limits counted in working time only.

Working time is the offices' weekly service hours (`ServiceHours`), less Kazakhstan's public
holidays (the `holidays` package: moved days off included, religious dates as it estimates them)
and the days off coordinators add in the bot (`/days_off`: for every office, or for their own). A
request that arrives at 17:50 on a Friday with a one-hour limit is due at 09:50 on Monday, or on
Tuesday if Monday is a holiday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays
from sqlalchemy import String, bindparam, delete, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.driver import Statement
from bot.db.models import DayOff, OfficeDetails
from bot.services import access
from bot.services.access import Act
from bot.services.directory import ServiceHours
from bot.services.staff import Operator

# How far ahead the coordinators' days off are read for a deadline: a limit longer than the
# working time in this many days would be counted as if no day in it were off.
LOOKAHEAD_DAYS = 120
# The most days a limit is counted over (a calendar with no working day at all stops here).
MAX_DAYS = 400

_days_off = DayOff.__table__
_details = OfficeDetails.__table__
EVERY_OFFICE = ""  # a day off of every office (the table's key cannot hold NULL)

# An office's calendar in one round trip: its own hours (a row only if its coordinators set them)
# and the days off around `today`, its own and every office's. It is read for every deadline a
# request's step sets and every notice that names one (T1-T3, a call back, a rating's reminder).
_office = bindparam("office", type_=String)
_CALENDAR = Statement(
    select(
        _details.c.days, _details.c.opens, _details.c.closes,
        select(func.array_agg(_days_off.c.day))
        .where(
            or_(_days_off.c.office == EVERY_OFFICE, _days_off.c.office == _office),
            _days_off.c.day >= bindparam("since"), _days_off.c.day <= bindparam("until"),
        )
        .scalar_subquery().label("days_off"),
    )
    .select_from(select(literal_column("1").label("one")).subquery().outerjoin(_details, _details.c.office == _office))
)


@lru_cache(maxsize=8)
def public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("KZ", years=year))


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    hours: ServiceHours
    days_off: frozenset[date] = frozenset()  # the coordinators' (this office's and every office's)

    def is_working_day(self, day: date) -> bool:
        if day.isoweekday() not in self.hours.days or day in self.days_off:
            return False
        return not (self.hours.public_holidays and day in public_holidays(day.year))

    def next_opening(self, now: datetime) -> datetime | None:
        """None while the office works at `now`; else when it next opens, in local time: the end
        of no working time at all from now."""
        opening = self.deadline(now, timedelta(0))
        return None if opening == now else opening

    def windows(self, now: datetime, length: timedelta, count: int) -> list[tuple[datetime, datetime]]:
        """The next `count` windows of `length` within working time that have not begun yet (local
        time): each working day's hours cut from the opening, the last one shorter if need be."""
        zone = self.hours.zone
        found: list[tuple[datetime, datetime]] = []
        day = now.astimezone(zone).date()
        for _ in range(MAX_DAYS):
            if self.is_working_day(day):
                start = datetime.combine(day, self.hours.opens, zone)
                closes = datetime.combine(day, self.hours.closes, zone) if self.hours.closes != time.max else (
                    datetime.combine(day + timedelta(days=1), time(0), zone)
                )
                while start < closes and len(found) < count:
                    if start >= now:
                        found.append((start, min(start + length, closes)))
                    start += length
            if len(found) >= count:
                break
            day += timedelta(days=1)
        return found

    def same_hours_later(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        """The window of the same local hours as `start`–`end` on the next working day after
        `start`'s, cut to that day's working hours (a call back missed as its window ends is tried
        when the person said they could talk); None if no working day within `MAX_DAYS` has any
        of those hours."""
        zone = self.hours.zone
        local, length = start.astimezone(zone), end - start
        day = local.date()
        for _ in range(MAX_DAYS):
            day += timedelta(days=1)
            if not self.is_working_day(day):
                continue
            opens = datetime.combine(day, self.hours.opens, zone)
            closes = datetime.combine(day, self.hours.closes, zone) if self.hours.closes != time.max else (
                datetime.combine(day + timedelta(days=1), time(0), zone)
            )
            begins = datetime.combine(day, local.timetz())
            window = (max(begins, opens), min(begins + length, closes))
            if window[0] < window[1]:
                return window
        return None

    def deadline(self, start: datetime, limit: timedelta) -> datetime:
        """The moment `limit` of working time has passed since `start`."""
        zone = self.hours.zone
        moment, left = start.astimezone(zone), limit
        for _ in range(MAX_DAYS):
            day = moment.date()
            if self.is_working_day(day):
                opens = datetime.combine(day, self.hours.opens, zone)
                closes = datetime.combine(day, self.hours.closes, zone) if self.hours.closes != time.max else (
                    datetime.combine(day + timedelta(days=1), time(0), zone)
                )
                begin = max(moment, opens)
                if begin < closes:
                    if begin + left <= closes:
                        return begin + left
                    left -= closes - begin
            moment = datetime.combine(day + timedelta(days=1), time(0), zone)
        # Hardly any working time in MAX_DAYS: due at the end of the search, never sooner than a
        # shorter limit would be.
        return max(start + limit, moment)


async def calendar_for(session: AsyncSession, hours: ServiceHours, office: str | None, today: date) -> WorkingCalendar:
    """The working calendar of `office` from `today` on: its own hours if its coordinators set them
    (else the common `hours`), its days off and every office's."""
    row = await _CALENDAR.fetchrow(session, {
        "office": office, "since": today - timedelta(days=1), "until": today + timedelta(days=LOOKAHEAD_DAYS),
    })
    if row["days"] and row["opens"] is not None and row["closes"] is not None:
        hours = ServiceHours(frozenset(row["days"]), row["opens"], row["closes"], hours.utc_offset, hours.public_holidays)
    return WorkingCalendar(hours, frozenset(row["days_off"] or ()))


# --- the coordinators' days off ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AddedDay:
    day: date
    office: str | None  # None: every office
    note: str


async def add_day_off(session: AsyncSession, by: Operator, day: date, office: str | None, note: str) -> bool:
    """A day off for `office` (None: every office, national coordinators only); False if it was
    one already."""
    await access.require(session, by, Act.DAYS_OFF, None if office is None else (office,))
    if office is None and access.own_region(by, Act.DAYS_OFF) is not None:
        raise access.Denied(Act.DAYS_OFF, access.Refusal.OTHER_OFFICE)
    result = await session.execute(
        pg_insert(_days_off).values(day=day, office=office or EVERY_OFFICE, note=note[:200], added_by=by.telegram_id)
        .on_conflict_do_nothing(index_elements=["day", "office"])
    )
    return bool(result.rowcount)


async def remove_day_off(session: AsyncSession, by: Operator, day: date, office: str | None) -> bool:
    await access.require(session, by, Act.DAYS_OFF, None if office is None else (office,))
    if office is None and access.own_region(by, Act.DAYS_OFF) is not None:
        raise access.Denied(Act.DAYS_OFF, access.Refusal.OTHER_OFFICE)
    result = await session.execute(delete(_days_off).where(_days_off.c.day == day, _days_off.c.office == (office or EVERY_OFFICE)))
    return bool(result.rowcount)


async def added_days(session: AsyncSession, by: Operator, since: date) -> list[AddedDay]:
    """The days off from `since` on that this coordinator's offices keep: every office's and, for a
    regional coordinator, their own office's (a national one sees all)."""
    await access.require(session, by, Act.DAYS_OFF)
    own = access.own_region(by, Act.DAYS_OFF)
    query = select(_days_off.c.day, _days_off.c.office, _days_off.c.note).where(_days_off.c.day >= since)
    if own is not None:
        query = query.where(_days_off.c.office.in_([EVERY_OFFICE, own]))
    rows = (await session.execute(query.order_by(_days_off.c.day, _days_off.c.office))).all()
    return [AddedDay(day, office or None, note) for day, office, note in rows]

