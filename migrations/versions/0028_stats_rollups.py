"""per-day rollups of deeds and people for /stats, kept by triggers in the transactions that change
the rows they count

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07

`statistics.collect` grouped every deed of the period (a million for a national year: ~430 ms) and
every person ever (~25 ms). These tables hold the same counts per day instead: `stats_deed_days`
(day, region or '*' for all, kind → deeds, by state, approved amount) and `stats_people_days` (day joined in
Astana time, region → people, by language).

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
    deeds integer NOT NULL,
    pending integer NOT NULL,
    approved integer NOT NULL,
    rejected integer NOT NULL,
    approved_amount numeric(16, 2) NOT NULL,
    compacted boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX ix_stats_deed_days_key ON stats_deed_days (deed_date, region, kind) WHERE compacted;
CREATE INDEX ix_stats_deed_days_changes ON stats_deed_days (deed_date) WHERE NOT compacted;
CREATE INDEX ix_stats_deed_days_read ON stats_deed_days (region, deed_date);
CREATE INDEX ix_stats_deed_days_by_region ON stats_deed_days (deed_date) INCLUDE (region, approved) WHERE region <> '*';

CREATE TABLE stats_people_days (
    day date NOT NULL,
    region varchar(32),
    people integer NOT NULL,
    kk integer NOT NULL,
    ru integer NOT NULL,
    en integer NOT NULL,
    compacted boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX ix_stats_people_days_key ON stats_people_days (day, region) NULLS NOT DISTINCT WHERE compacted;
CREATE INDEX ix_stats_people_days_changes ON stats_people_days (day) WHERE NOT compacted
"""

# A deed's state and a person's language are counted in columns of their own (fewer rows to add up
# than one row per state or language): `users_language_known` bounds the languages; a deed's
# states are `statistics.DEED_STATES` (another would count in `deeds` only). A deed counts twice:
# in its region's rows and in the rows of every region ('*'), which a national figure reads alone.
DEED_ROW = "{0}.deed_date, {2}, {0}.kind, {1}, {1} * ({0}.state = 'pending')::int, " \
    "{1} * ({0}.state = 'approved')::int, {1} * ({0}.state = 'rejected')::int, " \
    "CASE WHEN {0}.state = 'approved' THEN {1} * {0}.amount ELSE 0 END"
PERSON_ROW = ASTANA_DAY.format("{0}.created_at") + ", {0}.region, {1}, {1} * ({0}.language = 'kk')::int, " \
    "{1} * ({0}.language = 'ru')::int, {1} * ({0}.language = 'en')::int"

FUNCTIONS = f"""
CREATE FUNCTION stats_deed_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO stats_deed_days (deed_date, region, kind, deeds, pending, approved, rejected, approved_amount)
        VALUES ({DEED_ROW.format("OLD", "-1", "OLD.region")}), ({DEED_ROW.format("OLD", "-1", "'*'")});
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO stats_deed_days (deed_date, region, kind, deeds, pending, approved, rejected, approved_amount)
        VALUES ({DEED_ROW.format("NEW", "1", "NEW.region")}), ({DEED_ROW.format("NEW", "1", "'*'")});
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
        INSERT INTO stats_people_days (day, region, people, kk, ru, en) VALUES ({PERSON_ROW.format("OLD", "-1")});
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO stats_people_days (day, region, people, kk, ru, en) VALUES ({PERSON_ROW.format("NEW", "1")});
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
INSERT INTO stats_deed_days (deed_date, region, kind, deeds, pending, approved, rejected, approved_amount, compacted)
SELECT deed_date, r.region, kind, count(*), count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'approved'),
       count(*) FILTER (WHERE state = 'rejected'), coalesce(sum(amount) FILTER (WHERE state = 'approved'), 0), true
FROM deeds CROSS JOIN LATERAL (VALUES (deeds.region), ('*')) AS r (region) GROUP BY 1, 2, 3;
INSERT INTO stats_people_days (day, region, people, kk, ru, en, compacted)
SELECT {ASTANA_DAY.format("created_at")}, region, count(*), count(*) FILTER (WHERE language = 'kk'),
       count(*) FILTER (WHERE language = 'ru'), count(*) FILTER (WHERE language = 'en'), true
FROM users GROUP BY 1, 2
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
