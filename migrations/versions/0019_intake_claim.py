"""intake: the claim as a function whose plan does not depend on the table's statistics; the
intake's tables vacuumed by the number of rows changed, as a queue's are

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05

The claim (see `bot/services/intake.py`) wants the oldest due update through `ix_intake_due`,
stopping at the first whose person has no earlier one waiting. With statistics from before a
burst (a new database, an intake emptied since it was last analysed) PostgreSQL planned it instead
as a bitmap scan of every waiting update, each with its person's probe, then a sort: ~5 ms per
claim with 4,550 waiting, and a bitmap scan never marks the rows the claims already took as dead in
the index, so every claim re-read all of them until autovacuum came by. The function turns sorts
and bitmap scans off for this statement only (PL/pgSQL keeps its plan per connection, as a
prepared statement would).
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

CLAIM = """
CREATE FUNCTION intake_claim()
RETURNS TABLE (update_id bigint, payload text, attempts integer, waited numeric, calls text, more boolean)
LANGUAGE plpgsql
SET enable_sort = off
SET enable_bitmapscan = off
AS $claim$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH next AS (
        -- The person's earlier waiting update is looked for with a scalar subquery, not NOT
        -- EXISTS: the planner may turn NOT EXISTS into an anti-join that compares every waiting
        -- update with every other. A scalar subquery is one index probe per candidate.
        SELECT i.update_id, i.person_id, i.payload, i.attempts FROM intake AS i
        WHERE i.handled_at IS NULL AND i.not_before <= now()
          AND i.update_id = (SELECT min(first.update_id) FROM intake AS first
                             WHERE first.person_id = i.person_id AND first.handled_at IS NULL)
        ORDER BY i.update_id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    UPDATE intake SET handled_at = now(), payload = NULL, person_id = 0
    FROM next WHERE intake.update_id = next.update_id
    RETURNING next.update_id, next.payload, next.attempts,
        EXTRACT(EPOCH FROM now() - intake.received_at),
        (SELECT json_agg(json_build_array(c.method, c.response) ORDER BY c.seq)::text
         FROM intake_calls AS c WHERE c.update_id = next.update_id),
        EXISTS (SELECT 1 FROM intake AS later
                WHERE later.person_id = next.person_id AND later.update_id > next.update_id
                  AND later.handled_at IS NULL);
END
$claim$
"""

# Every update is one insert and one update of `intake` and, for some, rows of `intake_calls`
# written and deleted: vacuumed after a fixed number of changed rows rather than a fifth of a table
# that keeps two days of handled updates.
QUEUE_VACUUM = "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000"


def upgrade() -> None:
    op.execute(CLAIM)
    for table in ("intake", "intake_calls"):
        op.execute(f"ALTER TABLE {table} SET ({QUEUE_VACUUM})")


def downgrade() -> None:
    for table in ("intake", "intake_calls"):
        op.execute(f"ALTER TABLE {table} RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold)")
    op.execute("DROP FUNCTION intake_claim()")
