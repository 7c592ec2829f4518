"""outbox: an index of the pending rows in the order they are sent

Without it, handing out the next message walked the primary key over every message ever sent
(3 ms per claim with 30,000 sent rows, and growing); with it, only the pending ones.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_due", "outbox", ["id"], postgresql_where=sa.text("sent_at IS NULL AND failed IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
