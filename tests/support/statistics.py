"""The statistics oracle: a month of requests, deeds and people, seeded in the database from a
random seed, and its figures computed here, independently of the service, with the lines of the
report a coordinator should read."""

from __future__ import annotations

import io
import json
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import numpy
import pytest
from PIL import Image
from sqlalchemy import text

from bot.services import statistics
from bot.services.statistics import Period

KZ = timezone(timedelta(hours=5))
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
NOVEMBER_TYPED = "01.11.2026-30.11.2026"
REGIONS = ("astana", "almaty", "akmola", "karaganda")
NAMES = {"astana": "Astana", "almaty": "Almaty", "akmola": "Akmola Region", "karaganda": "Karaganda Region"}
LANGUAGES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
KB_TITLES = {"become/start": "How do I become a volunteer?"}
T1, T2, T3 = timedelta(minutes=15), timedelta(minutes=60), timedelta(minutes=30)  # the settings' defaults


# --- the seeded month ------------------------------------------------------------------------------

@dataclass
class SeedTicket:
    region: str
    category: str
    status: str
    created: datetime
    taken: datetime | None = None
    answered: datetime | None = None
    escalated: datetime | None = None
    closed: datetime | None = None
    rating: int | None = None
    details: dict = field(default_factory=dict)
    reminded: bool = False   # a fired T1 timer
    overdue: int = 0         # fired T3 timers
    pending_remind: bool = False  # a T1 timer not fired yet: not a missed limit
    id: int = 0


@dataclass
class SeedDeed:
    participant: int
    region: str
    kind: str
    amount: Decimal
    day: date
    state: str


@dataclass
class SeedUser:
    telegram_id: int
    language: str
    region: str | None
    created: datetime


@dataclass
class Month:
    tickets: list[SeedTicket]
    deeds: list[SeedDeed]
    users: list[SeedUser]


def seeded_month(rng: random.Random) -> Month:
    tickets = []
    for _ in range(90):
        day = NOVEMBER.first + timedelta(days=rng.randrange(30))
        created = datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), tzinfo=KZ)
        region = rng.choices(REGIONS, weights=(4, 3, 2, 1))[0]
        category = rng.choice(("question", "question", "elderly", "animals", "ecology"))
        ticket = SeedTicket(region, category, rng.choice(("new", "taken", "closed", "closed", "closed")), created)
        if ticket.status == "taken" or (ticket.status == "closed" and rng.random() < 0.9):
            ticket.taken = created + timedelta(minutes=rng.randrange(1, 120))
            if rng.random() < 0.8:
                ticket.answered = ticket.taken + timedelta(minutes=rng.randrange(0, 90))
        if ticket.taken is None and rng.random() < 0.4:
            ticket.escalated = created + T2
        if ticket.status == "closed":
            ticket.closed = (ticket.answered or ticket.taken or created) + timedelta(minutes=rng.randrange(5, 3000))
            if ticket.taken and rng.random() < 0.7:
                ticket.rating = rng.randint(1, 5)
        if rng.random() < 0.25:
            ticket.details = {"via": "knowledge", "kb": rng.choice(("become/start", "become/start", "nowhere/gone"))}
        ticket.reminded = rng.random() < 0.3
        ticket.overdue = rng.choice((0, 0, 0, 1, 2)) if ticket.taken else 0
        ticket.pending_remind = ticket.status == "new" and not ticket.reminded
        tickets.append(ticket)
    # On either side of the month's edges, in Astana time; a fired timer of a ticket outside counts not.
    for moment, reminded in ((datetime(2026, 10, 31, 23, 59, tzinfo=KZ), True), (datetime(2026, 11, 1, 0, 0, tzinfo=KZ), False),
                             (datetime(2026, 11, 30, 23, 59, tzinfo=KZ), False), (datetime(2026, 12, 1, 0, 0, tzinfo=KZ), True)):
        tickets.append(SeedTicket("astana", "question", "new", moment, reminded=reminded))

    participants = [(20_000 + n, REGIONS[n % len(REGIONS)]) for n in range(12)]
    deeds = []
    for _ in range(70):
        participant, region = rng.choice(participants)
        kind = rng.choice(("trees", "litter", "animals"))
        amount = Decimal(rng.randint(1, 60)) + (Decimal("0.5") if kind == "litter" and rng.random() < 0.5 else 0)
        day = NOVEMBER.first + timedelta(days=rng.randrange(-2, 32))  # a few outside the month
        deeds.append(SeedDeed(participant, region, kind, amount, day, rng.choice(("pending", "approved", "approved", "rejected"))))

    users = []
    for n in range(60):
        created = rng.choice((
            datetime(2026, 10, 10, 12, tzinfo=KZ),                                            # before: in the total
            datetime(2026, 11, 1 + rng.randrange(30), rng.randrange(24), tzinfo=KZ),          # joined in the month
            datetime(2026, 12, 1, 0, 30, tzinfo=KZ),                                          # after: in neither
        ))
        users.append(SeedUser(30_000 + n, rng.choice(("kk", "ru", "en")), rng.choice((*REGIONS, None)), created))
    return Month(tickets, deeds, users)


async def seed(engine, month: Month) -> None:
    async with engine.begin() as conn:
        for index, ticket in enumerate(month.tickets):
            ticket.id = await conn.scalar(
                text(
                    """
                    INSERT INTO tickets (citizen_id, kind, category, region, office, language, status, operator_id, details,
                                         created_at, taken_at, first_answer_at, escalated_at, closed_at, closed_by, rating)
                    VALUES (:citizen, :kind, :category, :region, :office, 'ru', :status, :operator, CAST(:details AS jsonb),
                            :created, :taken, :answered, :escalated, :closed, :closed_by, :rating)
                    RETURNING id
                    """
                ),
                {"citizen": 10_000 + index, "kind": "question" if ticket.category == "question" else "help",
                 "category": ticket.category, "region": ticket.region,
                 "office": "national" if ticket.escalated else ticket.region, "status": ticket.status,
                 "operator": 42 if ticket.taken else None, "details": json.dumps(ticket.details),
                 "created": ticket.created, "taken": ticket.taken, "answered": ticket.answered,
                 "escalated": ticket.escalated, "closed": ticket.closed,
                 "closed_by": "operator" if ticket.closed else None, "rating": ticket.rating},
            )
            fired = [("ticket_remind", ticket.created + T1)] * ticket.reminded
            fired += [("ticket_unanswered", (ticket.taken or ticket.created) + T3 * (n + 1)) for n in range(ticket.overdue)]
            for kind, when in fired:
                await conn.execute(
                    text("INSERT INTO timers (kind, key, payload, due_at, done_at) VALUES (:kind, :key, '{}', :at, :at)"),
                    {"kind": kind, "key": str(ticket.id), "at": when},
                )
            if ticket.pending_remind:  # due tomorrow, so the worker leaves it pending during the test
                await conn.execute(
                    text("INSERT INTO timers (kind, key, payload, due_at) VALUES ('ticket_remind', :key, '{}', now() + interval '1 day')"),
                    {"key": str(ticket.id)},
                )
        for participant, region in {(d.participant, d.region) for d in month.deeds}:
            await conn.execute(
                text("INSERT INTO participants (telegram_id, kind, region) VALUES (:id, 'person', :region)"),
                {"id": participant, "region": region},
            )
        await conn.execute(
            text(
                """
                INSERT INTO deeds (participant_id, kind, amount, deed_date, locality, description, region, state)
                VALUES (:participant, :kind, :amount, :day, 'Астана', 'Субботник', :region, :state)
                """
            ),
            [{"participant": d.participant, "kind": d.kind, "amount": d.amount, "day": d.day, "region": d.region, "state": d.state}
             for d in month.deeds],
        )
        await conn.execute(
            text(
                """
                INSERT INTO users (telegram_id, language, region, consent_version, consent_at, created_at)
                VALUES (:id, :language, :region, 1, :created, :created)
                """
            ),
            [{"id": u.telegram_id, "language": u.language, "region": u.region, "created": u.created} for u in month.users],
        )


# --- the figures, computed here --------------------------------------------------------------------

def percentile_cont(values: list[float], share: float) -> float | None:
    """PostgreSQL's percentile_cont: linear interpolation between the two nearest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def most_first(counts: dict) -> list[tuple]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


@dataclass
class Expected:
    tickets: list[SeedTicket]
    deeds: list[SeedDeed]
    users: list[SeedUser]
    period: Period

    @property
    def start(self) -> datetime:
        return datetime(self.period.first.year, self.period.first.month, self.period.first.day, tzinfo=KZ)

    @property
    def end(self) -> datetime:
        after = self.period.last + timedelta(days=1)
        return datetime(after.year, after.month, after.day, tzinfo=KZ)

    @classmethod
    def of(cls, month: Month, period: Period, region: str | None = None) -> Expected:
        def mine(thing) -> bool:
            return region is None or thing.region == region

        expected = cls([], [], [], period)
        expected.tickets = [t for t in month.tickets if mine(t) and expected.start <= t.created < expected.end]
        expected.deeds = [d for d in month.deeds if mine(d) and period.first <= d.day <= period.last]
        expected.users = [u for u in month.users if mine(u) and u.created < expected.end]
        return expected

    def spread(self, ends: str) -> tuple[int, float | None, float | None]:
        seconds = [(getattr(t, ends) - t.created).total_seconds() for t in self.tickets if getattr(t, ends)]
        return len(seconds), percentile_cont(seconds, 0.5), percentile_cont(seconds, 0.9)

    @property
    def ratings(self) -> list[int]:
        return [t.rating for t in self.tickets if t.rating]

    @property
    def approved(self) -> list[SeedDeed]:
        return [d for d in self.deeds if d.state == "approved"]

    def approved_by_kind(self) -> dict[str, tuple[int, Decimal]]:
        totals: dict[str, tuple[int, Decimal]] = {}
        for deed in self.approved:
            count, amount = totals.get(deed.kind, (0, Decimal(0)))
            totals[deed.kind] = (count + 1, amount + deed.amount)
        return totals

    def joined(self, user: SeedUser) -> bool:
        return self.start <= user.created

    def people_by(self, key: str) -> dict[str, tuple[int, int]]:
        found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for user in self.users:
            if getattr(user, key) is not None:
                found[getattr(user, key)][0] += self.joined(user)
                found[getattr(user, key)][1] += 1
        return {k: (v[0], v[1]) for k, v in found.items()}


def check_collected(figures: statistics.Statistics, expected: Expected) -> None:
    tickets = expected.tickets
    assert figures.tickets == len(tickets)
    assert list(figures.tickets_by_region) == most_first(Counter(t.region for t in tickets))
    statuses = Counter(t.status for t in tickets)
    assert list(figures.tickets_by_status) == [(s, statuses[s]) for s in ("new", "taken", "closed")]
    assert list(figures.tickets_by_category) == most_first(Counter(t.category for t in tickets))
    per_day = Counter(t.created.astimezone(KZ).date() for t in tickets)
    assert list(figures.tickets_per_day) == [per_day[day] for day in expected.period.each_day()]
    for spread, ends in ((figures.first_answer, "answered"), (figures.to_close, "closed")):
        count, median, p90 = expected.spread(ends)
        assert spread.count == count
        assert spread.median == pytest.approx(median) and spread.p90 == pytest.approx(p90)
    assert figures.missed == statistics.Missed(
        not_taken=sum(t.reminded for t in tickets),
        escalated=sum(t.escalated is not None for t in tickets),
        unanswered=sum(t.overdue > 0 for t in tickets),
    )
    ratings = expected.ratings
    assert figures.ratings.count == len(ratings)
    assert figures.ratings.average == pytest.approx(sum(ratings) / len(ratings) if ratings else None)
    assert figures.ratings.distribution == tuple(ratings.count(n) for n in range(1, 6))
    via = [t.details["kb"] for t in tickets if t.details.get("via") == "knowledge"]
    assert figures.via_knowledge == len(via)
    # "nowhere/gone" is stored as it came (the handler keeps only real answers; the figures show what is there).
    assert list(figures.knowledge_entries) == most_first(Counter(via))

    deeds = expected.deeds
    states = Counter(d.state for d in deeds)
    assert list(figures.deeds_by_state) == [(s, states[s]) for s in ("pending", "approved", "rejected")]
    by_kind = expected.approved_by_kind()
    assert [(k.kind, k.deeds, k.amount) for k in figures.deeds_by_kind] == sorted(
        ((kind, count, amount) for kind, (count, amount) in by_kind.items()), key=lambda item: (-item[1], item[0])
    )
    assert list(figures.deeds_by_region) == most_first(Counter(d.region for d in expected.approved))
    approved_per_day = Counter(d.day for d in expected.approved)
    assert list(figures.deeds_per_day) == [approved_per_day[day] for day in expected.period.each_day()]

    users = expected.users
    assert figures.people == statistics.People(sum(expected.joined(u) for u in users), len(users))
    for got, key in ((figures.people_by_language, "language"), (figures.people_by_region, "region")):
        assert {k: (p.joined, p.total) for k, p in got} == expected.people_by(key)


# --- how the report reads (English) ----------------------------------------------------------------

def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h" if not minutes else f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d" if not hours else f"{days} d {hours} h"


def report_lines(expected: Expected, region: str | None) -> list[str]:
    tickets = expected.tickets
    statuses = Counter(t.status for t in tickets)
    lines = [
        f"Statistics: {NAMES[region] if region else 'all regions'}",
        "01.11.2026 – 30.11.2026",
        f"💬 Requests: {len(tickets)}",
        f"By state: waiting {statuses['new']} · in progress {statuses['taken']} · closed {statuses['closed']}",
        f"not taken within 15 min: {sum(t.reminded for t in tickets)}",
        f"sent up to the national office after 1 h: {sum(t.escalated is not None for t in tickets)}",
        f"a citizen waited over 30 min for an answer: {sum(t.overdue > 0 for t in tickets)}",
    ]
    for label, ends in (("First answer", "answered"), ("Closed", "closed")):
        count, median, p90 = expected.spread(ends)
        lines.append(f"{label}: median {duration(median)}, 90% within {duration(p90)} (of {count})")
    ratings = expected.ratings
    stars = " · ".join(f"{n}★ {ratings.count(n)}" for n in range(5, 0, -1))
    lines.append(f"Ratings: {len(ratings)}, average {sum(ratings) / len(ratings):.1f} ({stars})")
    via = Counter(t.details["kb"] for t in tickets if t.details.get("via") == "knowledge")
    lines.append(f"After a knowledge-base answer: {sum(via.values())} requests")
    lines.append(f"• {KB_TITLES['become/start']}: {via['become/start']}")

    states = Counter(d.state for d in expected.deeds)
    lines.append(f"🏃 Marathon deeds: {len(expected.deeds)}")
    lines.append(f"⏳ waiting for review {states['pending']} · ✅ approved {states['approved']} · ❌ not accepted {states['rejected']}")
    kinds = {"trees": ("🌳 Trees planted", "pcs"), "litter": ("🗑 Litter collected", "kg"), "animals": ("🐾 Animals helped", "pcs")}
    for kind, (count, amount) in expected.approved_by_kind().items():
        name, unit = kinds[kind]
        lines.append(f"• {name}: {count} deed{'s' if count != 1 else ''}, {format(amount.normalize(), 'f')} {unit}")
    per_day = Counter(d.day for d in expected.approved)
    busiest = max(expected.period.each_day(), key=lambda day: (per_day[day], -day.toordinal()))
    lines.append(f"Busiest day: {busiest:%d.%m.%Y} ({per_day[busiest]} approved)")

    users = expected.users
    lines.append(f"👥 People: {len(users)}, joined in the period: {sum(expected.joined(u) for u in users)}")
    for code, (joined, total) in expected.people_by("language").items():
        lines.append(f"{LANGUAGES[code]} {total} (+{joined})")
    if region is None:
        by_region = Counter(t.region for t in tickets)
        lines.append("By region: " + " · ".join(f"{NAMES[r]} {n}" for r, n in most_first(by_region)))
        for slug, (joined, total) in expected.people_by("region").items():
            lines.append(f"{NAMES[slug]} {total} (+{joined})")
    return lines


def opened_picture(content: bytes) -> tuple[int, int]:
    """The picture's size, after checking it is a whole image (Telegram keeps a photo as JPEG,
    whatever the bot uploaded) and not a blank one."""
    Image.open(io.BytesIO(content)).verify()
    pixels = numpy.asarray(Image.open(io.BytesIO(content)).convert("L"), dtype=float) / 255
    height, width = pixels.shape[:2]
    assert 400 <= width <= 2000 and 300 <= height <= 2000, (width, height)
    assert pixels.std() > 0.01, "not a blank picture"
    return width, height
