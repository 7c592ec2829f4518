"""Per-day rollups for /stats (`bot/services/statistics.py`), written only by triggers on the rows
they count (migration 0028) and by the compaction. Plain tables, not ORM classes: nothing reads or
writes them row by row, and a change row has no identity (a key has many until compacted)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Index, Integer, Numeric, SmallInteger, String, Table, Text, false, text

from bot.db.models.base import Base

stats_deed_days = Table(
    "stats_deed_days",
    Base.metadata,
    Column("deed_date", Date, nullable=False),
    Column("region", String(32), nullable=False),  # '*': every region
    Column("kind", String(16), nullable=False),
    *(Column(name, Integer, nullable=False) for name in ("deeds", "pending", "approved", "rejected")),
    Column("approved_amount", Numeric(16, 2), nullable=False),
    Column("compacted", Boolean, nullable=False, server_default=false()),
    Index("ix_stats_deed_days_key", "deed_date", "region", "kind", unique=True, postgresql_where=text("compacted")),
    Index("ix_stats_deed_days_changes", "deed_date", postgresql_where=text("NOT compacted")),
    Index("ix_stats_deed_days_read", "region", "deed_date"),
    # The national figures' approved deeds per region, from the index alone.
    Index("ix_stats_deed_days_by_region", "deed_date", postgresql_include=["region", "approved"],
          postgresql_where=text("region <> '*'")),
)

stats_people_days = Table(
    "stats_people_days",
    Base.metadata,
    Column("day", Date, nullable=False),  # joined, in Astana time
    Column("region", String(32)),
    *(Column(name, Integer, nullable=False) for name in ("people", "kk", "ru", "en")),
    Column("compacted", Boolean, nullable=False, server_default=false()),
    Index("ix_stats_people_days_key", "day", "region", unique=True, postgresql_where=text("compacted"),
          postgresql_nulls_not_distinct=True),
    Index("ix_stats_people_days_changes", "day", postgresql_where=text("NOT compacted")),
)

stats_ticket_days = Table(
    "stats_ticket_days",
    Base.metadata,
    Column("day", Date, nullable=False),  # opened, in Astana time
    Column("region", String(32), nullable=False),
    *(Column(name, Integer, nullable=False, server_default="0") for name in (
        "tickets", "status_new", "status_taken", "status_closed", "answered", "closed", "escalated", "reminded",
        "overdue", "via_knowledge", "stars_1", "stars_2", "stars_3", "stars_4", "stars_5",
    )),
    Column("compacted", Boolean, nullable=False, server_default=false()),
    Index("ix_stats_ticket_days_key", "day", "region", unique=True, postgresql_where=text("compacted")),
    Index("ix_stats_ticket_days_changes", "day", postgresql_where=text("NOT compacted")),
)

stats_ticket_category_days = Table(
    "stats_ticket_category_days",
    Base.metadata,
    Column("day", Date, nullable=False),
    Column("region", String(32), nullable=False),
    Column("category", String(16), nullable=False),
    Column("tickets", Integer, nullable=False),
    Column("compacted", Boolean, nullable=False, server_default=false()),
    Index("ix_stats_ticket_category_days_key", "day", "region", "category", unique=True, postgresql_where=text("compacted")),
    Index("ix_stats_ticket_category_days_changes", "day", postgresql_where=text("NOT compacted")),
    Index("ix_stats_ticket_category_days_read", "region", "day"),
)

stats_ticket_kb_days = Table(
    "stats_ticket_kb_days",
    Base.metadata,
    Column("day", Date, nullable=False),
    Column("region", String(32), nullable=False),
    Column("entry", Text, nullable=False),  # "topic/question" of the knowledge base
    Column("tickets", Integer, nullable=False),
    Column("compacted", Boolean, nullable=False, server_default=false()),
    Index("ix_stats_ticket_kb_days_key", "day", "region", "entry", unique=True, postgresql_where=text("compacted")),
    Index("ix_stats_ticket_kb_days_changes", "day", postgresql_where=text("NOT compacted")),
    Index("ix_stats_ticket_kb_days_read", "region", "day"),
)

stats_ticket_times = Table(
    "stats_ticket_times",
    Base.metadata,
    Column("day", Date, nullable=False),
    Column("region", String(32), nullable=False),  # '*': every region
    Column("measure", String(8), nullable=False),  # 'answer' (to the first answer) or 'close'
    Column("bucket", SmallInteger, nullable=False),  # stats_time_bucket(seconds)
    Column("tickets", Integer, nullable=False),
    Column("compacted", Boolean, nullable=False, server_default=false()),
    Index("ix_stats_ticket_times_key", "region", "measure", "day", "bucket", unique=True, postgresql_where=text("compacted")),
    Index("ix_stats_ticket_times_changes", "day", postgresql_where=text("NOT compacted")),
    Index("ix_stats_ticket_times_read", "region", "day", postgresql_include=["measure", "bucket", "tickets"]),
)
