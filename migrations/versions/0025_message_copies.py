"""ticket_message_copies: where each relayed message of a request was delivered, so that an edit
by its author updates the other side's copy

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_message_copies",
        sa.Column("chat_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("message_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("ticket_message_id", sa.BigInteger(), sa.ForeignKey("ticket_messages.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_ticket_message_copies_message", "ticket_message_copies", ["ticket_message_id"])


def downgrade() -> None:
    op.drop_table("ticket_message_copies")
