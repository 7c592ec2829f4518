"""The Marathon of Good Deeds: participants log deeds, front-offices review them, and everyone sees
totals of approved deeds. Knows nothing of Telegram.

The kinds of deeds, their units and plausible maximums, and the default dates come from
`bot/content/marathon.toml`; coordinators can move the dates (a row in `marathon_settings`).

Results never scan deeds: each review changes `deed_totals` (per region and kind) and the
participant's `approved_deeds` in its own transaction, so totals, leaderboards and the ranking of
regions read a few indexed rows however many deeds there are.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

from babel import Locale
from babel.numbers import format_decimal
from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SUPPORTED_LANGUAGES
from bot.db.models import Deed as DeedRow
from bot.db.models import is_row_id
from bot.db.models import DeedKindLimit, DeedPhoto, DeedTotal, MarathonSettings
from bot.db.models import Participant as ParticipantRow
from bot.services import outbox
from bot.services.directory import NATIONAL
from bot.services import access
from bot.services.access import Act
from bot.services.staff import Operator

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "content" / "marathon.toml"
UNITS = ("count", "kg", "hours")
PARTICIPANT_KINDS = ("person", "organisation", "group")
MAX_NAME_LENGTH = 64
MAX_LOCALITY_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 500
MAX_PHOTOS = 3
MAX_REASON_LENGTH = 300
LEADERBOARD_SIZE = 10
# Deeds are counted per day in Kazakhstan's time (UTC+5).
LOCAL_ZONE_OFFSET = timedelta(hours=5)


class MarathonError(ValueError):
    """Content of the data file that does not hold together; the message says where."""


class Refusal(StrEnum):
    """Why a deed (or a step of logging it) is refused: the handler tells the person in words."""

    NOT_RUNNING = "not_running"
    NOT_A_NUMBER = "not_a_number"
    NOT_POSITIVE = "not_positive"
    TOO_MUCH = "too_much"
    IN_THE_FUTURE = "in_the_future"
    OUTSIDE_DATES = "outside_dates"
    PHOTO_USED = "photo_used"
    DAILY_LIMIT = "daily_limit"
    NOT_JOINED = "not_joined"
    NOT_OFFERED = "not_offered"  # a kind coordinators stopped offering while the person was logging it


class Refused(ValueError):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


class State(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Kind:
    slug: str
    name: dict[str, str]
    unit: str
    max: Decimal
    shown_in_tonnes: bool
    total: dict[str, dict[str, str]]  # language -> plural category -> "{n} …"
    offered: bool = True  # coordinators can stop offering a kind; its deeds stay and count

    def total_words(self, amount: Decimal, language: str) -> str:
        """`amount` (in the kind's unit) in words, as the news reports of the marathon put it."""
        shown = (amount / 1000).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if self.shown_in_tonnes else amount
        if self.shown_in_tonnes and not shown and amount:
            shown = (amount / 1000).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)  # 20 kg: 0.02 t, not 0
        # A whole number is shown (and declined) as one: "1 tonne", not "1.0 tonnes".
        shown = shown.quantize(Decimal(1)) if shown == shown.to_integral_value() else shown.normalize()
        forms = self.total[language]
        category = Locale.parse(language).plural_form(shown)
        template = forms.get(category) or forms["other"]
        number = format_decimal(shown, format="#,##0.###", locale=language)
        return template.format(n=number)


@dataclass(frozen=True, slots=True)
class Dates:
    starts_on: date
    ends_on: date
    daily_limit: int

    def running(self, today: date) -> bool:
        return self.starts_on <= today <= self.ends_on


class Rules:
    """The marathon's data file: its kinds and default dates."""

    def __init__(self, kinds: list[Kind], defaults: Dates) -> None:
        self.kinds = tuple(kinds)
        self._by_slug = {kind.slug: kind for kind in kinds}
        self.defaults = defaults

    def kind(self, slug: str) -> Kind | None:
        return self._by_slug.get(slug)

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> Rules:
        with path.open("rb") as fp:
            raw = tomllib.load(fp)
        try:
            marathon = raw["marathon"]
            defaults = Dates(
                date.fromisoformat(marathon["starts"]), date.fromisoformat(marathon["ends"]), int(marathon["daily_limit"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MarathonError(f"{path.name}: [marathon] needs starts, ends (YYYY-MM-DD) and daily_limit: {exc}") from None
        kinds = [_kind(entry, path.name) for entry in raw.get("kind", [])]
        if not kinds or len({k.slug for k in kinds}) != len(kinds):
            raise MarathonError(f"{path.name}: kinds are missing or a slug is repeated")
        return cls(kinds, defaults)


def _kind(entry: Mapping[str, Any], source: str) -> Kind:
    slug = str(entry.get("slug", "")).strip()
    where = f"{source}: kind {slug!r}"
    if not slug or len(slug) > 16:
        raise MarathonError(f"{where}: a slug of 1 to 16 characters is needed")
    name = entry.get("name", {})
    total = entry.get("total", {})
    if not all(name.get(lang) for lang in SUPPORTED_LANGUAGES):
        raise MarathonError(f"{where}: name needs kk, ru and en")
    if not all(isinstance(total.get(lang), dict) and total[lang].get("other") for lang in SUPPORTED_LANGUAGES):
        raise MarathonError(f"{where}: total needs kk, ru and en, each with at least 'other'")
    if entry.get("unit") not in UNITS:
        raise MarathonError(f"{where}: unit is one of {', '.join(UNITS)}")
    try:
        maximum = Decimal(str(entry["max"]))
    except (KeyError, InvalidOperation):
        raise MarathonError(f"{where}: max is a number") from None
    if maximum <= 0:
        raise MarathonError(f"{where}: max must be positive")
    return Kind(slug, dict(name), entry["unit"], maximum, entry.get("shown_in") == "t",
                {lang: dict(total[lang]) for lang in SUPPORTED_LANGUAGES})


def local_today(now: datetime | None = None) -> date:
    return ((now or datetime.now(UTC)) + LOCAL_ZONE_OFFSET).date()


# --- the marathon's dates ------------------------------------------------------------------------

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


# --- participants ----------------------------------------------------------------------------------

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


# --- logging a deed --------------------------------------------------------------------------------

def parse_amount(kind: Kind, typed: str) -> Decimal:
    """The amount a person typed ("12", "2,5", "1 200"), checked against the kind's maximum."""
    cleaned = typed.strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise Refused(Refusal.NOT_A_NUMBER) from None
    if not amount.is_finite() or len(cleaned) > 12:
        raise Refused(Refusal.NOT_A_NUMBER)
    amount = amount.quantize(Decimal("0.01"))  # what is stored; 0.001 would be 0
    if amount <= 0:
        raise Refused(Refusal.NOT_POSITIVE)
    if amount > kind.max:
        raise Refused(Refusal.TOO_MUCH)
    if kind.unit == "count" and amount != amount.to_integral_value():
        raise Refused(Refusal.NOT_A_NUMBER)  # half a tree
    return amount.quantize(Decimal("0.01"))


def check_date(marathon: Dates, deed_date: date, today: date) -> date:
    if deed_date > today:
        raise Refused(Refusal.IN_THE_FUTURE)
    if not marathon.running(deed_date):
        raise Refused(Refusal.OUTSIDE_DATES)
    return deed_date


@dataclass(frozen=True, slots=True)
class Photo:
    file_id: str
    file_unique_id: str


_deeds = DeedRow.__table__
_photos = DeedPhoto.__table__
_totals = DeedTotal.__table__
_PHOTO_USED = select(_photos.c.deed_id).where(_photos.c.file_unique_id == bindparam("unique")).limit(1)
_LOGGED_TODAY = select(func.count()).select_from(_deeds).where(
    _deeds.c.participant_id == bindparam("who"), _deeds.c.created_at >= bindparam("since")
)
_NEW_DEED = insert(_deeds).returning(_deeds.c.id)
_LOCK_PARTICIPANT = select(_participants.c.telegram_id).where(_participants.c.telegram_id == bindparam("who")).with_for_update()
_NEW_PHOTO = insert(_photos)


async def photo_used(session: AsyncSession, file_unique_id: str) -> bool:
    return (await session.execute(_PHOTO_USED, {"unique": file_unique_id})).first() is not None


async def log_deed(
    session: AsyncSession, rules: Rules, who: Participant, kind: Kind, amount: Decimal, deed_date: date, locality: str,
    description: str, photos: list[Photo], now: datetime | None = None,
) -> int:
    """Store a deed for review by the participant's front-office; returns its number. Refused (and
    nothing stored) while the marathon is not running, past the daily limit, for a date outside the
    marathon or in the future, or with a photo that already proves another deed."""
    now = now or datetime.now(UTC)
    today = local_today(now)
    marathon = await dates(session, rules)
    if not marathon.running(today):
        raise Refused(Refusal.NOT_RUNNING)
    if not kind.offered:
        raise Refused(Refusal.NOT_OFFERED)
    check_date(marathon, deed_date, today)
    parse_amount(kind, str(amount))
    if not 1 <= len(photos) <= MAX_PHOTOS:
        raise ValueError("one to three photos")
    local_midnight = datetime.combine(today, datetime.min.time(), UTC) - LOCAL_ZONE_OFFSET
    # The participant's row is locked while their deeds of today are counted and the new one is
    # added, so two processes logging for them at once cannot both pass the daily limit.
    await session.execute(_LOCK_PARTICIPANT, {"who": who.telegram_id})
    if (await session.execute(_LOGGED_TODAY, {"who": who.telegram_id, "since": local_midnight})).scalar_one() >= marathon.daily_limit:
        raise Refused(Refusal.DAILY_LIMIT)
    for photo in photos:
        if await photo_used(session, photo.file_unique_id):
            raise Refused(Refusal.PHOTO_USED)
    try:
        async with session.begin_nested():  # the unique index decides a race between two deeds
            deed_id = (await session.execute(_NEW_DEED, {
                "participant_id": who.telegram_id, "kind": kind.slug, "amount": amount, "deed_date": deed_date,
                "locality": locality[:MAX_LOCALITY_LENGTH], "description": description[:MAX_DESCRIPTION_LENGTH],
                "region": who.region,
            })).scalar_one()
            await session.execute(_NEW_PHOTO, [
                {"deed_id": deed_id, "position": n, "file_id": p.file_id, "file_unique_id": p.file_unique_id}
                for n, p in enumerate(photos)
            ])
    except IntegrityError:
        raise Refused(Refusal.PHOTO_USED) from None
    return deed_id


# --- reading deeds ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Deed:
    id: int
    participant_id: int
    kind: str
    amount: Decimal
    deed_date: date
    locality: str
    description: str
    region: str
    state: State
    reject_reason: str | None
    claimed_amount: Decimal | None
    photos: tuple[str, ...] = ()


_D_COLUMNS = (_deeds.c.id, _deeds.c.participant_id, _deeds.c.kind, _deeds.c.amount, _deeds.c.deed_date, _deeds.c.locality,
              _deeds.c.description, _deeds.c.region, _deeds.c.state, _deeds.c.reject_reason, _deeds.c.claimed_amount)
_PHOTOS_OF = (
    select(func.array_agg(aggregate_order_by(_photos.c.file_id, _photos.c.position)))
    .where(_photos.c.deed_id == _deeds.c.id).scalar_subquery()
)
_DEED = select(*_D_COLUMNS, _PHOTOS_OF).where(_deeds.c.id == bindparam("deed"))
_MY_DEEDS = select(*_D_COLUMNS).where(_deeds.c.participant_id == bindparam("who")).order_by(_deeds.c.id.desc()).limit(20)
_MY_TOTALS = (
    select(_deeds.c.kind, func.sum(_deeds.c.amount), func.count())
    .where(_deeds.c.participant_id == bindparam("who"), _deeds.c.state == State.APPROVED.value)
    .group_by(_deeds.c.kind)
)
_PENDING = (
    select(*_D_COLUMNS, _PHOTOS_OF).where(_deeds.c.state == State.PENDING.value).order_by(_deeds.c.id).limit(1)
)


def _deed(row: Any) -> Deed:
    values = list(row)
    photos = tuple(values[11] or ()) if len(values) > 11 else ()
    return Deed(*values[:8], State(values[8]), values[9], values[10], photos)


async def get_deed(session: AsyncSession, deed_id: int) -> Deed | None:
    if not is_row_id(deed_id):
        return None
    row = (await session.execute(_DEED, {"deed": deed_id})).first()
    return _deed(row) if row else None


async def deeds_of(session: AsyncSession, telegram_id: int) -> list[Deed]:
    return [_deed(row) for row in (await session.execute(_MY_DEEDS, {"who": telegram_id})).all()]


async def approved_totals_of(session: AsyncSession, telegram_id: int) -> dict[str, Decimal]:
    return {kind: amount for kind, amount, _ in (await session.execute(_MY_TOTALS, {"who": telegram_id})).all()}


# --- review --------------------------------------------------------------------------------------

def may_review(operator: Operator, deed: Deed) -> bool:
    """The staff of the deed's region's front-office review it, and the national office any."""
    return access.may(operator, Act.REVIEW_DEEDS, (deed.region,))


async def next_pending(session: AsyncSession, operator: Operator) -> Deed | None:
    """The oldest deed waiting for this operator's review."""
    statement = _PENDING
    if (region := access.own_region(operator, Act.REVIEW_DEEDS)) is not None:
        statement = statement.where(_deeds.c.region == region)
    row = (await session.execute(statement)).first()
    return _deed(row) if row else None


_REVIEW = (
    update(_deeds)
    .where(_deeds.c.id == bindparam("deed"), _deeds.c.state == State.PENDING.value)
    .values(state=bindparam("verdict"), reviewer_id=bindparam("reviewer"), reviewed_at=func.now(),
            reject_reason=bindparam("why"), amount=bindparam("final_amount"), claimed_amount=bindparam("claimed"))
    .returning(*_D_COLUMNS)
)
_new_total = pg_insert(_totals).values(region=bindparam("in_region"), kind=bindparam("of_kind"), amount=bindparam("add"), deeds=1)
_ADD_TOTAL = _new_total.on_conflict_do_update(
    index_elements=[_totals.c.region, _totals.c.kind],
    set_={"amount": _totals.c.amount + _new_total.excluded.amount, "deeds": _totals.c.deeds + 1},
)
_COUNT_APPROVED = (
    update(_participants).where(_participants.c.telegram_id == bindparam("who"))
    .values(approved_deeds=_participants.c.approved_deeds + 1)
)


class ReviewError(ValueError):
    """Not this reviewer's deed, or reviewed already (`deed` then says how)."""

    def __init__(self, deed: Deed | None) -> None:
        super().__init__("not reviewable")
        self.deed = deed


async def reviewable(session: AsyncSession, operator: Operator, deed_id: int) -> Deed:
    """The deed, if it waits for review and this operator may review it (ReviewError otherwise):
    checked before a reviewer is asked for a reason or an amount, and again by `review`."""
    operator = await access.require(session, operator, Act.REVIEW_DEEDS)
    deed = await get_deed(session, deed_id)
    if deed is None or deed.state is not State.PENDING or not may_review(operator, deed):
        raise ReviewError(deed)
    return deed


async def review(
    session: AsyncSession, rules: Rules, operator: Operator, deed_id: int, *, approve: bool,
    reason: str | None = None, corrected: Decimal | None = None,
) -> Deed:
    """Approve (with the amount `corrected`, if given) or reject with `reason`; the participant is
    owed the outcome and, if approved, the totals change in the same transaction. A deed is reviewed
    once: of two reviewers at once, the second gets ReviewError."""
    operator = await access.require(session, operator, Act.REVIEW_DEEDS)
    deed = await get_deed(session, deed_id)
    if deed is None or not may_review(operator, deed):
        raise ReviewError(None)
    kind = await kind_of(session, rules, deed.kind)
    if corrected is not None and kind is not None:
        corrected = parse_amount(kind, str(corrected))
    params = {
        "deed": deed_id, "verdict": (State.APPROVED if approve else State.REJECTED).value, "reviewer": operator.telegram_id,
        "why": None if approve else (reason or "")[:MAX_REASON_LENGTH], "final_amount": corrected or deed.amount,
        "claimed": deed.amount if corrected is not None and corrected != deed.amount else None,
    }
    row = (await session.execute(_REVIEW, params)).first()
    if row is None:
        raise ReviewError(await get_deed(session, deed_id))
    reviewed = _deed(row)
    if approve:
        await session.execute(_ADD_TOTAL, {"in_region": reviewed.region, "of_kind": reviewed.kind, "add": reviewed.amount})
        await session.execute(_COUNT_APPROVED, {"who": reviewed.participant_id})
    await outbox.owe(session, reviewed.participant_id, "deed_review", {"deed": reviewed.id})
    return reviewed


# A forgotten participant's reviewed deeds stay, anonymous (they are in the totals and the
# statistics); what identifies them goes: the description, the place, the reviewer's words, the photos.
_ANONYMISE_DEEDS = text(
    """
    UPDATE deeds SET participant_id = NULL, description = '', locality = '', reject_reason = NULL
    WHERE participant_id = :who AND state <> 'pending'
    """
)
# Not yet reviewed, so counted nowhere: they go, with their photos.
_DROP_PENDING = delete(_deeds).where(_deeds.c.participant_id == bindparam("who"), text("deeds.state = 'pending'"))
_DROP_PHOTOS = text("DELETE FROM deed_photos WHERE deed_id IN (SELECT id FROM deeds WHERE participant_id = :who)")
_LEAVE = delete(_participants).where(_participants.c.telegram_id == bindparam("who"))


async def forget_participant(session: AsyncSession, telegram_id: int) -> None:
    """The person withdrew their consent (/forget): their participation (display name,
    nominations) and photos go; their reviewed deeds stay in the totals without anything that
    says whose they were or what they said."""
    await session.execute(_DROP_PHOTOS, {"who": telegram_id})
    await session.execute(_DROP_PENDING, {"who": telegram_id})
    await session.execute(_ANONYMISE_DEEDS, {"who": telegram_id})
    await session.execute(_LEAVE, {"who": telegram_id})  # nominations cascade


# --- retention -----------------------------------------------------------------------------------

def final_through(current: Dates, keep_days: int, today: date) -> date | None:
    """The last day of deeds whose marathon ended more than `keep_days` ago (None: none did).
    Once the marathon's last day is that far behind, every deed is; before that, deeds dated
    before the current marathon's first day belong to an earlier one, which ended by the day
    before it, so that day counts for them."""
    keep = timedelta(days=keep_days)
    if current.ends_on + keep < today:
        return date.max
    earlier_ended_by = current.starts_on - timedelta(days=1)
    return earlier_ended_by if earlier_ended_by + keep < today else None


_FINISHED_DEEDS = text(
    """
    SELECT id FROM deeds
    WHERE deed_date <= :through
      AND (participant_id IS NOT NULL OR description <> '' OR locality <> '' OR reject_reason IS NOT NULL
           OR EXISTS (SELECT 1 FROM deed_photos WHERE deed_photos.deed_id = deeds.id))
    ORDER BY id LIMIT :batch
    FOR UPDATE SKIP LOCKED
    """
)
_DROP_PHOTOS_OF = text("DELETE FROM deed_photos WHERE deed_id = ANY(CAST(:ids AS bigint[]))")
_DROP_PENDING_OF = text("DELETE FROM deeds WHERE id = ANY(CAST(:ids AS bigint[])) AND state = 'pending'")
_ANONYMISE = text(
    """
    UPDATE deeds SET participant_id = NULL, description = '', locality = '', reject_reason = NULL
    WHERE id = ANY(CAST(:ids AS bigint[]))
    """
)


async def erase_finished_deeds(
    session: AsyncSession, rules: Rules, keep_days: int, batch: int, today: date | None = None
) -> int:
    """`keep_days` after the marathon's results are final (its last day), its deeds keep only
    what the results count: kind, amount, region, date and review state. Their photos,
    descriptions, places, reviewers' reasons and whose they were go; deeds never reviewed go
    altogether (they count nowhere). Returns how many deeds (at most `batch`)."""
    through = final_through(await dates(session, rules), keep_days, today or local_today())
    if through is None:
        return 0
    ids = list((await session.execute(_FINISHED_DEEDS, {"through": through, "batch": batch})).scalars())
    if ids:
        await session.execute(_DROP_PHOTOS_OF, {"ids": ids})
        await session.execute(_DROP_PENDING_OF, {"ids": ids})
        await session.execute(_ANONYMISE, {"ids": ids})
    return len(ids)


# --- results -------------------------------------------------------------------------------------

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
