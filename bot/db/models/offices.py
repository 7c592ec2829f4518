"""The front-offices as coordinators keep them: their published details and hours, and the days off
they add (public holidays come from the `holidays` package, not the database)."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import BigInteger, Date, DateTime, Float, SmallInteger, String, Time, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
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


class OfficeDetails(Base):
    """What coordinators publish of a front-office, over the seed in bot/content/front_offices.toml:
    its phone, e-mail, link, address (per language), map location, and its own service hours
    (`days` 1 = Monday … 7; NULL: the common hours of `[service_hours]`). NULL or '': not published."""

    __tablename__ = "office_details"

    office: Mapped[str] = mapped_column(String(32), primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    link: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    days: Mapped[list[int] | None] = mapped_column(ARRAY(SmallInteger))
    opens: Mapped[time | None] = mapped_column(Time)
    closes: Mapped[time | None] = mapped_column(Time)
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
