"""/find by phone also finds a number said or shared in a request's conversation: trigrams of each
message's digits (its text's and its shared contact's), however the number was typed

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07

Before, a phone found only the requests whose form or call back held it: a citizen who wrote their
number to an operator, or shared their contact in the conversation, was not found by it. The
expression is `bot.db.models.tickets.CONVERSATION_DIGITS`, copied (a migration is a snapshot).
"""

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

DIGITS = (
    "regexp_replace((COALESCE(text, ''::text) || ' '::text) || COALESCE(extra ->> 'phone_number'::text, ''::text), "
    "'[^0-9]'::text, ''::text, 'g'::text)"
)


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_ticket_messages_digits_trgm ON ticket_messages USING gin (({DIGITS}) gin_trgm_ops)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_ticket_messages_digits_trgm")
