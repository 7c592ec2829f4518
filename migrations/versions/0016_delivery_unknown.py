"""announcements count the sends whose delivery is unknown (the connection broke before Telegram
confirmed them): not sent again, counted as not delivered, and shown apart

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Of `failed`, those that may have arrived after all; recipients already marked unconfirmed (a
    # process that died mid-send) are counted in.
    op.add_column("announcements", sa.Column("unconfirmed", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        """
        UPDATE announcements AS a SET unconfirmed = n.count
        FROM (SELECT announcement_id, count(*) AS count FROM announcement_recipients
              WHERE state = 'unconfirmed' GROUP BY announcement_id) AS n
        WHERE a.id = n.announcement_id
        """
    )


def downgrade() -> None:
    op.drop_column("announcements", "unconfirmed")
