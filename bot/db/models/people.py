"""People: citizens' settings and their FSM state, operators and their invites, blocks, and the
audit log of what staff did with personal data."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    SmallInteger,
    String,
    Text,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models.base import Base


class User(Base):
    """A person who agreed to the processing of their data. Nothing is stored before consent.

    Only what the bot needs to serve the person: no names, usernames or phone numbers here.
    """

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("language IN ('kk', 'ru', 'en')", name="users_language_known"),)

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(32), index=True)
    consent_version: Mapped[int] = mapped_column(SmallInteger)
    consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Announcements (the marathon's winners, coordinators' news) are sent only to those who want them.
    announcements: Mapped[bool] = mapped_column(Boolean, server_default=true())
    # Set when Telegram answered 403 (they blocked the bot); cleared when they write again.
    # Announcements skip them meanwhile.
    unreachable_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The day they last wrote to the bot (the database's date), set by the first update of each
    # day: after RETENTION_DAYS of silence the retention job erases them as /forget does.
    last_active_on: Mapped[date] = mapped_column(Date, server_default=text("CURRENT_DATE"))
    # Flood control (`bot/services/abuse.py`): until when the person has been told to slow down,
    # or that their repeats are not passed on; each is said once in its window, not per message.
    slowed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    repeat_told_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    @property
    def is_onboarded(self) -> bool:
        return self.region is not None


class FsmState(Base):
    """aiogram FSM state and data of one conversation key, so a restart resumes a choice."""

    __tablename__ = "fsm_states"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    state: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Operator(Base):
    """A person of a front-office who answers escalated requests, or a coordinator.

    `office` is a slug of `bot/content/front_offices.toml` (a region, or `national`); the list lives
    in that data file, so the service checks it rather than a constraint. A removed operator stays,
    inactive, because the tickets they answered keep pointing at them.
    """

    __tablename__ = "operators"
    __table_args__ = (
        CheckConstraint("role IN ('operator', 'coordinator')", name="operators_role_known"),
        CheckConstraint("length(name) BETWEEN 1 AND 64", name="operators_name_length"),
    )

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(Text)
    office: Mapped[str] = mapped_column(String(32), index=True)
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    on_duty: Mapped[bool] = mapped_column(Boolean, server_default=true())
    # The language of the operator's cards when they have no citizen record of their own.
    language: Mapped[str] = mapped_column(String(2), server_default="kk")
    # The ticket their plain messages go to (the one they took or opened last).
    current_ticket: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class OperatorInvite(Base):
    """A one-time link a coordinator makes for a new operator (`/start op_<token>`). Only the
    token's SHA-256 is stored: the link itself exists only in the coordinator's chat."""

    __tablename__ = "operator_invites"
    __table_args__ = (CheckConstraint("role IN ('operator', 'coordinator')", name="operator_invites_role_known"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    office: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_by: Mapped[int | None] = mapped_column(BigInteger)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Block(Base):
    """A person whose messages the front-offices no longer receive, blocked by a coordinator through
    one of their requests (`ticket_id`, so `/unblock N` still finds them after their data was
    erased). Kept until unblocked; /forget drops the reason but keeps the id, so erasing one's data
    is no way around a block."""

    __tablename__ = "blocks"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    reason: Mapped[str | None] = mapped_column(Text)
    blocked_by: Mapped[int] = mapped_column(BigInteger)
    blocked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ticket_id: Mapped[int | None] = mapped_column(BigInteger)


class AuditEntry(Base):
    """Who did what to someone's personal data, and when: an export with personal data, an
    erasure. `actor` names them for people reading the log (a coordinator's id, "command line",
    "retention"); `subject` says what it concerned (a ticket's number), never the person's data."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
