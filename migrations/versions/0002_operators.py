"""operators of the front-offices and coordinators

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("telegram_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("office", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("on_duty", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("telegram_id"),
        sa.CheckConstraint("role IN ('operator', 'coordinator')", name="operators_role_known"),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 64", name="operators_name_length"),
    )
    op.create_index("ix_operators_office", "operators", ["office"])


def downgrade() -> None:
    op.drop_index("ix_operators_office", table_name="operators")
    op.drop_table("operators")
