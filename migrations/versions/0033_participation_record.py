"""a participant's record across marathons, and certificates anyone can verify (issue 20)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07

`participation_years`: approved deeds and amounts per participant, year and kind, changed in the
transaction of each review like `deed_totals`. It is the participant's record: it outlives the
retention of a finished marathon's deeds (which forgets whose they were) and goes with /forget (the
participant's row cascades). Backfilled from the approved deeds still linked to a participant.

`certificates`: a participation certificate per participant and year, and a winner's per
nomination; a code anyone can check. Whom it names (the shown name and region) and the nomination's
names are kept as issued: a participant who changes their shown name gets a new certificate, and the
old one reads as withdrawn. What it certifies is read when checked (a deed rejected later changes
it). /forget withdraws it:
the row stays with no participant, so the code says "withdrawn" rather than "unknown".
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "participation_years",
        sa.Column("participant_id", sa.BigInteger(), sa.ForeignKey("participants.telegram_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("year", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("deeds", sa.Integer(), server_default="0", nullable=False),
        sa.Column("amount", sa.Numeric(16, 2), server_default="0", nullable=False),
    )
    op.execute(
        """
        INSERT INTO participation_years (participant_id, year, kind, deeds, amount)
        SELECT participant_id, EXTRACT(year FROM deed_date)::smallint, kind, count(*), sum(amount)
        FROM deeds WHERE state = 'approved' AND participant_id IS NOT NULL
        GROUP BY 1, 2, 3
        """
    )
    op.create_table(
        "certificates",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("participant_id", sa.BigInteger(), sa.ForeignKey("participants.telegram_id", ondelete="SET NULL"), nullable=True),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("nomination", sa.String(32), nullable=True),
        sa.Column("nomination_name", JSONB(), nullable=True),
        sa.Column("shown_name", sa.Text(), nullable=True),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("issued_by", sa.BigInteger(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("(nomination IS NULL) = (nomination_name IS NULL)", name="certificates_nomination_named"),
    )
    op.create_index(
        "ix_certificates_one_each", "certificates", ["participant_id", "year", sa.text("coalesce(nomination, '')")],
        unique=True, postgresql_where=sa.text("withdrawn_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_certificates_one_each", table_name="certificates")
    op.drop_table("certificates")
    op.drop_table("participation_years")
