"""The front-office directory: the National office and the 20 regional ones, from a data file."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import time, timedelta, timezone
from pathlib import Path

from bot.config import SUPPORTED_LANGUAGES

NATIONAL = "national"
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "content" / "front_offices.toml"


class DirectoryError(ValueError):
    """The data file is malformed; the message says where."""


@dataclass(frozen=True, slots=True)
class FrontOffice:
    slug: str
    name: dict[str, str]
    address: dict[str, str]
    hours: dict[str, str]
    phone: str
    email: str

    @property
    def is_national(self) -> bool:
        return self.slug == NATIONAL


@dataclass(frozen=True, slots=True)
class ServiceHours:
    """When operators answer requests in the bot: these weekdays (Monday is 1), from `opens` to
    `closes`, in local time `utc_offset` hours from UTC; not on public holidays unless
    `public_holidays` is false. Days off and time limits: `bot/services/calendar.py`."""

    days: frozenset[int]
    opens: time
    closes: time
    utc_offset: int
    public_holidays: bool = True  # Kazakhstan's public holidays are days off (`bot/services/calendar.py`)

    @classmethod
    def parse(cls, raw: dict) -> ServiceHours:
        try:
            days = frozenset(int(d) for d in raw["days"])
            opens, closes = (_clock(raw[key]) for key in ("opens", "closes"))
            offset = int(raw["utc_offset_hours"])
            public_holidays = raw.get("public_holidays", True)
            if not isinstance(public_holidays, bool):
                raise ValueError("public_holidays is true or false")
        except (KeyError, TypeError, ValueError) as exc:
            raise DirectoryError(f"service_hours needs days, opens, closes and utc_offset_hours: {exc}") from None
        if not days or not days <= set(range(1, 8)) or opens >= closes or not -12 <= offset <= 14:
            raise DirectoryError("service_hours: days are 1 (Monday) to 7, and opens comes before closes")
        return cls(days, opens, closes, offset, public_holidays)

    @property
    def zone(self) -> timezone:
        return timezone(timedelta(hours=self.utc_offset))



def _clock(value: object) -> time:
    if not isinstance(value, str) or not re.fullmatch(r"\d{2}:\d{2}", value):
        raise ValueError(f"{value!r} is not HH:MM")
    if value == "24:00":  # the end of the day, for an office open around the clock
        return time.max
    return time.fromisoformat(value)


def _localized(entry: dict, field: str, slug: str, *, required: bool) -> dict[str, str]:
    value = entry.get(field, {})
    if not isinstance(value, dict):
        raise DirectoryError(f"office {slug!r}: {field} must be a table of kk/ru/en texts")
    texts = {lang: str(value.get(lang, "")).strip() for lang in SUPPORTED_LANGUAGES}
    if required and not all(texts.values()):
        raise DirectoryError(f"office {slug!r}: {field} needs kk, ru and en")
    return texts


class Directory:
    def __init__(self, offices: list[FrontOffice], service_hours: ServiceHours | None = None) -> None:
        self.service_hours = service_hours or ServiceHours(frozenset(range(1, 6)), time(9), time(18), 5)
        self._by_slug = {office.slug: office for office in offices}
        if NATIONAL not in self._by_slug:
            raise DirectoryError("the directory has no 'national' office")
        self.regions: tuple[FrontOffice, ...] = tuple(o for o in offices if not o.is_national)

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> Directory:
        with path.open("rb") as fp:
            raw = tomllib.load(fp)
        offices, seen = [], set()
        for entry in raw.get("office", []):
            slug = str(entry.get("slug", "")).strip()
            if not slug or slug in seen:
                raise DirectoryError(f"office slug {slug!r} is empty or repeated")
            seen.add(slug)
            offices.append(
                FrontOffice(
                    slug=slug,
                    name=_localized(entry, "name", slug, required=True),
                    address=_localized(entry, "address", slug, required=False),
                    hours=_localized(entry, "hours", slug, required=False),
                    phone=str(entry.get("phone", "")).strip(),
                    email=str(entry.get("email", "")).strip(),
                )
            )
        hours = raw.get("service_hours")
        return cls(offices, ServiceHours.parse(hours) if hours is not None else None)

    @property
    def place_words(self) -> frozenset[str]:
        """The words of the regions' and offices' names in every language, lower case ("алматы",
        "абай", "region"): place names, not people's, in what people type."""
        return frozenset(
            word.lower() for office in self._by_slug.values() for name in office.name.values() for word in re.findall(r"\w+", name)
        )

    @property
    def national(self) -> FrontOffice:
        return self._by_slug[NATIONAL]

    def get(self, slug: str | None) -> FrontOffice | None:
        return self._by_slug.get(slug) if slug else None

    def is_region(self, slug: str) -> bool:
        office = self._by_slug.get(slug)
        return office is not None and not office.is_national
