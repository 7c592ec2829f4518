"""abuse: coordinators' blocks of people, and when a person was last told to slow down

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blocks",
        sa.Column("telegram_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("reason", sa.Text()),
        sa.Column("blocked_by", sa.BigInteger(), nullable=False),
        sa.Column("blocked_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger()),
    )
    op.add_column("users", sa.Column("slowed_until", sa.DateTime(timezone=True)))
    op.add_column("users", sa.Column("repeat_told_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("users", "repeat_told_until")
    op.drop_column("users", "slowed_until")
    op.drop_table("blocks")
