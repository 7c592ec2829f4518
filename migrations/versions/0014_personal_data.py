"""personal data: tickets and deeds outlive their person anonymously; an audit log

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("tickets", "citizen_id", nullable=True)
    op.add_column("tickets", sa.Column("erased_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_tickets_retention", "tickets", ["closed_at"],
        postgresql_where=sa.text("status = 'closed' AND erased_at IS NULL"),
    )
    op.alter_column("deeds", "participant_id", nullable=True)
    op.drop_constraint("deeds_participant_id_fkey", "deeds", type_="foreignkey")
    op.create_foreign_key(
        "deeds_participant_id_fkey", "deeds", "participants", ["participant_id"], ["telegram_id"], ondelete="SET NULL"
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("actor_id", sa.BigInteger()),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("subject", JSONB(), server_default="{}", nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.execute("DELETE FROM deeds WHERE participant_id IS NULL")
    op.drop_constraint("deeds_participant_id_fkey", "deeds", type_="foreignkey")
    op.create_foreign_key(
        "deeds_participant_id_fkey", "deeds", "participants", ["participant_id"], ["telegram_id"], ondelete="CASCADE"
    )
    op.alter_column("deeds", "participant_id", nullable=False)
    op.drop_index("ix_tickets_retention", table_name="tickets")
    op.drop_column("tickets", "erased_at")
    op.execute("DELETE FROM tickets WHERE citizen_id IS NULL")
    op.alter_column("tickets", "citizen_id", nullable=False)
