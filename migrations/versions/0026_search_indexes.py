"""indexes for /find: trigrams of the conversation's words (pg_trgm, a trusted extension since
PostgreSQL 13, in every build of it that ships contrib) and the requests' phones

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_ticket_messages_text_trgm ON ticket_messages USING gin (text gin_trgm_ops)")
    op.execute("CREATE INDEX ix_tickets_phone ON tickets (phone) WHERE phone IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX ix_tickets_phone")
    op.execute("DROP INDEX ix_ticket_messages_text_trgm")
