"""The plumbing between Telegram and the flows: stored updates (the intake) and the calls made
while handling them, the outbox of what the bot owes people, timers, and the shared send rate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models.base import Base


class IntakeUpdate(Base):
    """An update from Telegram, stored before Telegram is told it arrived (`bot/services/intake.py`).

    It is handled from here: `handled_at` is set in the transaction of its handling, so an update
    is handled once, and again after a crash only if its handling never committed. A person's
    updates (`person_id`: the user, else the chat) are handled one at a time, oldest first, by all
    processes together. Once handled, `payload` (which holds what the person wrote) and `person_id`
    are cleared; the row stays two days so that Telegram delivering the same update again stores
    nothing."""

    __tablename__ = "intake"
    __table_args__ = (
        # The claim walks waiting updates in order, and asks whether each one's person has an
        # earlier one waiting; handled rows, however many, are in neither index.
        Index("ix_intake_due", "update_id", postgresql_where=text("handled_at IS NULL")),
        Index("ix_intake_waiting", "person_id", "update_id", postgresql_where=text("handled_at IS NULL")),
        Index("ix_intake_handled", "handled_at", postgresql_where=text("handled_at IS NOT NULL")),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    person_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Held back after its handling failed on the database (or something else unexpected) until then.
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed: Mapped[str | None] = mapped_column(Text)


class IntakeCall(Base):
    """A Bot API call made while handling a stored update, with Telegram's answer: if the handling
    never commits (the process is killed, the database goes away), handling the update again
    replays these answers instead of sending the same messages twice."""

    __tablename__ = "intake_calls"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    method: Mapped[str] = mapped_column(String(64))
    response: Mapped[str] = mapped_column(Text)
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OutboxMessage(Base):
    """A message the bot owes someone, written in the same transaction as the change that causes
    it, and sent by the worker (`bot/jobs/outbox.py`): a crash between the two loses nothing.

    `kind` names how the worker turns `payload` into Bot API calls. Pending rows are the ones with
    neither `sent_at` nor `failed`; `not_before` holds a retry back (429, network trouble).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "chat_id", "id", postgresql_where=text("sent_at IS NULL AND failed IS NULL")),
        # The claim walks pending rows in id order; sent ones, however many, are not in its way.
        Index("ix_outbox_due", "id", postgresql_where=text("sent_at IS NULL AND failed IS NULL")),
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
    worker (`bot/jobs/outbox.py`) in the transaction that marks it done: once, even with several bot
    processes, and still after a restart. `key` lets the cause cancel or move its own timer."""

    __tablename__ = "timers"
    __table_args__ = (
        Index("ix_timers_due", "due_at", postgresql_where=text("done_at IS NULL")),
        Index("ux_timers_pending_key", "kind", "key", unique=True, postgresql_where=text("done_at IS NULL")),
        # A request's fired time limits, for the statistics' triggers (migration 0029).
        Index("ix_timers_fired_key", "key", "kind", postgresql_where=text("done_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSONB)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SendRate(Base):
    """How many messages each running process sent to Telegram in the last second, published a few
    times a second (`bot/jobs/send_rates.py`), so that announcements leave room under Telegram's
    limit for the answers of every process, not only their own. Unlogged: worthless after a crash."""

    __tablename__ = "send_rates"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    process: Mapped[str] = mapped_column(String(100), primary_key=True)
    per_second: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
