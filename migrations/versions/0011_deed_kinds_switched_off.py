"""a deed kind coordinators switched off is no longer offered (its deeds stay and count)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("deed_kind_limits", "max_amount", existing_type=sa.Numeric(12, 2), nullable=True)
    op.add_column("deed_kind_limits", sa.Column("offered", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    op.drop_column("deed_kind_limits", "offered")
    op.execute("DELETE FROM deed_kind_limits WHERE max_amount IS NULL")
    op.alter_column("deed_kind_limits", "max_amount", existing_type=sa.Numeric(12, 2), nullable=False)
