"""announcements: what the progress message shows now, so that no process edits it to what it
already says (Telegram refuses such an edit: "message is not modified")

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("announcements", sa.Column("progress_shown", sa.String(32)))


def downgrade() -> None:
    op.drop_column("announcements", "progress_shown")
