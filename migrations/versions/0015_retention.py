"""retention: when each person last wrote to the bot, so the retention job can erase people who
stopped using it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # People already in the bot count as active on the day of the upgrade: when they last wrote is
    # not known, and erasing someone earlier than stated is worse than erasing them a little later.
    op.add_column(
        "users",
        sa.Column("last_active_on", sa.Date(), server_default=sa.text("CURRENT_DATE"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("users", "last_active_on")
