"""People who use the bot: consent, language and region. Knows nothing of Telegram.

Reads and writes are single Core statements built once: the person is read on every update, and
the ORM's identity-map load cost a visible share of the bot's CPU. A `Person` is an immutable
snapshot; a change returns the new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.config import SUPPORTED_LANGUAGES
from bot.db.driver import Statement
from bot.db.models import User
from bot.db.models import Operator as OperatorRow
from bot.services.directory import Directory
from bot.services.staff import COLUMNS as OPERATOR_COLUMNS
from bot.services.staff import Operator

# Bump when the privacy notice changes in substance; people who agreed to an older one are asked again.
CONSENT_VERSION = 1

_users = User.__table__
_operators = OperatorRow.__table__
_COLUMNS = (
    _users.c.telegram_id, _users.c.language, _users.c.region, _users.c.consent_version, _users.c.announcements,
    _users.c.unreachable_since.is_not(None).label("unreachable"),
)


class UnknownLanguage(ValueError):
    pass


class UnknownRegion(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Person:
    telegram_id: int
    language: str
    region: str | None
    consent_version: int
    announcements: bool = True
    unreachable: bool = False  # Telegram said they blocked the bot; them writing says otherwise

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Person:
        return cls(
            row["telegram_id"], row["language"], row["region"], row["consent_version"], row["announcements"],
            row["unreachable"],
        )


@dataclass(frozen=True, slots=True)
class Arrival:
    """What an update needs to know first: the person (None before consent), their FSM row, their
    open ticket if they have one (what they write goes to it), and their operator record if they
    are an active operator (their replies go to citizens)."""

    person: Person | None
    state: str | None
    data: dict[str, Any]
    open_ticket: int | None
    operator: Operator | None
    seen_today: bool = True  # False: their first update today, to be written down (see `wrote`)


_consent = insert(_users).values(
    telegram_id=bindparam("person_id"), language=bindparam("new_language"),
    consent_version=bindparam("new_consent_version"), consent_at=bindparam("now"),
)
_CONSENT = _consent.on_conflict_do_update(
    index_elements=[_users.c.telegram_id],
    set_={"language": _consent.excluded.language, "consent_version": _consent.excluded.consent_version,
          "consent_at": _consent.excluded.consent_at, "updated_at": func.now()},
).returning(*_COLUMNS)
_SET_LANGUAGE = (
    update(_users).where(_users.c.telegram_id == bindparam("person_id"))
    .values(language=bindparam("new_language"), updated_at=func.now()).returning(*_COLUMNS)
)
_SET_REGION = (
    update(_users).where(_users.c.telegram_id == bindparam("person_id"))
    .values(region=bindparam("new_region"), updated_at=func.now()).returning(*_COLUMNS)
)
_TOGGLE_ANNOUNCEMENTS = (
    update(_users).where(_users.c.telegram_id == bindparam("person_id"))
    .values(announcements=~_users.c.announcements, updated_at=func.now()).returning(*_COLUMNS)
)
# Onboarding's writes, on the update's own connection (`bot/db/driver.py`).
_CONSENT_ON_DRIVER = Statement(_CONSENT)
_SET_REGION_ON_DRIVER = Statement(_SET_REGION)
_FORGET = delete(_users).where(_users.c.telegram_id == bindparam("person_id")).returning(_users.c.telegram_id)


# What every update reads first about its person (unless the intake's claim read it): a function
# (migration 0037), so that the claim's statement can join it and still read after the claim did.
# Its columns are those `arrival_from_row` reads: a column added to `Person` or `Operator` needs a
# migration that creates the function again.
# On the driver connection under SQLAlchemy's pooled connection: SQLAlchemy's execution layer cost
# ~100 µs of the bot's CPU a call more.
_ARRIVAL_SQL = "SELECT * FROM person_arrival($1, $2)"


async def arrive(driver: Any, telegram_id: int, fsm_key: str) -> Arrival:
    """The person and their conversation state in one round trip, on the asyncpg connection of the
    update's transaction."""
    return arrival_from_row(await driver.fetchrow(_ARRIVAL_SQL, telegram_id, fsm_key))


def arrival_from_row(row: Mapping[str, Any]) -> Arrival:
    """An arrival from a row with the arrival's columns (`arrive`, or `arrival_joined`)."""
    person = Person.from_row(row) if row["telegram_id"] is not None else None
    operator = None
    if row["operator_telegram_id"] is not None:
        operator = Operator.from_row({column.name: row[f"operator_{column.name}"] for column in OPERATOR_COLUMNS})
    # jsonb arrives decoded: SQLAlchemy's dialect registers its JSON codec on every connection.
    return Arrival(
        person, row["state"], dict(row["data"] or {}), row["open_ticket"], operator, row["seen_today"] is not False
    )


def arrival_joined(person_id: str, fsm_key: str) -> str:
    """The arrival as SQL to join laterally to a statement that knows whose update it is: the
    person's id and their FSM key as SQL expressions over that statement's columns (the intake's
    claim reads the arrival so, in its own round trip)."""
    return f"person_arrival({person_id}, {fsm_key})"


_WROTE = (
    update(_users).where(_users.c.telegram_id == bindparam("person_id"))
    .values(last_active_on=func.current_date(), unreachable_since=None)
)


def must_note_arrival(arrival: Arrival) -> bool:
    """Whether this update changes what is stored about the person: their first today (the
    retention period counts from the last day they wrote), or the first since Telegram said they
    blocked the bot. Every other update costs no write."""
    return arrival.person is not None and (arrival.person.unreachable or not arrival.seen_today)


async def wrote(conn: AsyncConnection, telegram_id: int) -> None:
    """They wrote to the bot today, so they are active, and no longer block it: announcements
    reach them again."""
    await conn.execute(_WROTE, {"person_id": telegram_id})


async def give_consent(session: AsyncSession, telegram_id: int, language: str) -> Person:
    """Record consent (creating the person on first consent); keeps a region already stored."""
    if language not in SUPPORTED_LANGUAGES:
        raise UnknownLanguage(language)
    row = await _CONSENT_ON_DRIVER.fetchrow(
        session,
        {"person_id": telegram_id, "new_language": language, "new_consent_version": CONSENT_VERSION, "now": datetime.now(UTC)},
    )
    assert row is not None  # (an upsert returns its row)
    return Person.from_row(row)


def needs_consent(person: Person | None) -> bool:
    return person is None or person.consent_version < CONSENT_VERSION


async def set_language(session: AsyncSession, person: Person, language: str) -> Person:
    if language not in SUPPORTED_LANGUAGES:
        raise UnknownLanguage(language)
    row = (await session.execute(_SET_LANGUAGE, {"person_id": person.telegram_id, "new_language": language})).mappings().one()
    return Person.from_row(row)


async def set_region(session: AsyncSession, directory: Directory, person: Person, slug: str) -> Person:
    if not directory.is_region(slug):
        raise UnknownRegion(slug)
    row = await _SET_REGION_ON_DRIVER.fetchrow(session, {"person_id": person.telegram_id, "new_region": slug})
    if row is None:
        raise NoResultFound(f"no stored person {person.telegram_id}")
    return Person.from_row(row)


async def toggle_announcements(session: AsyncSession, person: Person) -> Person:
    """Announcements on becomes off, and back."""
    row = (await session.execute(_TOGGLE_ANNOUNCEMENTS, {"person_id": person.telegram_id})).mappings().one()
    return Person.from_row(row)


async def forget(session: AsyncSession, telegram_id: int) -> bool:
    """Erase everything stored about the person; True if there was anything."""
    return (await session.execute(_FORGET, {"person_id": telegram_id})).first() is not None


_LANGUAGE_OF = select(
    func.coalesce(
        select(_users.c.language).where(_users.c.telegram_id == bindparam("person_id")).scalar_subquery(),
        select(_operators.c.language).where(_operators.c.telegram_id == bindparam("person_id")).scalar_subquery(),
    )
)
_LANGUAGE_OF_ON_DRIVER = Statement(_LANGUAGE_OF)  # before every message a delivery sends


async def language_of(session: AsyncSession, telegram_id: int) -> str | None:
    """The language someone uses the bot in: their own choice, else their operator record's."""
    return await _LANGUAGE_OF_ON_DRIVER.scalar(session, {"person_id": telegram_id})
