"""What the Marathon is made of: its kinds of deeds and their rules (from bot/content/marathon.toml),
its dates, the refusals a participant can meet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation, ROUND_HALF_UP
from enum import StrEnum
from pathlib import Path
import tomllib
from typing import Any

from babel import Locale
from babel.numbers import format_decimal

from bot.config import SUPPORTED_LANGUAGES


DEFAULT_PATH = Path(__file__).resolve().parents[2] / "content" / "marathon.toml"
UNITS = ("count", "kg", "hours")
PARTICIPANT_KINDS = ("person", "organisation", "group")
MAX_NAME_LENGTH = 64
MAX_LOCALITY_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 500
MAX_PHOTOS = 3
MAX_REASON_LENGTH = 300
LEADERBOARD_SIZE = 10


class MarathonError(ValueError):
    """Content of the data file that does not hold together; the message says where."""


class DatesAcrossYears(ValueError):
    """A marathon runs within one calendar year: its results, the participants' records and their
    certificates are by year (a deed's year is its marathon's)."""

    def __init__(self) -> None:
        super().__init__("a marathon runs within one calendar year")


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
    def __init__(self, reason: Refusal, deed: int | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.deed = deed  # PHOTO_USED: the deed the photo (or one made from it) already proves


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
        if defaults.starts_on > defaults.ends_on or defaults.starts_on.year != defaults.ends_on.year:
            raise MarathonError(f"{path.name}: [marathon] starts and ends in this order, within one calendar year")
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
