"""Statistics of the call-centre and the marathon for a period, for coordinators and front-offices.
Knows nothing of Telegram; the bot renders the figures (`bot/views/stats.py`, `charts.py`).

A period is whole days in Astana time (UTC+5), the first and the last one included. A scope is
`None` (every region: coordinators and the national office) or one region's slug (a regional
front-office sees its own region only): every figure is then restricted to that region, by
`tickets.region` (the citizen's region, wherever the ticket went), `deeds.region` and
`users.region`.

What is counted, precisely:
- Requests (tickets) are those opened in the period; every ticket figure (states, categories,
  times, limits, ratings, the knowledge base) is about them, whenever what is measured happened.
  Their state is the one they have now.
- Time to first answer: `first_answer_at - created_at` (the first operator message), over the
  tickets that got one; time to close: `closed_at - created_at`, over the closed ones (closed by
  either side). Median and 90th percentile (`percentile_cont`), in seconds.
- Time limits missed, counted per ticket (a ticket counts once for each limit it missed):
  * T1, not taken in time: the bot reminded the office's operators that nobody took it, i.e. a
    `ticket_remind` timer fired for it;
  * T2, escalated: nobody took it before T2 either, so it went up to the national office
    (`escalated_at` is set);
  * T3, answer overdue: a citizen's message waited longer than T3 for the operator who took it, i.e.
    a `ticket_unanswered` timer fired.
  The timers, not wall-clock differences, decide, because the limits count in service hours: a
  request sent at night is not late before the office opens. This relies on fired timers being
  kept (cancelled ones are deleted, fired ones marked done and left in place).
- Ratings: the 1-5 stars of the period's tickets that were rated.
- Knowledge-base questions that ended with an operator: tickets opened with "Ask an operator"
  under a knowledge-base answer (`details.via = "knowledge"`, `details.kb` = "topic/question").
- Marathon deeds are those whose day (`deed_date`) falls in the period. `deeds_by_state` counts all
  of them; by kind (count and amount), by region and per day count approved deeds only, the ones
  the marathon's results count.
- People: `joined` consented (their record was created) in the period; `total` is everyone in the
  bot by the period's end. Someone who deleted their data (/forget) is in neither.

Four queries, each aggregating in PostgreSQL (grouping sets for the breakdowns). Deeds and people
are read from per-day rollups (`stats_deed_days`, `stats_people_days`, migration 0028) that
triggers keep in the transactions that change the rows: a national year reads some thousands of
rows instead of a million deeds. The triggers write change rows; `compact` folds them, from a timer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.services import access, timers
from bot.services.access import Act
from bot.services.clock import KAZAKHSTAN
from bot.services.marathon import Dates
from bot.services.staff import Operator

MAX_PERIOD_DAYS = 366
STATUSES = ("new", "taken", "closed")
DEED_STATES = ("pending", "approved", "rejected")
# "01.11.2026-30.11.2026"; a dash of any kind, spaces allowed around it.
_RANGE_RE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*[-–—]\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")


class PeriodProblem(StrEnum):
    MALFORMED = "malformed"  # not DD.MM.YYYY-DD.MM.YYYY, or no such day (31.02)
    REVERSED = "reversed"    # the first day after the last
    TOO_LONG = "too_long"    # more than MAX_PERIOD_DAYS days


class PeriodError(ValueError):
    def __init__(self, problem: PeriodProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Period:
    """Days `first` to `last`, both included, in Astana time."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise PeriodError(PeriodProblem.REVERSED)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def each_day(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]

    @property
    def start(self) -> datetime:
        """The first moment of the period."""
        return datetime.combine(self.first, time(0), KAZAKHSTAN)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(0), KAZAKHSTAN)

    @classmethod
    def this_week(cls, today: date) -> Period:
        """Monday to today."""
        return cls(today - timedelta(days=today.weekday()), today)

    @classmethod
    def this_month(cls, today: date) -> Period:
        """The 1st to today."""
        return cls(today.replace(day=1), today)

    @classmethod
    def marathon(cls, dates: Dates, today: date) -> Period:
        """The marathon's days so far (all of them once it is over; its first day before it starts)."""
        return cls(dates.starts_on, max(dates.starts_on, min(dates.ends_on, today)))

    @classmethod
    def parse(cls, typed: str) -> Period:
        """"DD.MM.YYYY-DD.MM.YYYY" as a person types it; PeriodError says what is wrong."""
        match = _RANGE_RE.match(typed or "")
        if match is None:
            raise PeriodError(PeriodProblem.MALFORMED)
        numbers = [int(part) for part in match.groups()]
        try:
            first = date(numbers[2], numbers[1], numbers[0])
            last = date(numbers[5], numbers[4], numbers[3])
        except ValueError:
            raise PeriodError(PeriodProblem.MALFORMED) from None
        period = cls(first, last)
        if period.days > MAX_PERIOD_DAYS:
            raise PeriodError(PeriodProblem.TOO_LONG)
        return period


def scope_of(operator: Operator) -> str | None:
    """The region whose figures this operator sees: None (all) for the national office, their own
    region for a regional front-office's operators and coordinators alike."""
    return access.own_region(operator, Act.STATS)


@dataclass(frozen=True, slots=True)
class Spread:
    """How long something took, in seconds, over `count` tickets (None when there are none)."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True, slots=True)
class Missed:
    """Tickets that missed each time limit (see the module's notes)."""

    not_taken: int   # T1
    escalated: int   # T2
    unanswered: int  # T3


@dataclass(frozen=True, slots=True)
class Ratings:
    count: int
    average: float | None
    distribution: tuple[int, int, int, int, int]  # how many 1, 2, 3, 4 and 5 stars


@dataclass(frozen=True, slots=True)
class KindTotal:
    """Approved deeds of one kind and their amount (in the kind's unit)."""

    kind: str
    deeds: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class People:
    joined: int  # in the period
    total: int   # by the period's end


@dataclass(frozen=True, slots=True)
class Statistics:
    period: Period
    region: str | None
    tickets: int
    tickets_by_region: tuple[tuple[str, int], ...]    # most first
    tickets_by_status: tuple[tuple[str, int], ...]    # new, taken, closed
    tickets_by_category: tuple[tuple[str, int], ...]  # most first
    tickets_per_day: tuple[int, ...]                  # one per day of the period
    first_answer: Spread
    to_close: Spread
    missed: Missed
    ratings: Ratings
    via_knowledge: int
    knowledge_entries: tuple[tuple[str, int], ...]    # "topic/question", most first
    deeds_by_state: tuple[tuple[str, int], ...]       # pending, approved, rejected
    deeds_by_kind: tuple[KindTotal, ...]              # approved; most first
    deeds_by_region: tuple[tuple[str, int], ...]      # approved; most first
    deeds_per_day: tuple[int, ...]                    # approved, one per day of the period
    people: People
    people_by_language: tuple[tuple[str, People], ...]  # most joined first
    people_by_region: tuple[tuple[str, People], ...]    # most joined first; people without one left out

    @property
    def deeds(self) -> int:
        return sum(count for _, count in self.deeds_by_state)

    @property
    def approved_deeds(self) -> int:
        return dict(self.deeds_by_state).get("approved", 0)

    @property
    def is_empty(self) -> bool:
        """Nothing happened: no request opened, no deed done, nobody joined."""
        return not self.tickets and not self.deeds and not self.people.joined


# The tickets of the period in the scope. A bind parameter of NULL region means every region.
_PERIOD_TICKETS = """
    SELECT * FROM tickets
    WHERE created_at >= :start AND created_at < :end
      AND (CAST(:region AS text) IS NULL OR region = CAST(:region AS text))
"""
_TICKET_FIGURES = text(
    f"""
    WITH t AS ({_PERIOD_TICKETS}),
    fired AS (  -- the time limits the bot acted on: fired timers, kept with done_at set
        SELECT key, bool_or(kind = 'ticket_remind') AS reminded, bool_or(kind = 'ticket_unanswered') AS overdue
        FROM timers
        WHERE kind IN ('ticket_remind', 'ticket_unanswered') AND done_at IS NOT NULL AND done_at >= :start
        GROUP BY key
    )
    SELECT
        count(*) AS tickets,
        count(t.first_answer_at) AS answered,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.first_answer_at - t.created_at)) AS answer_median,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.first_answer_at - t.created_at)) AS answer_p90,
        count(t.closed_at) AS closed,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.closed_at - t.created_at)) AS close_median,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.closed_at - t.created_at)) AS close_p90,
        count(*) FILTER (WHERE fired.reminded) AS not_taken,
        count(t.escalated_at) AS escalated,
        count(*) FILTER (WHERE fired.overdue) AS unanswered,
        count(t.rating) AS rated,
        avg(t.rating)::float AS rating_average,
        count(*) FILTER (WHERE t.rating = 1) AS stars_1,
        count(*) FILTER (WHERE t.rating = 2) AS stars_2,
        count(*) FILTER (WHERE t.rating = 3) AS stars_3,
        count(*) FILTER (WHERE t.rating = 4) AS stars_4,
        count(*) FILTER (WHERE t.rating = 5) AS stars_5,
        count(*) FILTER (WHERE t.details->>'via' = 'knowledge') AS via_knowledge
    FROM t LEFT JOIN fired ON fired.key = t.id::text
    """
)
# One scan, five breakdowns: GROUPING() tells which of them a row belongs to (its bit is 0).
_TICKET_BREAKDOWNS = text(
    f"""
    WITH t AS (
        SELECT region, status, category, (created_at AT TIME ZONE 'UTC' + CAST(:offset AS interval))::date AS day,
               CASE WHEN details->>'via' = 'knowledge' THEN coalesce(details->>'kb', '') END AS kb
        FROM ({_PERIOD_TICKETS}) AS period_tickets
    )
    SELECT GROUPING(region, status, category, day, kb) AS grouping, region, status, category, day, kb, count(*) AS n
    FROM t
    GROUP BY GROUPING SETS ((region), (status), (category), (day), (kb))
    """
)
_TICKET_DIMENSIONS = ("region", "status", "category", "day", "kb")
# From the per-day rollup (migration 0028): change rows and compacted rows alike are added up.
_DEED_FIGURES = text(
    """
    SELECT GROUPING(kind, region, deed_date, state) AS grouping, kind, region, deed_date, state,
           sum(deeds)::bigint AS deeds,
           coalesce(sum(deeds) FILTER (WHERE state = 'approved'), 0)::bigint AS approved,
           coalesce(sum(amount) FILTER (WHERE state = 'approved'), 0) AS amount
    FROM stats_deed_days
    WHERE deed_date BETWEEN :first AND :last
      AND (CAST(:region AS text) IS NULL OR region = CAST(:region AS text))
    GROUP BY GROUPING SETS ((kind), (region), (deed_date), (state))
    HAVING sum(deeds) <> 0
    """
)
_DEED_DIMENSIONS = ("kind", "region", "deed_date", "state")
_PEOPLE_FIGURES = text(
    """
    SELECT GROUPING(language, region) AS grouping, language, region,
           coalesce(sum(people) FILTER (WHERE day >= :first), 0)::bigint AS joined,
           sum(people)::bigint AS total
    FROM stats_people_days
    WHERE day <= :last
      AND (CAST(:region AS text) IS NULL OR region = CAST(:region AS text))
    GROUP BY GROUPING SETS ((language), (region), ())
    HAVING sum(people) <> 0
    """
)
_PEOPLE_DIMENSIONS = ("language", "region")


def _dimension(grouping: int, names: tuple[str, ...]) -> str | None:
    """The column a grouping-sets row is grouped by (the one whose GROUPING bit is 0); None for ()."""
    for index, name in enumerate(names):
        if not grouping & (1 << (len(names) - 1 - index)):
            return name
    return None


def _most_first(counts: dict[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _by_joined(item: tuple[str, People]) -> tuple[int, int, str]:
    return -item[1].joined, -item[1].total, item[0]


async def collect(session: AsyncSession, period: Period, region: str | None = None) -> Statistics:
    """Every figure of the period, for one region or (None) for all."""
    params = {"start": period.start, "end": period.end, "region": region}
    figures = (await session.execute(_TICKET_FIGURES, params)).mappings().one()

    breakdowns: dict[str, dict] = {name: {} for name in _TICKET_DIMENSIONS}
    for row in (await session.execute(_TICKET_BREAKDOWNS, {**params, "offset": KAZAKHSTAN.utcoffset(None)})).mappings():
        name = _dimension(row["grouping"], _TICKET_DIMENSIONS)
        if name is not None and row[name] is not None:
            breakdowns[name][row[name]] = row["n"]

    deeds: dict[str, dict] = {name: {} for name in _DEED_DIMENSIONS}
    day_params = {"first": period.first, "last": period.last, "region": region}
    for row in (await session.execute(_DEED_FIGURES, day_params)).mappings():
        name = _dimension(row["grouping"], _DEED_DIMENSIONS)
        if name is not None:
            deeds[name][row[name]] = row

    people: dict[str, dict[str, People]] = {name: {} for name in _PEOPLE_DIMENSIONS}
    everyone = People(0, 0)
    for row in (await session.execute(_PEOPLE_FIGURES, day_params)).mappings():
        name = _dimension(row["grouping"], _PEOPLE_DIMENSIONS)
        counts = People(row["joined"], row["total"])
        if name is None:
            everyone = counts
        elif row[name] is not None:
            people[name][row[name]] = counts

    days = period.each_day()
    kinds = sorted(
        (KindTotal(kind, row["approved"], Decimal(row["amount"])) for kind, row in deeds["kind"].items() if row["approved"]),
        key=lambda total: (-total.deeds, total.kind),
    )
    return Statistics(
        period=period,
        region=region,
        tickets=figures["tickets"],
        tickets_by_region=_most_first(breakdowns["region"]),
        tickets_by_status=tuple((status, breakdowns["status"].get(status, 0)) for status in STATUSES),
        tickets_by_category=_most_first(breakdowns["category"]),
        tickets_per_day=tuple(breakdowns["day"].get(day, 0) for day in days),
        first_answer=Spread(figures["answered"], figures["answer_median"], figures["answer_p90"]),
        to_close=Spread(figures["closed"], figures["close_median"], figures["close_p90"]),
        missed=Missed(figures["not_taken"], figures["escalated"], figures["unanswered"]),
        ratings=Ratings(
            figures["rated"], figures["rating_average"], tuple(figures[f"stars_{n}"] for n in range(1, 6))  # type: ignore[arg-type]
        ),
        via_knowledge=figures["via_knowledge"],
        knowledge_entries=_most_first({kb: n for kb, n in breakdowns["kb"].items() if kb}),
        deeds_by_state=tuple((state, deeds["state"][state]["deeds"] if state in deeds["state"] else 0) for state in DEED_STATES),
        deeds_by_kind=tuple(kinds),
        deeds_by_region=_most_first({r: row["approved"] for r, row in deeds["region"].items() if row["approved"]}),
        deeds_per_day=tuple(deeds["deed_date"][day]["approved"] if day in deeds["deed_date"] else 0 for day in days),
        people=everyone,
        people_by_language=tuple(sorted(people["language"].items(), key=_by_joined)),
        people_by_region=tuple(sorted(people["region"].items(), key=_by_joined)),
    )


# --- keeping the rollups small ------------------------------------------------------------------------

# Each rollup's change rows folded into its compacted rows, one per key, in one statement: rows a
# transaction still open writes meanwhile are not seen by it and wait for the next time.
_COMPACT = [
    text(
        """
        WITH changes AS (DELETE FROM stats_deed_days WHERE NOT compacted RETURNING deed_date, region, kind, state, deeds, amount)
        INSERT INTO stats_deed_days AS kept (deed_date, region, kind, state, deeds, amount, compacted)
        SELECT deed_date, region, kind, state, sum(deeds), sum(amount), true FROM changes GROUP BY 1, 2, 3, 4
        ON CONFLICT (deed_date, region, kind, state) WHERE compacted
        DO UPDATE SET deeds = kept.deeds + excluded.deeds, amount = kept.amount + excluded.amount
        """
    ),
    text("DELETE FROM stats_deed_days WHERE compacted AND deeds = 0 AND amount = 0"),
    text(
        """
        WITH changes AS (DELETE FROM stats_people_days WHERE NOT compacted RETURNING day, region, language, people)
        INSERT INTO stats_people_days AS kept (day, region, language, people, compacted)
        SELECT day, region, language, sum(people), true FROM changes GROUP BY 1, 2, 3
        ON CONFLICT (day, region, language) WHERE compacted DO UPDATE SET people = kept.people + excluded.people
        """
    ),
    text("DELETE FROM stats_people_days WHERE compacted AND people = 0"),
]
COMPACT_TIMER = "stats_compact"
COMPACT_EVERY = timedelta(minutes=10)


async def compact(conn: AsyncConnection | AsyncSession) -> None:
    """Fold the rollups' change rows (the caller commits). The figures read the same before and
    after; only how many rows they add up changes."""
    for statement in _COMPACT:
        await conn.execute(statement)


async def _compact_due(session: AsyncSession, payload: dict[str, Any]) -> None:
    await compact(session)
    await schedule_compaction(session)


async def schedule_compaction(session: AsyncSession) -> None:
    """Set the compaction's one timer unless it is set: at every start (a process restarted more
    often than COMPACT_EVERY must not put it off for ever), and by the compaction itself."""
    await timers.set_timer(session, COMPACT_TIMER, "rollups", COMPACT_EVERY, keep_pending=True)


timers.register(COMPACT_TIMER, _compact_due)
