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


# Every figure is read from per-day rollups (migrations 0028, 0029): change rows and compacted rows
# alike are added up. A bind parameter of NULL region means every region.
_IN_SCOPE = "(CAST(:region AS text) IS NULL OR region = CAST(:region AS text))"
# Where a rollup keeps rows for every region ('*') beside each region's: the scope's own rows.
_SCOPE_ROWS = "region = coalesce(CAST(:region AS text), '*')"
_TICKET_COUNTS = ("tickets", "status_new", "status_taken", "status_closed", "answered", "closed", "escalated",
                  "reminded", "overdue", "via_knowledge", "stars_1", "stars_2", "stars_3", "stars_4", "stars_5")
# One pass over a row per day and region: the totals (the empty grouping set), per region, per day.
_TICKET_FIGURES = text(
    f"""
    SELECT GROUPING(region, day) AS grouping, region, day,
           {", ".join(f"sum({name})::bigint AS {name}" for name in _TICKET_COUNTS)}
    FROM stats_ticket_days
    WHERE day BETWEEN :first AND :last AND {_IN_SCOPE}
    GROUP BY GROUPING SETS ((), (region), (day))
    """
)
_TICKET_DIMENSIONS = ("region", "day")
# The seconds each time measures; the bucket expressions are those of the indexes (migration 0029).
_MEASURES = {
    "answer": ("date_part('epoch', first_answer_at - created_at)", "first_answer_at"),
    "close": ("date_part('epoch', closed_at - created_at)", "closed_at"),
}
# Requests of one bucket in the period, in order of their time (the index's own order, no sort): `take`
# of them after `skip`.
_TIMES_IN_BUCKET = {
    measure: text(
        f"""
        SELECT {seconds} AS seconds FROM tickets
        WHERE {ended} IS NOT NULL AND stats_time_bucket({seconds}) = :bucket
          AND created_at >= :start AND created_at < :end AND {_IN_SCOPE}
        ORDER BY 1 OFFSET :skip LIMIT :take
        """
    )
    for measure, (seconds, ended) in _MEASURES.items()
}
# The same percentiles over every request of the period: only if the requests changed between the
# histogram's statement and a bucket's (each statement has its own snapshot), which is rare.
_SPREAD_SCANNED = {
    measure: text(
        f"""
        SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY {seconds}) FROM tickets
        WHERE {ended} IS NOT NULL AND created_at >= :start AND created_at < :end AND {_IN_SCOPE}
        """
    )
    for measure, (seconds, ended) in _MEASURES.items()
}
SPREAD_SHARES = (0.5, 0.9)


_DEED_COUNTS = ("deeds", "pending", "approved", "rejected")
# Counts only in the grouping sets (a sum of amounts in each of them cost as much as the rest); the
# amounts by kind, and the regions, are among the breakdowns below.
_DEED_FIGURES = text(
    f"""
    SELECT GROUPING(deed_date) AS grouping, deed_date,
           {", ".join(f"sum({name})::bigint AS {name}" for name in _DEED_COUNTS)}
    FROM stats_deed_days
    WHERE {_SCOPE_ROWS} AND deed_date BETWEEN :first AND :last
    GROUP BY GROUPING SETS ((), (deed_date))
    """
)
_DEED_DIMENSIONS = ("deed_date",)
# The breakdowns that read no more than their own rollup, in one statement (a round trip, and one
# statement to prepare on each pooled connection rather than five): (what, name, count, amount).
_BREAKDOWNS = text(
    f"""
    SELECT 'category' AS what, category AS name, sum(tickets)::bigint AS n, NULL::numeric AS amount
    FROM stats_ticket_category_days WHERE {_SCOPE_ROWS} AND day BETWEEN :first AND :last
    GROUP BY category HAVING sum(tickets) <> 0
    UNION ALL
    SELECT 'entry', entry, sum(tickets), NULL FROM stats_ticket_kb_days
    WHERE {_SCOPE_ROWS} AND day BETWEEN :first AND :last
    GROUP BY entry HAVING sum(tickets) <> 0
    UNION ALL
    -- How many requests took a time in each bucket, per time: in the order of the buckets.
    SELECT measure, bucket::text, sum(tickets), NULL FROM stats_ticket_times
    WHERE {_SCOPE_ROWS} AND day BETWEEN :first AND :last
    GROUP BY measure, bucket HAVING sum(tickets) <> 0
    UNION ALL
    SELECT 'kind', kind, sum(approved), sum(approved_amount) FROM stats_deed_days
    WHERE {_SCOPE_ROWS} AND deed_date BETWEEN :first AND :last
    GROUP BY kind HAVING sum(approved) <> 0
    UNION ALL
    -- Each region's own rows (not '*'), for the national figures only (a region's is its total):
    -- read from the index alone.
    SELECT 'deed_region', region, sum(approved), NULL FROM stats_deed_days
    WHERE CAST(:region AS text) IS NULL AND region <> '*' AND deed_date BETWEEN :first AND :last
    GROUP BY region HAVING sum(approved) <> 0
    """
)
LANGUAGES = ("kk", "ru", "en")  # the columns of `stats_people_days` (`users_language_known`)
# Everyone who joined by the period's end (`total`), and in it (`joined`): per region and in all.
_PEOPLE_FIGURES = text(
    f"""
    SELECT GROUPING(region) AS grouping, region,
           {", ".join(f"coalesce(sum({c}) FILTER (WHERE day >= :first), 0) AS joined_{c}, sum({c}) AS total_{c}"
                      for c in ("people", *LANGUAGES))}
    FROM stats_people_days
    WHERE day <= :last AND {_IN_SCOPE}
    GROUP BY GROUPING SETS ((), (region))
    """
)


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


async def _spread(
    session: AsyncSession, measure: str, histogram: list[tuple[int, int]], period: Period, region: str | None
) -> Spread:
    """The median and the 90th percentile of a time, exactly as `percentile_cont` over every
    request would give them: the histogram (buckets in order, with their counts) says which bucket
    each wanted rank falls in, and only that bucket's requests are read, in order, through its index."""
    count = sum(n for _, n in histogram)
    if not count:
        return Spread(0, None, None)
    # percentile_cont(p): between the values of ranks floor(h) and floor(h) + 1, h = p × (count − 1).
    positions = {share: share * (count - 1) for share in SPREAD_SHARES}
    wanted = sorted({rank for h in positions.values() for rank in (int(h), min(int(h) + 1, count - 1))})
    values: dict[int, float] = {}
    params = {"start": period.start, "end": period.end, "region": region}
    before = 0
    for bucket, n in histogram:
        here = [rank for rank in wanted if before <= rank < before + n]
        if here:
            skip, take = here[0] - before, here[-1] - here[0] + 1
            found = (await session.execute(_TIMES_IN_BUCKET[measure], {**params, "bucket": bucket, "skip": skip, "take": take})).scalars().all()
            if len(found) < take:  # the requests changed since the histogram was read
                median, p90 = (await session.execute(_SPREAD_SCANNED[measure], params)).scalar_one()
                return Spread(count, median, p90)
            for rank in here:
                values[rank] = found[rank - here[0]]
        before += n
    low, high = ({share: values[int(h)] for share, h in positions.items()},
                 {share: values[min(int(h) + 1, count - 1)] for share, h in positions.items()})
    median, p90 = (low[share] + (positions[share] - int(positions[share])) * (high[share] - low[share]) for share in SPREAD_SHARES)
    return Spread(count, median, p90)


async def collect(session: AsyncSession, period: Period, region: str | None = None) -> Statistics:
    """Every figure of the period, for one region or (None) for all."""
    day_params = {"first": period.first, "last": period.last, "region": region}
    totals: dict[str, int] = dict.fromkeys(_TICKET_COUNTS, 0)
    breakdowns: dict[str, dict] = {name: {} for name in _TICKET_DIMENSIONS}
    for row in (await session.execute(_TICKET_FIGURES, day_params)).mappings():
        name = _dimension(row["grouping"], _TICKET_DIMENSIONS)
        if name is None:
            totals = {count: row[count] or 0 for count in _TICKET_COUNTS}
        elif row["tickets"]:
            breakdowns[name][row[name]] = row["tickets"]
    found: dict[str, dict[str, tuple[int, Any]]] = {what: {} for what in ("category", "entry", "kind", "deed_region", *_MEASURES)}
    for row in (await session.execute(_BREAKDOWNS, day_params)).mappings():
        found[row["what"]][row["name"]] = (row["n"], row["amount"])
    categories = {name: n for name, (n, _) in found["category"].items()}
    entries = {name: n for name, (n, _) in found["entry"].items()}
    histograms = {measure: sorted((int(bucket), n) for bucket, (n, _) in found[measure].items()) for measure in _MEASURES}
    spreads = {measure: await _spread(session, measure, histograms[measure], period, region) for measure in _MEASURES}
    stars = tuple(totals[f"stars_{n}"] for n in range(1, 6))
    rated = sum(stars)

    deed_totals: dict[str, Any] = dict.fromkeys(_DEED_COUNTS, 0)
    deeds: dict[str, dict] = {name: {} for name in _DEED_DIMENSIONS}
    for row in (await session.execute(_DEED_FIGURES, day_params)).mappings():
        name = _dimension(row["grouping"], _DEED_DIMENSIONS)
        if name is None:
            deed_totals = {count: row[count] or 0 for count in _DEED_COUNTS}
        elif row["approved"]:
            deeds[name][row[name]] = row

    everyone = People(0, 0)
    by_language: dict[str, People] = {}
    by_region: dict[str, People] = {}
    for row in (await session.execute(_PEOPLE_FIGURES, day_params)).mappings():
        if _dimension(row["grouping"], ("region",)) is None:
            everyone = People(row["joined_people"], row["total_people"])
            by_language = {c: People(row[f"joined_{c}"], row[f"total_{c}"]) for c in LANGUAGES if row[f"total_{c}"]}
        elif row["region"] is not None and row["total_people"]:
            by_region[row["region"]] = People(row["joined_people"], row["total_people"])

    days = period.each_day()
    kinds = sorted(
        (KindTotal(kind, n, Decimal(amount)) for kind, (n, amount) in found["kind"].items()),
        key=lambda total: (-total.deeds, total.kind),
    )
    return Statistics(
        period=period,
        region=region,
        tickets=totals["tickets"],
        tickets_by_region=_most_first(breakdowns["region"]),
        tickets_by_status=tuple((status, totals[f"status_{status}"]) for status in STATUSES),
        tickets_by_category=_most_first(categories),
        tickets_per_day=tuple(breakdowns["day"].get(day, 0) for day in days),
        first_answer=spreads["answer"],
        to_close=spreads["close"],
        missed=Missed(totals["reminded"], totals["escalated"], totals["overdue"]),
        ratings=Ratings(
            rated, sum(n * count for n, count in enumerate(stars, 1)) / rated if rated else None,
            stars,  # type: ignore[arg-type]
        ),
        via_knowledge=totals["via_knowledge"],
        knowledge_entries=_most_first({entry: n for entry, n in entries.items() if entry}),
        deeds_by_state=tuple((state, deed_totals[state]) for state in DEED_STATES),
        deeds_by_kind=tuple(kinds),
        deeds_by_region=_most_first(
            {name: n for name, (n, _) in found["deed_region"].items()} if region is None
            else {region: deed_totals["approved"]} if deed_totals["approved"] else {}
        ),
        deeds_per_day=tuple(deeds["deed_date"][day]["approved"] if day in deeds["deed_date"] else 0 for day in days),
        people=everyone,
        people_by_language=tuple(sorted(by_language.items(), key=_by_joined)),
        people_by_region=tuple(sorted(by_region.items(), key=_by_joined)),
    )


# --- keeping the rollups small ------------------------------------------------------------------------

# Each rollup: its key, and its counts (a compacted row whose counts are all 0 goes).
_ROLLUPS = {
    "stats_deed_days": (("deed_date", "region", "kind"), (*_DEED_COUNTS, "approved_amount")),
    "stats_people_days": (("day", "region"), ("people", *LANGUAGES)),
    "stats_ticket_days": (("day", "region"), _TICKET_COUNTS),
    "stats_ticket_category_days": (("day", "region", "category"), ("tickets",)),
    "stats_ticket_kb_days": (("day", "region", "entry"), ("tickets",)),
    "stats_ticket_times": (("region", "measure", "day", "bucket"), ("tickets",)),
}


def _compaction(table: str, key: tuple[str, ...], counts: tuple[str, ...]) -> list[Any]:
    """A rollup's change rows folded into its compacted rows, one per key, in one statement: rows a
    transaction still open writes meanwhile are not seen by it and wait for the next time."""
    keys, sums = ", ".join(key), ", ".join(f"sum({c})" for c in counts)
    return [
        text(
            f"""
            WITH changes AS (DELETE FROM {table} WHERE NOT compacted RETURNING {keys}, {", ".join(counts)})
            INSERT INTO {table} AS kept ({keys}, {", ".join(counts)}, compacted)
            SELECT {keys}, {sums}, true FROM changes GROUP BY {keys}
            ON CONFLICT ({keys}) WHERE compacted
            DO UPDATE SET {", ".join(f"{c} = kept.{c} + excluded.{c}" for c in counts)}
            """
        ),
        text(f"DELETE FROM {table} WHERE compacted AND {' AND '.join(f'{c} = 0' for c in counts)}"),
    ]


_COMPACT = [statement for table, (key, counts) in _ROLLUPS.items() for statement in _compaction(table, key, counts)]
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
