"""the largest amount of one deed of a kind, as coordinators set it (over the data file's)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deed_kind_limits",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("max_amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("kind"),
        sa.CheckConstraint("max_amount > 0", name="deed_kind_limits_positive"),
    )


def downgrade() -> None:
    op.drop_table("deed_kind_limits")
