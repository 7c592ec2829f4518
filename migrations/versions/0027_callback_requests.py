"""requests of kind 'callback': a citizen asks to be called back at a time they choose

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("tickets_kind_known", "tickets", type_="check")
    op.create_check_constraint("tickets_kind_known", "tickets", "kind IN ('question', 'help', 'callback')")


def downgrade() -> None:
    # A call-back request becomes a question: it keeps its phone, window and conversation.
    op.execute("UPDATE tickets SET kind = 'question', category = 'question' WHERE kind = 'callback'")
    op.drop_constraint("tickets_kind_known", "tickets", type_="check")
    op.create_check_constraint("tickets_kind_known", "tickets", "kind IN ('question', 'help')")
