"""deed photos sent as files: which they are, and the day the picture says it was taken (issue 20)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07

Telegram strips a photo's EXIF when it is sent as a photo; sent as a file, the picture keeps it. The
deed form takes both; `as_file` says how to show it to the reviewer (a file cannot be sent as a
photo), and `taken_on` keeps the EXIF's day, flagged on the reviewer's card when it is before the
deed's date. Both go with their row (a deed's erasure and the retention job delete the photos).
"""

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deed_photos", sa.Column("as_file", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("deed_photos", sa.Column("taken_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("deed_photos", "taken_on")
    op.drop_column("deed_photos", "as_file")
