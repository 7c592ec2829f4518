"""Logging a deed (its amount, date and photos checked) and reading deeds back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, UTC
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Deed as DeedRow
from bot.db.models import DeedPhoto, DeedTotal, is_row_id
from bot.services.clock import KAZAKHSTAN, today_in_kazakhstan
from bot.services.marathon import photo_match
from bot.services.marathon.model import (
    Dates, Kind, MAX_DESCRIPTION_LENGTH, MAX_LOCALITY_LENGTH, MAX_PHOTOS, Refusal, Refused, Rules,
    State,
)
from bot.services.marathon.participants import Participant, _participants
from bot.services.marathon.settings import dates


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
    fingerprint: int | None = None  # photo_match's; None for a photo whose picture was not read
    as_file: bool = False  # sent as a file: the original, with its EXIF
    taken_on: date | None = None  # the day its EXIF says it was taken


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


# The same photo (within `photo_match.SAME_PHOTO_AT_MOST` = 4 bits) shares at least one of five
# parts of its fingerprint with it: each part has an index (migration 0035, the same expressions),
# and only the photos that share one are compared bit by bit.
FINGERPRINT_PARTS = ((51, 8191), (38, 8191), (25, 8191), (12, 8191), (0, 4095))
_PART_EXPRESSIONS = ("(fingerprint >> 51) & 8191", "(fingerprint >> 38) & 8191", "(fingerprint >> 25) & 8191",
                     "(fingerprint >> 12) & 8191", "fingerprint & 4095")
_SAME_PHOTOS = text(
    "SELECT deed_id, bit_count(CAST(fingerprint # :fingerprint AS bit(64))) AS bits FROM deed_photos"
    " WHERE fingerprint IS NOT NULL AND ("
    + " OR ".join(f"({expression}) = CAST(:part{n} AS bigint)" for n, expression in enumerate(_PART_EXPRESSIONS))
    + ") AND bit_count(CAST(fingerprint # :fingerprint AS bit(64))) <= :at_most ORDER BY bits, deed_id LIMIT :most"
)
# Farther than the parts can promise: every stored fingerprint is compared (the reviewer's card only).
_PHOTOS_LIKE = text(
    "SELECT deed_id, bit_count(CAST(fingerprint # :fingerprint AS bit(64))) AS bits FROM deed_photos"
    " WHERE fingerprint IS NOT NULL AND bit_count(CAST(fingerprint # :fingerprint AS bit(64))) <= :at_most"
    " ORDER BY bits, deed_id LIMIT :most"
)


async def photos_like(session: AsyncSession, fingerprint: int, at_most: int, most: int = 5) -> list[tuple[int, int]]:
    """(deed, how many bits apart) of the stored photos whose fingerprint is within `at_most` bits
    of this one, nearest first."""
    params = {"fingerprint": fingerprint, "at_most": at_most, "most": most}
    if at_most < len(FINGERPRINT_PARTS):
        parts = {f"part{n}": (fingerprint >> shift) & mask for n, (shift, mask) in enumerate(FINGERPRINT_PARTS)}
        rows = await session.execute(_SAME_PHOTOS, {**params, **parts})
    else:
        rows = await session.execute(_PHOTOS_LIKE, params)
    return [(row.deed_id, row.bits) for row in rows]


_NEAR_DEEDS = text(
    "SELECT o.deed_id, min(bit_count(CAST(o.fingerprint # p.fingerprint AS bit(64)))) AS bits"
    " FROM deed_photos p JOIN deed_photos o ON o.deed_id <> p.deed_id AND o.fingerprint IS NOT NULL"
    " WHERE p.deed_id = :deed AND p.fingerprint IS NOT NULL"
    " AND bit_count(CAST(o.fingerprint # p.fingerprint AS bit(64))) <= :at_most"
    " GROUP BY o.deed_id ORDER BY bits, o.deed_id LIMIT :most"
)


async def near_deeds(session: AsyncSession, deed_id: int, most: int = 5) -> list[tuple[int, int]]:
    """(deed, bits apart) of other deeds with a photo near one of this deed's, nearest first: a
    photo cropped from theirs, or only an alike scene (`photo_match.NEAR_MATCH_AT_MOST`), for the
    reviewer to compare."""
    rows = await session.execute(_NEAR_DEEDS, {"deed": deed_id, "at_most": photo_match.NEAR_MATCH_AT_MOST, "most": most})
    return [(row.deed_id, row.bits) for row in rows]


async def deed_with_photo(session: AsyncSession, photo: Photo) -> int | None:
    """The deed this photo already proves: the same file, or a photo it was made from (re-saved,
    resized, screenshotted: `photo_match.SAME_PHOTO_AT_MOST`)."""
    found = (await session.execute(_PHOTO_USED, {"unique": photo.file_unique_id})).scalar_one_or_none()
    if found is None and photo.fingerprint is not None:
        like = await photos_like(session, photo.fingerprint, photo_match.SAME_PHOTO_AT_MOST, 1)
        found = like[0][0] if like else None
    return found


async def log_deed(
    session: AsyncSession, rules: Rules, who: Participant, kind: Kind, amount: Decimal, deed_date: date, locality: str,
    description: str, photos: list[Photo], now: datetime | None = None,
) -> int:
    """Store a deed for review by the participant's front-office; returns its number. Refused (and
    nothing stored) while the marathon is not running, past the daily limit, for a date outside the
    marathon or in the future, or with a photo that already proves another deed."""
    now = now or datetime.now(UTC)
    today = today_in_kazakhstan(now)
    marathon = await dates(session, rules)
    if not marathon.running(today):
        raise Refused(Refusal.NOT_RUNNING)
    if not kind.offered:
        raise Refused(Refusal.NOT_OFFERED)
    check_date(marathon, deed_date, today)
    parse_amount(kind, str(amount))
    if not 1 <= len(photos) <= MAX_PHOTOS:
        raise ValueError("one to three photos")
    local_midnight = datetime.combine(today, datetime.min.time(), KAZAKHSTAN)
    # The participant's row is locked while their deeds of today are counted and the new one is
    # added, so two processes logging for them at once cannot both pass the daily limit.
    await session.execute(_LOCK_PARTICIPANT, {"who": who.telegram_id})
    if (await session.execute(_LOGGED_TODAY, {"who": who.telegram_id, "since": local_midnight})).scalar_one() >= marathon.daily_limit:
        raise Refused(Refusal.DAILY_LIMIT)
    for photo in photos:
        if (proven := await deed_with_photo(session, photo)) is not None:
            raise Refused(Refusal.PHOTO_USED, proven)
    try:
        async with session.begin_nested():  # the unique index decides a race between two deeds
            deed_id = (await session.execute(_NEW_DEED, {
                "participant_id": who.telegram_id, "kind": kind.slug, "amount": amount, "deed_date": deed_date,
                "locality": locality[:MAX_LOCALITY_LENGTH], "description": description[:MAX_DESCRIPTION_LENGTH],
                "region": who.region,
            })).scalar_one()
            await session.execute(_NEW_PHOTO, [
                {"deed_id": deed_id, "position": n, "file_id": p.file_id, "file_unique_id": p.file_unique_id,
                 "fingerprint": p.fingerprint, "as_file": p.as_file, "taken_on": p.taken_on}
                for n, p in enumerate(photos)
            ])
    except IntegrityError:
        raise Refused(Refusal.PHOTO_USED) from None
    return deed_id


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
    photos: tuple[str, ...] = ()  # file ids, in order
    as_files: tuple[bool, ...] = ()  # which of them were sent as files
    taken_on: tuple[date | None, ...] = ()  # the day each says it was taken (EXIF)


_D_COLUMNS = (_deeds.c.id, _deeds.c.participant_id, _deeds.c.kind, _deeds.c.amount, _deeds.c.deed_date, _deeds.c.locality,
              _deeds.c.description, _deeds.c.region, _deeds.c.state, _deeds.c.reject_reason, _deeds.c.claimed_amount)
# Each photo's file id, whether it was sent as a file, and its EXIF day, in order.
_PHOTOS_OF = tuple(
    select(func.array_agg(aggregate_order_by(column, _photos.c.position))).where(_photos.c.deed_id == _deeds.c.id).scalar_subquery()
    for column in (_photos.c.file_id, _photos.c.as_file, _photos.c.taken_on)
)
_DEED = select(*_D_COLUMNS, *_PHOTOS_OF).where(_deeds.c.id == bindparam("deed"))
_MY_DEEDS = select(*_D_COLUMNS).where(_deeds.c.participant_id == bindparam("who")).order_by(_deeds.c.id.desc())
_MY_TOTALS = (
    select(_deeds.c.kind, func.sum(_deeds.c.amount), func.count())
    .where(_deeds.c.participant_id == bindparam("who"), _deeds.c.state == State.APPROVED.value)
    .group_by(_deeds.c.kind)
)
_PENDING = (
    select(*_D_COLUMNS, *_PHOTOS_OF).where(_deeds.c.state == State.PENDING.value).order_by(_deeds.c.id).limit(1)
)


def _deed(row: Any) -> Deed:
    values = list(row)
    photos, as_files, taken_on = (tuple(v or ()) for v in values[11:14]) if len(values) > 11 else ((), (), ())
    return Deed(*values[:8], State(values[8]), values[9], values[10], photos, as_files, taken_on)


async def get_deed(session: AsyncSession, deed_id: int) -> Deed | None:
    if not is_row_id(deed_id):
        return None
    row = (await session.execute(_DEED, {"deed": deed_id})).first()
    return _deed(row) if row else None


async def deeds_of(session: AsyncSession, telegram_id: int, most: int | None = 20) -> list[Deed]:
    """The participant's deeds, newest first (`most`: None for all of them)."""
    statement = _MY_DEEDS.limit(most) if most is not None else _MY_DEEDS
    return [_deed(row) for row in (await session.execute(statement, {"who": telegram_id})).all()]


async def approved_totals_of(session: AsyncSession, telegram_id: int) -> dict[str, Decimal]:
    return {kind: amount for kind, amount, _ in (await session.execute(_MY_TOTALS, {"who": telegram_id})).all()}
