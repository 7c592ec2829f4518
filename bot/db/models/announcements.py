"""Announcements and their recipients."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models.base import Base


class Announcement(Base):
    """A coordinator's message to many people, sent in the background at a steady rate
    (`bot/jobs/announcements.py`). `versions` maps a language (or `all`) to {html, photo};
    `audience` is what the coordinator chose ({kind, value}); the counters follow the recipients'
    states so the progress message needs no count over thousands of rows."""

    __tablename__ = "announcements"
    __table_args__ = (
        CheckConstraint("state IN ('running', 'paused', 'cancelled', 'done')", name="announcements_state_known"),
        Index("ix_announcements_running", "id", postgresql_where=text("state = 'running'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_by: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(2))  # the coordinator's: the progress message's
    audience: Mapped[dict] = mapped_column(JSONB)
    versions: Mapped[dict] = mapped_column(JSONB)
    state: Mapped[str] = mapped_column(String(12), server_default="running")
    total: Mapped[int] = mapped_column(Integer, server_default="0")
    sent: Mapped[int] = mapped_column(Integer, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, server_default="0")  # not delivered, `unconfirmed` included
    blocked: Mapped[int] = mapped_column(Integer, server_default="0")
    # Sends whose answer was lost (the connection broke): maybe delivered, never sent again.
    unconfirmed: Mapped[int] = mapped_column(Integer, server_default="0")
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # A digest of the text and buttons the progress message shows (None: not known): several
    # processes and the coordinators' buttons edit it, and an edit to what it already says is refused.
    progress_shown: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Whether its recipients are written: by the announcer, as the sending starts, not in the
    # coordinator's Send press (`total` is the audience counted then until they are).
    recipients_written: Mapped[bool] = mapped_column(Boolean, server_default=true())


class AnnouncementRecipient(Base):
    """One person an announcement goes to, in their language. `sending` while a send is in flight;
    one left so by a process that died becomes `unconfirmed` and is not sent again, because
    Telegram may already have delivered it and nobody must receive an announcement twice."""

    __tablename__ = "announcement_recipients"
    __table_args__ = (
        CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'unconfirmed')",
            name="announcement_recipients_state_known",
        ),
        Index(
            "ix_announcement_recipients_pending", "announcement_id", "telegram_id",
            postgresql_where=text("state IN ('pending', 'sending')"),
        ),
    )

    announcement_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True
    )
    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(2))
    state: Mapped[str] = mapped_column(String(12), server_default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
