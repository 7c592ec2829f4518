"""The front-office directory: the National office and the 20 regional ones, from a data file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
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


def _localized(entry: dict, field: str, slug: str, *, required: bool) -> dict[str, str]:
    value = entry.get(field, {})
    if not isinstance(value, dict):
        raise DirectoryError(f"office {slug!r}: {field} must be a table of kk/ru/en texts")
    texts = {lang: str(value.get(lang, "")).strip() for lang in SUPPORTED_LANGUAGES}
    if required and not all(texts.values()):
        raise DirectoryError(f"office {slug!r}: {field} needs kk, ru and en")
    return texts


class Directory:
    def __init__(self, offices: list[FrontOffice]) -> None:
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
        return cls(offices)

    @property
    def national(self) -> FrontOffice:
        return self._by_slug[NATIONAL]

    def get(self, slug: str | None) -> FrontOffice | None:
        return self._by_slug.get(slug) if slug else None

    def is_region(self, slug: str) -> bool:
        office = self._by_slug.get(slug)
        return office is not None and not office.is_national
