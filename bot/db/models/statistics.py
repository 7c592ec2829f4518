"""Per-day rollups for /stats (`bot/services/statistics.py`), written only by triggers on the rows
they count (migration 0028) and by the compaction. Plain tables, not ORM classes: nothing reads or
writes them row by row, and a change row has no identity (a key has many until compacted)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Index, Integer, Numeric, String, Table, false, text

from bot.db.models.base import Base

stats_deed_days = Table(
    "stats_deed_days",
    Base.metadata,
    Column("deed_date", Date, nullable=False),
    Column("region", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("state", String(8), nullable=False),
    Column("deeds", Integer, nullable=False),
    Column("amount", Numeric(16, 2), nullable=False),
    Column("compacted", Boolean, nullable=False, server_default=false()),
    Index("ix_stats_deed_days_key", "deed_date", "region", "kind", "state", unique=True, postgresql_where=text("compacted")),
    Index("ix_stats_deed_days_changes", "deed_date", postgresql_where=text("NOT compacted")),
)

stats_people_days = Table(
    "stats_people_days",
    Base.metadata,
    Column("day", Date, nullable=False),  # joined, in Astana time
    Column("region", String(32)),
    Column("language", String(2), nullable=False),
    Column("people", Integer, nullable=False),
    Column("compacted", Boolean, nullable=False, server_default=false()),
    Index("ix_stats_people_days_key", "day", "region", "language", unique=True, postgresql_where=text("compacted"),
          postgresql_nulls_not_distinct=True),
    Index("ix_stats_people_days_changes", "day", postgresql_where=text("NOT compacted")),
)
