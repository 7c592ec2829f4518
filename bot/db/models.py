"""The database schema as ORM models. Alembic migrations are the only way it reaches a database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class OutboxMessage(Base):
    """A message the bot owes someone, written in the same transaction as the change that causes
    it, and sent by the worker (`bot/worker.py`): a crash between the two loses nothing.

    `kind` names how the worker turns `payload` into Bot API calls. Pending rows are the ones with
    neither `sent_at` nor `failed`; `not_before` holds a retry back (429, network trouble).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "chat_id", "id", postgresql_where=text("sent_at IS NULL AND failed IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed: Mapped[str | None] = mapped_column(Text)


class Timer(Base):
    """Something to do at a time (remind operators of an untaken ticket, escalate it…), fired by the
    worker (`bot/worker.py`) in the transaction that marks it done: once, even with several bot
    processes, and still after a restart. `key` lets the cause cancel or move its own timer."""

    __tablename__ = "timers"
    __table_args__ = (
        Index("ix_timers_due", "due_at", postgresql_where=text("done_at IS NULL")),
        Index("ux_timers_pending_key", "kind", "key", unique=True, postgresql_where=text("done_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSONB)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


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
