"""the marathon's nominations, their shortlists and winners, and the announcement of the winners

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nominations",
        sa.Column("slug", sa.String(length=32), nullable=False),
        sa.Column("name", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("slug"),
    )
    op.create_table(
        "nominees",
        sa.Column("nomination", sa.String(length=32), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column("winner", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("nomination", "participant_id"),
        sa.ForeignKeyConstraint(["nomination"], ["nominations.slug"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.telegram_id"], ondelete="CASCADE"),
    )
    op.create_table(
        "winners_announcements",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("announced_by", sa.BigInteger(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("winners_announcements")
    op.drop_table("nominees")
    op.drop_table("nominations")
