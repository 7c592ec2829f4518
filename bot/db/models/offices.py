"""The front-offices' working calendar: the days off coordinators add (public holidays come from
the `holidays` package, not the database)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models.base import Base


class DayOff(Base):
    """A day an office (`office` '': every office) does not work, besides the weekly days off and
    public holidays: the time limits of requests do not run on it."""

    __tablename__ = "days_off"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    office: Mapped[str] = mapped_column(String(32), primary_key=True)
    note: Mapped[str] = mapped_column(String(200), server_default="")
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
