"""tickets: requests escalated to the front-offices, their messages, and where they were delivered

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("citizen_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("office", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="new", nullable=False),
        sa.Column("operator_id", sa.BigInteger(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_answer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=8), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.Column("citizen_unreachable", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("kind IN ('question', 'help')", name="tickets_kind_known"),
        sa.CheckConstraint("status IN ('new', 'taken', 'closed')", name="tickets_status_known"),
        sa.CheckConstraint("status <> 'taken' OR operator_id IS NOT NULL", name="tickets_taken_has_operator"),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="tickets_rating_range"),
    )
    # One open request per person at a time: what they write goes to it.
    op.create_index(
        "ux_tickets_open_per_citizen", "tickets", ["citizen_id"], unique=True,
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.create_index("ix_tickets_citizen", "tickets", ["citizen_id", "id"])
    op.create_index("ix_tickets_open_office", "tickets", ["office", "id"], postgresql_where=sa.text("status <> 'closed'"))
    op.create_index("ix_tickets_operator", "tickets", ["operator_id", "id"], postgresql_where=sa.text("status = 'taken'"))

    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("author", sa.String(length=8), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("file_id", sa.Text(), nullable=True),
        sa.Column("extra", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.CheckConstraint("author IN ('citizen', 'operator', 'system')", name="ticket_messages_author_known"),
    )
    op.create_index("ix_ticket_messages_ticket", "ticket_messages", ["ticket_id", "id"])

    # Which bot message in whose chat belongs to which ticket: an operator's reply to any of them
    # goes to that ticket, and a card is edited when its ticket changes.
    op.create_table(
        "ticket_links",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("is_card", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "message_id"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_ticket_links_cards", "ticket_links", ["ticket_id", "chat_id"], postgresql_where=sa.text("is_card"))

    op.add_column("operators", sa.Column("language", sa.String(length=2), server_default="kk", nullable=False))
    op.add_column("operators", sa.Column("current_ticket", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("operators", "current_ticket")
    op.drop_column("operators", "language")
    op.drop_table("ticket_links")
    op.drop_table("ticket_messages")
    op.drop_table("tickets")
