"""intake: the claim also returns whose update it is, so that the claim's statement can read the
person's record and conversation state with it (one round trip an update less); what an update
reads first about its person, as a function

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07

The claim is 0019's with `person_id` added to what it returns. A process of the previous version
reads the claim's columns by name, but the statement it prepared on each connection no longer
matches the function's result: PostgreSQL refuses it once per connection (the claim fails, is
logged, and the loop looks again half a second later; asyncpg prepares it anew), nothing is lost.
Deploy by replacing the processes.

`person_arrival` is what `bot/services/users.py` read with a statement of its own before. In
PL/pgSQL, whose plans are kept per connection (a SQL function's query is planned on every call
before PostgreSQL 18). A function, and VOLATILE, for its snapshot: joined to the claim in one statement, a plain subquery
would read with the statement's snapshot, taken before the claim's function took its own, so it
could miss the commit of the person's previous update that the claim saw (their FSM state of one
update before). A volatile function takes a snapshot of its own when it runs, after the claim.
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

ARRIVAL = """
CREATE FUNCTION person_arrival(person_id bigint, fsm_key text)
RETURNS TABLE (
    telegram_id bigint, language varchar, region varchar, consent_version smallint, announcements boolean,
    unreachable boolean, seen_today boolean, state text, data jsonb, open_ticket bigint,
    operator_telegram_id bigint, operator_name text, operator_office varchar, operator_role varchar,
    operator_active boolean, operator_on_duty boolean, operator_language varchar, operator_current_ticket bigint
)
LANGUAGE plpgsql
VOLATILE
AS $arrival$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT users.telegram_id, users.language, users.region, users.consent_version, users.announcements,
        users.unreachable_since IS NOT NULL, users.last_active_on >= current_date,
        fsm_states.state, fsm_states.data,
        -- At most one: a unique index allows one open ticket per person (the literal matches it).
        (SELECT tickets.id FROM tickets WHERE tickets.citizen_id = me.id AND tickets.status <> 'closed'),
        operators.telegram_id, operators.name, operators.office, operators.role, operators.active,
        operators.on_duty, operators.language, operators.current_ticket
    FROM (SELECT person_id AS id) AS me
    LEFT JOIN users ON users.telegram_id = me.id
    LEFT JOIN fsm_states ON fsm_states.key = fsm_key
    LEFT JOIN operators ON operators.telegram_id = me.id AND operators.active;
END
$arrival$
"""


def upgrade() -> None:
    op.execute("DROP FUNCTION intake_claim()")
    op.execute(CLAIM)
    op.execute(ARRIVAL)


def downgrade() -> None:
    op.execute("DROP FUNCTION person_arrival(bigint, text)")
    op.execute("DROP FUNCTION intake_claim()")
    op.execute(CLAIM.replace("person_id bigint, ", "").replace("next.person_id, ", ""))  # 0019's
