"""deed photos: a perceptual hash each (issue 20), so that a photo sent again re-saved, resized or
screenshotted is recognised though Telegram gives it a new file_unique_id

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07

`bot/services/marathon/photo_match.py` makes it. Photos logged before have none (NULL): they are
recognised by their file_unique_id only, as before. It is erased with its row (a deed's erasure and
the retention job delete the photos).
"""

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deed_photos", sa.Column("fingerprint", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("deed_photos", "fingerprint")
