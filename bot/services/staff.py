"""A member of the front-offices' staff as the services see them: their office and role. Shared by
the operators' management and the permission table (`access`), which both need it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.db.models import Operator as OperatorRow


class Role(StrEnum):
    OPERATOR = "operator"
    COORDINATOR = "coordinator"


@dataclass(frozen=True, slots=True)
class Operator:
    telegram_id: int
    name: str
    office: str
    role: Role
    active: bool
    on_duty: bool
    language: str = "kk"
    current_ticket: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Operator:
        return cls(
            row["telegram_id"], row["name"], row["office"], Role(row["role"]), row["active"], row["on_duty"],
            row["language"], row["current_ticket"],
        )


_operators = OperatorRow.__table__
COLUMNS = (
    _operators.c.telegram_id, _operators.c.name, _operators.c.office, _operators.c.role,
    _operators.c.active, _operators.c.on_duty, _operators.c.language, _operators.c.current_ticket,
)
