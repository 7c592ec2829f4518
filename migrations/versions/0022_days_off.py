"""days_off: days a front-office (or every one) does not work, added by coordinators; the requests'
time limits count working time only

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "days_off",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("office", sa.String(32), primary_key=True),
        sa.Column("note", sa.String(200), server_default="", nullable=False),
        sa.Column("added_by", sa.BigInteger()),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("days_off")
