"""What the front-offices publish, kept by their coordinators in the bot (/office): phone, e-mail,
a link, the address in each language, a map location, and the office's own service hours. Each
value is checked here (a Kazakhstan phone number, an e-mail address, an https link, a place in
Kazakhstan, hours that open before they close); the data file's values are the seed until a
coordinator sets one. A regional coordinator keeps their own office's; a national one, any."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import time
from enum import StrEnum
from typing import Any

import phonenumbers
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SUPPORTED_LANGUAGES
from bot.db.models import OfficeDetails
from bot.services import access
from bot.services.access import Act
from bot.services.directory import Directory, FrontOffice, ServiceHours
from bot.services.staff import Operator

_details = OfficeDetails.__table__

MAX_ADDRESS_LENGTH = 200
MAX_PHONE_LENGTH = 32
MAX_LINK_LENGTH = 300
CLEAR = "-"  # a value of "-" unpublishes the field
# Kazakhstan's bounds, roughly: a pin outside them is a typo (swapped or mistyped coordinates).
LATITUDES = (40.5, 55.5)
LONGITUDES = (46.0, 87.5)
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
# https, a host of dot-separated labels (letters of any alphabet: "мвд.рф"), an optional port, then
# anything without spaces.
_LINK = re.compile(r"^https://(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[^\W\d_]{2,}|xn--[a-z0-9-]+)(?::\d{1,5})?(?:[/?#]\S*)?$", re.IGNORECASE)
_COORDINATE = re.compile(r"^-?\d{1,3}(?:\.\d+)?$")
_HOURS = re.compile(r"^([1-7])(?:-([1-7]))?\s+(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class Field(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    LINK = "link"
    ADDRESS = "address"
    LOCATION = "location"
    HOURS = "hours"


class Problem(StrEnum):
    UNKNOWN_OFFICE = "unknown_office"
    PHONE = "phone"  # not a Kazakhstan phone number
    EMAIL = "email"
    LINK = "link"  # not an https address
    ADDRESS = "address"  # no language given, or too long
    LOCATION = "location"  # not two numbers, or outside Kazakhstan
    HOURS = "hours"  # not "1-5 09:00-18:00", or closes before it opens


class DetailError(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Published:
    """An office as people see it: the data file's seed with what coordinators set over it."""

    office: FrontOffice
    link: str = ""
    location: tuple[float, float] | None = None
    hours: ServiceHours | None = None  # its own; None: the common service hours
    address: dict[str, str] = field(default_factory=dict)

    @property
    def phone(self) -> str:
        return self.office.phone

    @property
    def email(self) -> str:
        return self.office.email


def _published(office: FrontOffice, row: Any | None, common: ServiceHours) -> Published:
    if row is None:
        return Published(office, address=dict(office.address))
    set_address = row.address or {}
    address = {lang: set_address[lang] if lang in set_address else office.address.get(lang, "") for lang in SUPPORTED_LANGUAGES}
    merged = replace(
        office,
        phone=office.phone if row.phone is None else row.phone,
        email=office.email if row.email is None else row.email,
        address=address,
    )
    hours = None
    if row.days and row.opens is not None and row.closes is not None:
        hours = ServiceHours(frozenset(row.days), row.opens, row.closes, common.utc_offset, common.public_holidays)
    location = (row.latitude, row.longitude) if row.latitude is not None and row.longitude is not None else None
    return Published(merged, row.link or "", location, hours, address)


async def published(session: AsyncSession, directory: Directory, slugs: list[str]) -> list[Published]:
    """The offices of `slugs` (unknown ones left out), in that order."""
    offices = [office for slug in slugs if (office := directory.get(slug)) is not None]
    rows = {
        row.office: row
        for row in (await session.execute(select(_details).where(_details.c.office.in_([o.slug for o in offices])))).all()
    }
    return [_published(office, rows.get(office.slug), directory.service_hours) for office in offices]


def _phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, "KZ")
    except phonenumbers.NumberParseException:
        raise DetailError(Problem.PHONE) from None
    if not phonenumbers.is_valid_number(number) or phonenumbers.region_code_for_number(number) != "KZ":
        raise DetailError(Problem.PHONE)
    # The international form with spaces: Telegram's apps make it a number to tap and call.
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    if len(formatted) > MAX_PHONE_LENGTH:  # a long extension
        raise DetailError(Problem.PHONE)
    return formatted


def _location(value: str) -> tuple[float, float]:
    """"51.1605 71.4704", "51.1605, 71.4704", or with decimal commas "51,1605 71,4704"."""
    parts = value.split()
    if len(parts) == 1 and parts[0].count(",") == 1:
        parts = parts[0].split(",")
    parts = [part.rstrip(",;").replace(",", ".") for part in parts]
    if len(parts) != 2 or not all(_COORDINATE.match(part) for part in parts):
        raise DetailError(Problem.LOCATION)
    latitude, longitude = (float(part) for part in parts)
    if not (LATITUDES[0] <= latitude <= LATITUDES[1] and LONGITUDES[0] <= longitude <= LONGITUDES[1]):
        raise DetailError(Problem.LOCATION)
    return latitude, longitude


def _hours(value: str) -> tuple[list[int], time, time]:
    found = _HOURS.match(value.strip())
    if found is None:
        raise DetailError(Problem.HOURS)
    first, last = int(found[1]), int(found[2] or found[1])
    try:
        opens, closes = time(int(found[3]), int(found[4])), time(int(found[5]), int(found[6]))
    except ValueError:
        raise DetailError(Problem.HOURS) from None
    if first > last or opens >= closes:
        raise DetailError(Problem.HOURS)
    return list(range(first, last + 1)), opens, closes


def checked(field_: Field, value: str, language: str | None = None) -> dict[str, Any]:
    """The columns a typed value sets ("-": unpublished), or DetailError saying what is wrong."""
    value = value.strip()
    clear = value == CLEAR
    if field_ is Field.PHONE:
        return {"phone": "" if clear else _phone(value)}
    if field_ is Field.EMAIL:
        if not clear and (len(value) > 254 or not _EMAIL.match(value)):
            raise DetailError(Problem.EMAIL)
        return {"email": "" if clear else value}
    if field_ is Field.LINK:
        if not clear and (len(value) > MAX_LINK_LENGTH or not _LINK.match(value)):
            raise DetailError(Problem.LINK)
        return {"link": "" if clear else value}
    if field_ is Field.ADDRESS:
        if language not in SUPPORTED_LANGUAGES or len(value) > MAX_ADDRESS_LENGTH or not value:
            raise DetailError(Problem.ADDRESS)
        return {"address": {language: "" if clear else value}}
    if field_ is Field.LOCATION:
        latitude, longitude = (None, None) if clear else _location(value)
        return {"latitude": latitude, "longitude": longitude}
    days, opens, closes = (None, None, None) if clear else _hours(value)
    return {"days": days, "opens": opens, "closes": closes}


async def set_detail(
    session: AsyncSession, by: Operator, directory: Directory, office: str, field_: Field, value: str, language: str | None = None,
) -> Published:
    """Set one published detail of `office` (a regional coordinator: their own office only)."""
    if directory.get(office) is None:
        raise DetailError(Problem.UNKNOWN_OFFICE)
    await access.require(session, by, Act.OFFICE_DETAILS, (office,))
    values = checked(field_, value, language)
    statement = pg_insert(_details).values(office=office, updated_by=by.telegram_id, **values)
    updates = {key: statement.excluded[key] for key in values}
    if "address" in values:  # one language's address, the others kept
        updates["address"] = _details.c.address.op("||")(statement.excluded.address)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["office"], set_={**updates, "updated_by": by.telegram_id, "updated_at": statement.excluded.updated_at}
        )
    )
    return (await published(session, directory, [office]))[0]
