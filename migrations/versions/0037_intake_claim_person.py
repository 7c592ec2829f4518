"""intake: the claim also returns whose update it is, so that the claim's statement can read the
person's record and conversation state with it (one round trip an update less)

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07

The function is 0019's with `person_id` added to what it returns. A process of the previous
version reads the claim's columns by name and is not disturbed by one more.
"""

from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

CLAIM = """
CREATE FUNCTION intake_claim()
RETURNS TABLE (update_id bigint, person_id bigint, payload text, attempts integer, waited numeric, calls text, more boolean)
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
    RETURNING next.update_id, next.person_id, next.payload, next.attempts,
        EXTRACT(EPOCH FROM now() - intake.received_at),
        (SELECT json_agg(json_build_array(c.method, c.response) ORDER BY c.seq)::text
         FROM intake_calls AS c WHERE c.update_id = next.update_id),
        EXISTS (SELECT 1 FROM intake AS later
                WHERE later.person_id = next.person_id AND later.update_id > next.update_id
                  AND later.handled_at IS NULL);
END
$claim$
"""


def upgrade() -> None:
    op.execute("DROP FUNCTION intake_claim()")
    op.execute(CLAIM)


def downgrade() -> None:
    op.execute("DROP FUNCTION intake_claim()")
    op.execute(CLAIM.replace("person_id bigint, ", "").replace("next.person_id, ", ""))  # 0019's
