"""intake: every update stored before Telegram is told it arrived, and the calls made handling it;
each process's sends a second

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake",
        sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text()),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True)),
        sa.Column("failed", sa.Text()),
    )
    op.create_index("ix_intake_due", "intake", ["update_id"], postgresql_where=sa.text("handled_at IS NULL"))
    op.create_index(
        "ix_intake_waiting", "intake", ["person_id", "update_id"], postgresql_where=sa.text("handled_at IS NULL")
    )
    op.create_index("ix_intake_handled", "intake", ["handled_at"], postgresql_where=sa.text("handled_at IS NOT NULL"))
    op.create_table(
        "intake_calls",
        sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


    op.create_table(
        "send_rates",
        sa.Column("process", sa.String(100), primary_key=True),
        sa.Column("per_second", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("send_rates")
    op.drop_table("intake_calls")
    op.drop_table("intake")
