"""Requests to a person: tickets, their messages, and the links between a ticket's messages in
citizens' and operators' chats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    false,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.schema import UniqueConstraint

from bot.db.models.base import Base


class Ticket(Base):
    """A request escalated to a front-office: a free question or a request for volunteers' help.

    Its number is its id. `office` is where it is now (the citizen's region, or `national` after
    a transfer or T2); `region` stays the citizen's. `status`: new (nobody took it yet), taken
    (`operator_id` answers it), closed. A person has at most one open ticket, so what they write
    has one place to go.
    """

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint("kind IN ('question', 'help', 'callback')", name="tickets_kind_known"),
        CheckConstraint("status IN ('new', 'taken', 'closed')", name="tickets_status_known"),
        CheckConstraint("status <> 'taken' OR operator_id IS NOT NULL", name="tickets_taken_has_operator"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="tickets_rating_range"),
        Index("ux_tickets_open_per_citizen", "citizen_id", unique=True, postgresql_where=text("status <> 'closed'")),
        Index("ix_tickets_citizen", "citizen_id", "id"),
        Index("ix_tickets_open_office", "office", "id", postgresql_where=text("status <> 'closed'")),
        Index("ix_tickets_operator", "operator_id", "id", postgresql_where=text("status = 'taken'")),
        Index("ix_tickets_retention", "closed_at", postgresql_where=text("status = 'closed' AND erased_at IS NULL")),
        Index("ix_tickets_phone", "phone", postgresql_where=text("phone IS NOT NULL")),  # /find by phone
        # /stats: a time bucket's requests in the order of that time, for the exact medians (0029).
        Index("ix_tickets_answer_bucket", text("stats_time_bucket(date_part('epoch', first_answer_at - created_at))"),
              text("date_part('epoch', first_answer_at - created_at)"), postgresql_include=["created_at", "region", "first_answer_at"],
              postgresql_where=text("first_answer_at IS NOT NULL")),
        Index("ix_tickets_close_bucket", text("stats_time_bucket(date_part('epoch', closed_at - created_at))"),
              text("date_part('epoch', closed_at - created_at)"), postgresql_include=["created_at", "region", "closed_at"],
              postgresql_where=text("closed_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    citizen_id: Mapped[int | None] = mapped_column(BigInteger)  # None once their data is erased
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(32))
    office: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(8), server_default="new")
    operator_id: Mapped[int | None] = mapped_column(BigInteger)
    phone: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_answer_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(8))
    resolution: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    citizen_unreachable: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # When its personal data was erased (/forget, or the retention period passed): what stays is
    # anonymous (region, category, times, rating), so statistics stay true.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The digits of a message and of a contact it shares: a phone typed in any form (8 (701) 555-12-34,
# +7 701 5551234…) holds the number's ten national digits in a row, which /find looks for.
# Written as PostgreSQL shows it back, so that the migrations and the models compare equal.
CONVERSATION_DIGITS = (
    "regexp_replace((COALESCE(text, ''::text) || ' '::text) || COALESCE(extra ->> 'phone_number'::text, ''::text), "
    "'[^0-9]'::text, ''::text, 'g'::text)"
)


class TicketMessage(Base):
    """One message of a ticket's conversation: the citizen's, an operator's, the bot's record of an
    event (`system`: transferred, handed back…), or a staff member's internal note (`note`: seen by
    staff only, never relayed to the citizen). Media are kept as Telegram file ids, which the bot
    can send again."""

    __tablename__ = "ticket_messages"
    __table_args__ = (
        CheckConstraint("author IN ('citizen', 'operator', 'system', 'note')", name="ticket_messages_author_known"),
        Index("ix_ticket_messages_ticket", "ticket_id", "id"),
        # /find by words: ILIKE '%word%' through trigrams (pg_trgm).
        Index("ix_ticket_messages_text_trgm", "text", postgresql_using="gin", postgresql_ops={"text": "gin_trgm_ops"}),
        # /find by phone: the number said or shared in the conversation, however typed (0031).
        Index("ix_ticket_messages_digits_trgm", literal_column(CONVERSATION_DIGITS).label("digits"),
              postgresql_using="gin", postgresql_ops={"digits": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(8))
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    file_id: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TicketLink(Base):
    """A bot message in someone's chat that belongs to a ticket: an operator's reply to it goes to
    that ticket, and a card (`is_card`) is edited when its ticket changes hands."""

    __tablename__ = "ticket_links"
    __table_args__ = (Index("ix_ticket_links_cards", "ticket_id", "chat_id", postgresql_where=text("is_card")),)

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ticket_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"))
    is_card: Mapped[bool] = mapped_column(Boolean, server_default=false())


class TicketMessageCopy(Base):
    """A message of a request as delivered to the other side (the words of it: a text, or the
    caption of a file): its author's edit changes this copy too."""

    __tablename__ = "ticket_message_copies"
    __table_args__ = (Index("ix_ticket_message_copies_message", "ticket_message_id"),)

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ticket_message_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ticket_messages.id", ondelete="CASCADE"))


class SavedReply(Base):
    """A reply operators insert with a tap: an office's own (`office` a region's slug) or the
    national office's, which every office may use. `texts` holds a version per language code; the
    citizen's language picks the version, and a missing one is said, never swapped."""

    __tablename__ = "saved_replies"
    __table_args__ = (UniqueConstraint("office", "name", name="saved_replies_name_per_office"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    office: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(32))
    texts: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
