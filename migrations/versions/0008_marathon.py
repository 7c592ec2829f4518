"""the Marathon of Good Deeds: participants, deeds with photos, running totals

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The marathon's dates and daily limit as coordinators set them (one row; none: the data file's).
    op.create_table(
        "marathon_settings",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("daily_limit", sa.SmallInteger(), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("id = 1", name="marathon_settings_one_row"),
        sa.CheckConstraint("starts_on <= ends_on", name="marathon_settings_dates_in_order"),
        sa.CheckConstraint("daily_limit > 0", name="marathon_settings_daily_limit_positive"),
    )
    op.create_table(
        "participants",
        sa.Column("telegram_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("approved_deeds", sa.Integer(), server_default="0", nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("telegram_id"),
        sa.CheckConstraint("kind IN ('person', 'organisation', 'group')", name="participants_kind_known"),
    )
    op.create_index("ix_participants_leaderboard", "participants", [sa.text("approved_deeds DESC"), "telegram_id"])
    op.create_index("ix_participants_region_leaderboard", "participants", ["region", sa.text("approved_deeds DESC"), "telegram_id"])
    op.create_table(
        "deeds",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("deed_date", sa.Date(), nullable=False),
        sa.Column("locality", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column("reviewer_id", sa.BigInteger(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("claimed_amount", sa.Numeric(12, 2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.telegram_id"], ondelete="CASCADE"),
        sa.CheckConstraint("state IN ('pending', 'approved', 'rejected')", name="deeds_state_known"),
        sa.CheckConstraint("amount > 0", name="deeds_amount_positive"),
    )
    op.create_index("ix_deeds_participant", "deeds", ["participant_id", "id"])
    op.create_index("ix_deeds_pending", "deeds", ["region", "id"], postgresql_where=sa.text("state = 'pending'"))
    op.create_table(
        "deed_photos",
        sa.Column("deed_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("file_id", sa.Text(), nullable=False),
        sa.Column("file_unique_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("deed_id", "position"),
        sa.ForeignKeyConstraint(["deed_id"], ["deeds.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("file_unique_id", name="deed_photos_used_once"),
    )
    # Approved totals per region and kind, kept in the transaction of each review, so results are
    # read from 20 × 7 rows however many deeds there are.
    op.create_table(
        "deed_totals",
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(16, 2), server_default="0", nullable=False),
        sa.Column("deeds", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("region", "kind"),
    )


def downgrade() -> None:
    op.drop_table("deed_totals")
    op.drop_table("deed_photos")
    op.drop_table("deeds")
    op.drop_table("participants")
    op.drop_table("marathon_settings")
