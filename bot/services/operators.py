"""The people who answer escalated requests: operators of the front-offices, and coordinators.
Knows nothing of Telegram.

An operator belongs to one office: a region's front-office or the national one (`national`).
Coordinators manage operators; those named in ADMIN_IDS exist from the bot's start. Removing an
operator deactivates them: the tickets they answered keep their name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Operator as OperatorRow
from bot.services.directory import NATIONAL, Directory

MAX_NAME_LENGTH = 64


class Role(StrEnum):
    OPERATOR = "operator"
    COORDINATOR = "coordinator"


class OperatorError(ValueError):
    """A request about operators that cannot be carried out; the message says why, for a person."""


@dataclass(frozen=True, slots=True)
class Operator:
    telegram_id: int
    name: str
    office: str
    role: Role
    active: bool
    on_duty: bool

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Operator:
        return cls(row["telegram_id"], row["name"], row["office"], Role(row["role"]), row["active"], row["on_duty"])

    @property
    def is_national(self) -> bool:
        return self.office == NATIONAL


_operators = OperatorRow.__table__
_COLUMNS = (
    _operators.c.telegram_id, _operators.c.name, _operators.c.office, _operators.c.role,
    _operators.c.active, _operators.c.on_duty,
)
_new = insert(_operators).values(
    telegram_id=bindparam("telegram_id"), name=bindparam("name"), office=bindparam("office"), role=bindparam("role"),
)
# Adding someone who was removed brings them back, in the office and role given now.
_ADD = _new.on_conflict_do_update(
    index_elements=[_operators.c.telegram_id],
    set_={"name": _new.excluded.name, "office": _new.excluded.office, "role": _new.excluded.role, "active": True},
    where=_operators.c.active.is_(False),
).returning(*_COLUMNS)
_ENSURE_COORDINATOR = _new.on_conflict_do_update(
    index_elements=[_operators.c.telegram_id],
    set_={"role": Role.COORDINATOR.value, "active": True},
).returning(*_COLUMNS)
_DEACTIVATE = (
    update(_operators).where(_operators.c.telegram_id == bindparam("operator_id"), _operators.c.active)
    .values(active=False, on_duty=False).returning(*_COLUMNS)
)
_BY_ID = select(*_COLUMNS).where(_operators.c.telegram_id == bindparam("telegram_id"))


def _check_office(directory: Directory, office: str) -> str:
    office = office.strip().lower()
    if directory.get(office) is None:
        slugs = " ".join([*(o.slug for o in directory.regions), NATIONAL])
        raise OperatorError(f"unknown front-office {office!r}; one of: {slugs}")
    return office


def _check_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise OperatorError(f"a name of 1 to {MAX_NAME_LENGTH} characters is needed")
    return name


async def add_operator(
    session: AsyncSession, directory: Directory, telegram_id: int, name: str, office: str, role: Role = Role.OPERATOR
) -> Operator:
    """A new operator (or a removed one back); an active one is refused, to be moved instead."""
    if telegram_id <= 0:
        raise OperatorError("a Telegram id is a positive number")
    params = {"telegram_id": telegram_id, "name": _check_name(name), "office": _check_office(directory, office),
              "role": Role(role).value}
    row = (await session.execute(_ADD, params)).mappings().first()
    if row is None:
        raise OperatorError(f"{telegram_id} is already an active operator; remove or move them instead")
    return Operator.from_row(row)


async def remove_operator(session: AsyncSession, telegram_id: int) -> Operator:
    row = (await session.execute(_DEACTIVATE, {"operator_id": telegram_id})).mappings().first()
    if row is None:
        raise OperatorError(f"{telegram_id} is not an active operator")
    return Operator.from_row(row)


async def get_operator(session: AsyncSession, telegram_id: int) -> Operator | None:
    row = (await session.execute(_BY_ID, {"telegram_id": telegram_id})).mappings().first()
    return Operator.from_row(row) if row else None


async def list_operators(session: AsyncSession, *, include_removed: bool = False) -> list[Operator]:
    query = select(*_COLUMNS).order_by(_operators.c.office, _operators.c.name, _operators.c.telegram_id)
    if not include_removed:
        query = query.where(_operators.c.active)
    return [Operator.from_row(row) for row in (await session.execute(query)).mappings()]


async def ensure_coordinators(session: AsyncSession, admin_ids: Iterable[int]) -> None:
    """Everyone in ADMIN_IDS is an active coordinator of the national office from the start.
    Someone already stored keeps their name and office; a new one is named after their id until
    they are renamed."""
    for telegram_id in admin_ids:
        await session.execute(
            _ENSURE_COORDINATOR,
            {"telegram_id": telegram_id, "name": f"Coordinator {telegram_id}", "office": NATIONAL,
             "role": Role.COORDINATOR.value},
        )
