"""per-day rollups of requests for /stats: counts, the knowledge-base entries they came from, and a
histogram of their times that, with an index per time, gives the exact medians and 90th percentiles

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07

As 0028 does for deeds and people: triggers write change rows in the transactions that change the
counted rows; `statistics.compact` folds them.

* `stats_ticket_days` (day, region): requests, by status (`statistics.STATUSES`), and how many of
  them were answered, closed, escalated, reminded (T1), overdue (T3), from the knowledge base,
  rated 1…5. Statuses as columns: a national year adds up a row per day and region.
* `stats_ticket_category_days` (day, region or '*' for all, category): requests.
* `stats_ticket_kb_days` (day, region or '*' for all, entry): requests opened from a knowledge-base
  answer. (The '*' rows, written beside each region's, are what a national figure reads: a
  twentieth of the rows.)
* `stats_ticket_times` (day, region or '*' for all, measure, bucket): how many requests took a time
  in each bucket (about 19% wide: four to each doubling). The median of a period is then found by
  adding buckets up to the one it falls in and reading that bucket's requests, in order of their
  time, through an index on (bucket, time): exact, as percentile_cont over every request was, at a
  small cost.

A request counts as reminded (overdue) while one of its `ticket_remind` (`ticket_unanswered`)
timers has fired. Timers change in statements of many rows (the retention job); a row trigger sees
the whole statement's rows and could not tell which one made the difference, so the timers'
triggers are per statement, comparing before and after over their transition tables.
"""

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

ASTANA_DAY = "((({0}) AT TIME ZONE 'UTC') + interval '5 hours')::date"
ANSWER_SECONDS = "date_part('epoch', first_answer_at - created_at)"
CLOSE_SECONDS = "date_part('epoch', closed_at - created_at)"

TABLES = [
    """
    CREATE TABLE stats_ticket_days (
        day date NOT NULL,
        region varchar(32) NOT NULL,
        tickets integer NOT NULL DEFAULT 0,
        status_new integer NOT NULL DEFAULT 0,
        status_taken integer NOT NULL DEFAULT 0,
        status_closed integer NOT NULL DEFAULT 0,
        answered integer NOT NULL DEFAULT 0,
        closed integer NOT NULL DEFAULT 0,
        escalated integer NOT NULL DEFAULT 0,
        reminded integer NOT NULL DEFAULT 0,
        overdue integer NOT NULL DEFAULT 0,
        via_knowledge integer NOT NULL DEFAULT 0,
        stars_1 integer NOT NULL DEFAULT 0,
        stars_2 integer NOT NULL DEFAULT 0,
        stars_3 integer NOT NULL DEFAULT 0,
        stars_4 integer NOT NULL DEFAULT 0,
        stars_5 integer NOT NULL DEFAULT 0,
        compacted boolean NOT NULL DEFAULT false
    )
    """,
    "CREATE UNIQUE INDEX ix_stats_ticket_days_key ON stats_ticket_days (day, region) WHERE compacted",
    "CREATE INDEX ix_stats_ticket_days_changes ON stats_ticket_days (day) WHERE NOT compacted",
    """
    CREATE TABLE stats_ticket_category_days (
        day date NOT NULL,
        region varchar(32) NOT NULL,
        category varchar(16) NOT NULL,
        tickets integer NOT NULL,
        compacted boolean NOT NULL DEFAULT false
    )
    """,
    "CREATE UNIQUE INDEX ix_stats_ticket_category_days_key ON stats_ticket_category_days (day, region, category) WHERE compacted",
    "CREATE INDEX ix_stats_ticket_category_days_changes ON stats_ticket_category_days (day) WHERE NOT compacted",
    "CREATE INDEX ix_stats_ticket_category_days_read ON stats_ticket_category_days (region, day)",
    """
    CREATE TABLE stats_ticket_kb_days (
        day date NOT NULL,
        region varchar(32) NOT NULL,
        entry text NOT NULL,
        tickets integer NOT NULL,
        compacted boolean NOT NULL DEFAULT false
    )
    """,
    "CREATE UNIQUE INDEX ix_stats_ticket_kb_days_key ON stats_ticket_kb_days (day, region, entry) WHERE compacted",
    "CREATE INDEX ix_stats_ticket_kb_days_changes ON stats_ticket_kb_days (day) WHERE NOT compacted",
    "CREATE INDEX ix_stats_ticket_kb_days_read ON stats_ticket_kb_days (region, day)",
    """
    CREATE TABLE stats_ticket_times (
        day date NOT NULL,
        region varchar(32) NOT NULL,
        measure varchar(8) NOT NULL,
        bucket smallint NOT NULL,
        tickets integer NOT NULL,
        compacted boolean NOT NULL DEFAULT false
    )
    """,
    "CREATE UNIQUE INDEX ix_stats_ticket_times_key ON stats_ticket_times (region, measure, day, bucket) WHERE compacted",
    "CREATE INDEX ix_stats_ticket_times_changes ON stats_ticket_times (day) WHERE NOT compacted",
    # Read by scope and period from the index alone (the national rows are a twentieth of the table).
    "CREATE INDEX ix_stats_ticket_times_read ON stats_ticket_times (region, day) INCLUDE (measure, bucket, tickets)",
    # Fired timers of a request, looked up by the triggers.
    "CREATE INDEX ix_timers_fired_key ON timers (key, kind) WHERE done_at IS NOT NULL",
]

FUNCTIONS = [
    # Four buckets to each doubling of the seconds; the same function draws the histogram and
    # finds a bucket's requests through the indexes below, so they always agree.
    """
    CREATE FUNCTION stats_time_bucket(seconds double precision) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN floor(ln(greatest(seconds, 0) + 1) / ln(2) * 4)::smallint
    """,
    f"""
    CREATE FUNCTION stats_ticket_add(t tickets, sign integer) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
        day date := {ASTANA_DAY.format("t.created_at")};
        via boolean := coalesce(t.details ->> 'via', '') = 'knowledge';
        measured record;
    BEGIN
        INSERT INTO stats_ticket_days (day, region, tickets, status_new, status_taken, status_closed, answered, closed,
                                       escalated, reminded, overdue, via_knowledge, stars_1, stars_2, stars_3, stars_4, stars_5)
        VALUES (day, t.region, sign, sign * (t.status = 'new')::int, sign * (t.status = 'taken')::int,
                sign * (t.status = 'closed')::int,
                sign * (t.first_answer_at IS NOT NULL)::int, sign * (t.closed_at IS NOT NULL)::int,
                sign * (t.escalated_at IS NOT NULL)::int,
                sign * EXISTS (SELECT 1 FROM timers WHERE key = t.id::text AND kind = 'ticket_remind' AND done_at IS NOT NULL)::int,
                sign * EXISTS (SELECT 1 FROM timers WHERE key = t.id::text AND kind = 'ticket_unanswered' AND done_at IS NOT NULL)::int,
                sign * via::int,
                sign * (t.rating IS NOT DISTINCT FROM 1)::int, sign * (t.rating IS NOT DISTINCT FROM 2)::int, sign * (t.rating IS NOT DISTINCT FROM 3)::int,
                sign * (t.rating IS NOT DISTINCT FROM 4)::int, sign * (t.rating IS NOT DISTINCT FROM 5)::int);
        INSERT INTO stats_ticket_category_days (day, region, category, tickets)
        VALUES (day, t.region, t.category, sign), (day, '*', t.category, sign);
        IF via THEN
            INSERT INTO stats_ticket_kb_days (day, region, entry, tickets)
            VALUES (day, t.region, coalesce(t.details ->> 'kb', ''), sign), (day, '*', coalesce(t.details ->> 'kb', ''), sign);
        END IF;
        FOR measured IN
            SELECT m.measure, stats_time_bucket(m.seconds) AS bucket
            FROM (VALUES ('answer', date_part('epoch', t.first_answer_at - t.created_at)),
                         ('close', date_part('epoch', t.closed_at - t.created_at))) AS m (measure, seconds)
            WHERE m.seconds IS NOT NULL
        LOOP
            INSERT INTO stats_ticket_times (day, region, measure, bucket, tickets)
            VALUES (day, t.region, measured.measure, measured.bucket, sign), (day, '*', measured.measure, measured.bucket, sign);
        END LOOP;
    END
    $$
    """,
    """
    CREATE FUNCTION stats_ticket_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            PERFORM stats_ticket_add(OLD, -1);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM stats_ticket_add(NEW, 1);
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER stats_tickets_added_or_gone AFTER INSERT OR DELETE ON tickets
        FOR EACH ROW EXECUTE FUNCTION stats_ticket_change()
    """,
    """
    CREATE TRIGGER stats_tickets_changed
        AFTER UPDATE OF created_at, region, status, category, first_answer_at, closed_at, escalated_at, rating, details ON tickets
        FOR EACH ROW WHEN (
            (OLD.created_at, OLD.region, OLD.status, OLD.category, OLD.first_answer_at, OLD.closed_at, OLD.escalated_at,
             OLD.rating, OLD.details ->> 'via', OLD.details ->> 'kb')
            IS DISTINCT FROM
            (NEW.created_at, NEW.region, NEW.status, NEW.category, NEW.first_answer_at, NEW.closed_at, NEW.escalated_at,
             NEW.rating, NEW.details ->> 'via', NEW.details ->> 'kb')
        ) EXECUTE FUNCTION stats_ticket_change()
    """,
    # A request's T1 / T3 flag changes when its fired timers of that kind go from none to some or
    # back. `before` and `after` are the statement's rows of those kinds (a missing one: none).
    """
    CREATE FUNCTION stats_timers_flags(changed_keys text[], changed_kinds text[], fired_before integer[], fired_after integer[])
    RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO stats_ticket_days (day, region, reminded, overdue)
        SELECT (((t.created_at) AT TIME ZONE 'UTC') + interval '5 hours')::date, t.region,
               coalesce(sum(flag) FILTER (WHERE c.kind = 'ticket_remind'), 0),
               coalesce(sum(flag) FILTER (WHERE c.kind = 'ticket_unanswered'), 0)
        FROM (
            SELECT key, kind,
                   (now_fired > 0)::int - (now_fired - gained + lost > 0)::int AS flag
            FROM (
                SELECT c.key, c.kind, sum(c.after)::int AS gained, sum(c.before)::int AS lost,
                       (SELECT count(*) FROM timers AS f WHERE f.key = c.key AND f.kind = c.kind AND f.done_at IS NOT NULL)::int AS now_fired
                FROM unnest(changed_keys, changed_kinds, fired_before, fired_after) AS c (key, kind, before, after)
                GROUP BY c.key, c.kind
            ) AS counted
        ) AS c
        JOIN tickets AS t ON t.id = CASE WHEN c.key ~ '^[0-9]{1,18}$' THEN c.key::bigint END
        WHERE c.flag <> 0
        GROUP BY 1, 2;
    END
    $$
    """,
    """
    CREATE FUNCTION stats_timers_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM stats_timers_flags(array_agg(key), array_agg(kind), array_agg(0), array_agg((done_at IS NOT NULL)::int))
        FROM inserted WHERE kind IN ('ticket_remind', 'ticket_unanswered') HAVING count(*) > 0;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION stats_timers_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM stats_timers_flags(array_agg(key), array_agg(kind), array_agg((done_at IS NOT NULL)::int), array_agg(0))
        FROM deleted WHERE kind IN ('ticket_remind', 'ticket_unanswered') HAVING count(*) > 0;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION stats_timers_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM stats_timers_flags(array_agg(c.key), array_agg(c.kind), array_agg(c.before), array_agg(c.after))
        FROM (
            SELECT key, kind, (done_at IS NOT NULL)::int AS before, 0 AS after FROM deleted
            WHERE kind IN ('ticket_remind', 'ticket_unanswered')
            UNION ALL
            SELECT key, kind, 0, (done_at IS NOT NULL)::int FROM inserted
            WHERE kind IN ('ticket_remind', 'ticket_unanswered')
        ) AS c
        HAVING count(*) > 0;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER stats_timers_inserted AFTER INSERT ON timers REFERENCING NEW TABLE AS inserted
        FOR EACH STATEMENT EXECUTE FUNCTION stats_timers_inserted()
    """,
    """
    CREATE TRIGGER stats_timers_deleted AFTER DELETE ON timers REFERENCING OLD TABLE AS deleted
        FOR EACH STATEMENT EXECUTE FUNCTION stats_timers_deleted()
    """,
    """
    CREATE TRIGGER stats_timers_updated AFTER UPDATE ON timers REFERENCING OLD TABLE AS deleted NEW TABLE AS inserted
        FOR EACH STATEMENT EXECUTE FUNCTION stats_timers_updated()
    """,
]

# The requests of one bucket of one time in the order of that time, with what the period and the
# scope need and the columns the time is computed from (so it is read from the index alone, and
# in order: no sort): a median's last step.
INDEXES = [
    f"CREATE INDEX ix_tickets_answer_bucket ON tickets (stats_time_bucket({ANSWER_SECONDS}), ({ANSWER_SECONDS}))"
    " INCLUDE (created_at, region, first_answer_at) WHERE first_answer_at IS NOT NULL",
    f"CREATE INDEX ix_tickets_close_bucket ON tickets (stats_time_bucket({CLOSE_SECONDS}), ({CLOSE_SECONDS}))"
    " INCLUDE (created_at, region, closed_at) WHERE closed_at IS NOT NULL",
]

BACKFILL = [
    f"""
    INSERT INTO stats_ticket_days (day, region, tickets, status_new, status_taken, status_closed, answered, closed, escalated,
                                   reminded, overdue, via_knowledge, stars_1, stars_2, stars_3, stars_4, stars_5, compacted)
    SELECT {ASTANA_DAY.format("t.created_at")}, t.region, count(*), count(*) FILTER (WHERE t.status = 'new'),
           count(*) FILTER (WHERE t.status = 'taken'), count(*) FILTER (WHERE t.status = 'closed'),
           count(t.first_answer_at), count(t.closed_at), count(t.escalated_at),
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM timers WHERE key = t.id::text AND kind = 'ticket_remind' AND done_at IS NOT NULL)),
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM timers WHERE key = t.id::text AND kind = 'ticket_unanswered' AND done_at IS NOT NULL)),
           count(*) FILTER (WHERE t.details ->> 'via' = 'knowledge'),
           count(*) FILTER (WHERE t.rating = 1), count(*) FILTER (WHERE t.rating = 2), count(*) FILTER (WHERE t.rating = 3),
           count(*) FILTER (WHERE t.rating = 4), count(*) FILTER (WHERE t.rating = 5), true
    FROM tickets AS t GROUP BY 1, 2
    """,
    f"""
    INSERT INTO stats_ticket_category_days (day, region, category, tickets, compacted)
    SELECT {ASTANA_DAY.format("created_at")}, r.region, category, count(*), true
    FROM tickets CROSS JOIN LATERAL (VALUES (tickets.region), ('*')) AS r (region) GROUP BY 1, 2, 3
    """,
    f"""
    INSERT INTO stats_ticket_kb_days (day, region, entry, tickets, compacted)
    SELECT {ASTANA_DAY.format("created_at")}, r.region, coalesce(details ->> 'kb', ''), count(*), true
    FROM tickets CROSS JOIN LATERAL (VALUES (tickets.region), ('*')) AS r (region)
    WHERE details ->> 'via' = 'knowledge' GROUP BY 1, 2, 3
    """,
    f"""
    INSERT INTO stats_ticket_times (day, region, measure, bucket, tickets, compacted)
    SELECT day, region, measure, bucket, count(*), true
    FROM (
        SELECT {ASTANA_DAY.format("t.created_at")} AS day, r.region, m.measure, stats_time_bucket(m.seconds) AS bucket
        FROM tickets AS t
        CROSS JOIN LATERAL (VALUES ('answer', date_part('epoch', t.first_answer_at - t.created_at)),
                                   ('close', date_part('epoch', t.closed_at - t.created_at))) AS m (measure, seconds)
        CROSS JOIN LATERAL (VALUES (t.region), ('*')) AS r (region)
        WHERE m.seconds IS NOT NULL
    ) AS each_time
    GROUP BY 1, 2, 3, 4
    """,
]

QUEUE_VACUUM = "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000"
ROLLUPS = ("stats_ticket_days", "stats_ticket_category_days", "stats_ticket_kb_days", "stats_ticket_times")


def upgrade() -> None:
    for statement in (*TABLES, *FUNCTIONS, *INDEXES, *BACKFILL):
        op.execute(statement)
    for table in ROLLUPS:
        op.execute(f"ALTER TABLE {table} SET ({QUEUE_VACUUM})")


def downgrade() -> None:
    for trigger, table in (("stats_tickets_added_or_gone", "tickets"), ("stats_tickets_changed", "tickets"),
                           ("stats_timers_inserted", "timers"), ("stats_timers_deleted", "timers"),
                           ("stats_timers_updated", "timers")):
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    for index in ("ix_tickets_answer_bucket", "ix_tickets_close_bucket", "ix_timers_fired_key"):
        op.execute(f"DROP INDEX {index}")
    for function in ("stats_timers_updated()", "stats_timers_deleted()", "stats_timers_inserted()",
                     "stats_timers_flags(text[], text[], integer[], integer[])", "stats_ticket_change()",
                     "stats_ticket_add(tickets, integer)", "stats_time_bucket(double precision)"):
        op.execute(f"DROP FUNCTION {function}")
    for table in ROLLUPS:
        op.execute(f"DROP TABLE {table}")
