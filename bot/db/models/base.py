"""The declarative base and what every model shares."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


def is_row_id(value: int) -> bool:
    """Whether `value` can be a bigint id at all: a number from a command or forged button data
    past PostgreSQL's bigint would fail the query instead of finding nothing."""
    return 0 < value < 2**63


class Base(DeclarativeBase):
    pass
