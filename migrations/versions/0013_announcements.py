"""coordinators' announcements, their recipients, and people the bot cannot reach

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("unreachable_since", sa.DateTime(timezone=True)))
    op.create_table(
        "announcements",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("audience", JSONB(), nullable=False),
        sa.Column("versions", JSONB(), nullable=False),
        sa.Column("state", sa.String(12), server_default="running", nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("blocked", sa.Integer(), server_default="0", nullable=False),
        sa.Column("progress_chat_id", sa.BigInteger()),
        sa.Column("progress_message_id", sa.BigInteger()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("state IN ('running', 'paused', 'cancelled', 'done')", name="announcements_state_known"),
    )
    op.create_index(
        "ix_announcements_running", "announcements", ["id"], postgresql_where=sa.text("state = 'running'")
    )
    op.create_table(
        "announcement_recipients",
        sa.Column(
            "announcement_id", sa.BigInteger(), sa.ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("telegram_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("state", sa.String(12), server_default="pending", nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'unconfirmed')",
            name="announcement_recipients_state_known",
        ),
    )
    op.create_index(
        "ix_announcement_recipients_pending", "announcement_recipients", ["announcement_id", "telegram_id"],
        postgresql_where=sa.text("state IN ('pending', 'sending')"),
    )


def downgrade() -> None:
    op.drop_table("announcement_recipients")
    op.drop_table("announcements")
    op.drop_column("users", "unreachable_since")
