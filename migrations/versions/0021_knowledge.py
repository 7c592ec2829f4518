"""knowledge base in the database: topics (seeded from bot/content/faq/ on the first start), the
history of their changes, the questions it did not settle (masked), its daily counts

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "knowledge_topics",
        sa.Column("id", sa.String(10), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content", postgresql.JSONB(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "knowledge_revisions",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("actor_id", sa.BigInteger()),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("topic_id", sa.String(10), nullable=False),
        sa.Column("question_id", sa.String(10)),
        sa.Column("change", sa.String(32), nullable=False),
        sa.Column("language", sa.String(2)),
        sa.Column("before", postgresql.JSONB()),
        sa.Column("after", postgresql.JSONB()),
        sa.Column("undoes", sa.BigInteger()),
        sa.Column("undone_by", sa.BigInteger()),
    )
    op.create_index("ix_knowledge_revisions_topic", "knowledge_revisions", ["topic_id", "id"])
    op.create_table(
        "knowledge_gaps",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.String(300), nullable=False),
        sa.Column("words", sa.String(300), nullable=False),
        sa.Column("topic", sa.String(10)),
        sa.Column("question", sa.String(10)),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_by", sa.BigInteger()),
    )
    op.create_index("ix_knowledge_gaps_open", "knowledge_gaps", ["words"], postgresql_where=sa.text("resolved_at IS NULL"))
    op.create_index("ix_knowledge_gaps_at", "knowledge_gaps", ["at"])
    op.create_table(
        "knowledge_days",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("language", sa.String(2), primary_key=True),
        sa.Column("topic", sa.String(10), primary_key=True),
        sa.Column("shard", sa.SmallInteger(), primary_key=True),
        sa.Column("answered", sa.Integer(), server_default="0", nullable=False),
        sa.Column("unanswered", sa.Integer(), server_default="0", nullable=False),
        sa.Column("to_operator", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_table("knowledge_days")
    op.drop_table("knowledge_gaps")
    op.drop_table("knowledge_revisions")
    op.drop_table("knowledge_topics")
