"""office_details: a front-office's phone, e-mail, link, address, map location and own service
hours, kept by coordinators in the bot over the data file's seed

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "office_details",
        sa.Column("office", sa.String(32), primary_key=True),
        sa.Column("phone", sa.String(32)),
        sa.Column("email", sa.String(254)),
        sa.Column("link", sa.String(300)),
        sa.Column("address", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("latitude", sa.Float()),
        sa.Column("longitude", sa.Float()),
        sa.Column("days", postgresql.ARRAY(sa.SmallInteger())),
        sa.Column("opens", sa.Time()),
        sa.Column("closes", sa.Time()),
        sa.Column("updated_by", sa.BigInteger()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("office_details")
