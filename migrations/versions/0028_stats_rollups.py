"""per-day rollups of deeds and people for /stats, kept by triggers in the transactions that change
the rows they count

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07

`statistics.collect` grouped every deed of the period (a million for a national year: ~430 ms) and
every person ever (~25 ms). These tables hold the same counts per day instead: `stats_deed_days`
(day, region, kind, state → deeds, amount) and `stats_people_days` (day joined in Astana time,
region, language → people).

Triggers write a *change* row (+1 / −1) for every insert, delete, or update of a counted column,
never an update of a shared row: a deed logged or reviewed would otherwise hold the lock of its
day's row until its transaction commits (an update's transaction spans its answers to Telegram),
and everyone logging the same kind in the same region that day would wait in line. Readers add
every row of a key; `statistics.compact` folds the change rows into one `compacted` row per key
now and then (a timer), so what the readers add stays about one row per key.

A trigger sees every path that writes these tables (the bot, the retention job, /forget, a
coordinator's SQL) in the very transaction that writes them: the counts cannot drift from the rows.
"""

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

# Astana's day of a moment, as `statistics.Period` draws its days (UTC+5, `clock.KAZAKHSTAN`).
ASTANA_DAY = "((({0}) AT TIME ZONE 'UTC') + interval '5 hours')::date"

TABLES = """
CREATE TABLE stats_deed_days (
    deed_date date NOT NULL,
    region varchar(32) NOT NULL,
    kind varchar(16) NOT NULL,
    state varchar(8) NOT NULL,
    deeds integer NOT NULL,
    amount numeric(16, 2) NOT NULL,
    compacted boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX ix_stats_deed_days_key ON stats_deed_days (deed_date, region, kind, state) WHERE compacted;
CREATE INDEX ix_stats_deed_days_changes ON stats_deed_days (deed_date) WHERE NOT compacted;

CREATE TABLE stats_people_days (
    day date NOT NULL,
    region varchar(32),
    language varchar(2) NOT NULL,
    people integer NOT NULL,
    compacted boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX ix_stats_people_days_key ON stats_people_days (day, region, language) NULLS NOT DISTINCT WHERE compacted;
CREATE INDEX ix_stats_people_days_changes ON stats_people_days (day) WHERE NOT compacted
"""

FUNCTIONS = f"""
CREATE FUNCTION stats_deed_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO stats_deed_days (deed_date, region, kind, state, deeds, amount)
        VALUES (OLD.deed_date, OLD.region, OLD.kind, OLD.state, -1, -OLD.amount);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO stats_deed_days (deed_date, region, kind, state, deeds, amount)
        VALUES (NEW.deed_date, NEW.region, NEW.kind, NEW.state, 1, NEW.amount);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER stats_deeds_added_or_gone AFTER INSERT OR DELETE ON deeds
    FOR EACH ROW EXECUTE FUNCTION stats_deed_change();

CREATE TRIGGER stats_deeds_changed AFTER UPDATE OF deed_date, region, kind, state, amount ON deeds
    FOR EACH ROW WHEN (
        (OLD.deed_date, OLD.region, OLD.kind, OLD.state, OLD.amount)
        IS DISTINCT FROM (NEW.deed_date, NEW.region, NEW.kind, NEW.state, NEW.amount)
    ) EXECUTE FUNCTION stats_deed_change();

CREATE FUNCTION stats_person_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO stats_people_days (day, region, language, people)
        VALUES ({ASTANA_DAY.format("OLD.created_at")}, OLD.region, OLD.language, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO stats_people_days (day, region, language, people)
        VALUES ({ASTANA_DAY.format("NEW.created_at")}, NEW.region, NEW.language, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER stats_people_added_or_gone AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION stats_person_change();

CREATE TRIGGER stats_people_changed AFTER UPDATE OF created_at, region, language ON users
    FOR EACH ROW WHEN (
        (OLD.created_at, OLD.region, OLD.language) IS DISTINCT FROM (NEW.created_at, NEW.region, NEW.language)
    ) EXECUTE FUNCTION stats_person_change()
"""

BACKFILL = f"""
INSERT INTO stats_deed_days (deed_date, region, kind, state, deeds, amount, compacted)
SELECT deed_date, region, kind, state, count(*), sum(amount), true FROM deeds GROUP BY 1, 2, 3, 4;
INSERT INTO stats_people_days (day, region, language, people, compacted)
SELECT {ASTANA_DAY.format("created_at")}, region, language, count(*), true FROM users GROUP BY 1, 2, 3
"""

# Written and emptied all day long (the change rows), as a queue is: vacuumed by rows changed.
QUEUE_VACUUM = "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000"


def upgrade() -> None:
    for statement in (*TABLES.split(";\n"), *FUNCTIONS.split(";\n\n"), *BACKFILL.split(";\n")):
        op.execute(statement)
    for table in ("stats_deed_days", "stats_people_days"):
        op.execute(f"ALTER TABLE {table} SET ({QUEUE_VACUUM})")


def downgrade() -> None:
    for trigger, table in (("stats_deeds_added_or_gone", "deeds"), ("stats_deeds_changed", "deeds"),
                           ("stats_people_added_or_gone", "users"), ("stats_people_changed", "users")):
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    op.execute("DROP FUNCTION stats_deed_change()")
    op.execute("DROP FUNCTION stats_person_change()")
    op.execute("DROP TABLE stats_deed_days")
    op.execute("DROP TABLE stats_people_days")
