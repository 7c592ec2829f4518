"""the operator's desk: internal notes on a request (ticket_messages by 'note', never relayed) and
saved replies, per office and language

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("ticket_messages_author_known", "ticket_messages", type_="check")
    op.create_check_constraint(
        "ticket_messages_author_known", "ticket_messages", "author IN ('citizen', 'operator', 'system', 'note')"
    )
    op.create_table(
        "saved_replies",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("office", sa.String(32), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("texts", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("updated_by", sa.BigInteger()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("office", "name", name="saved_replies_name_per_office"),
    )


def downgrade() -> None:
    op.drop_table("saved_replies")
    op.execute("DELETE FROM ticket_messages WHERE author = 'note'")
    op.drop_constraint("ticket_messages_author_known", "ticket_messages", type_="check")
    op.create_check_constraint(
        "ticket_messages_author_known", "ticket_messages", "author IN ('citizen', 'operator', 'system')"
    )
