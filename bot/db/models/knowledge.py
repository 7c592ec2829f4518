"""The knowledge base coordinators keep in the bot: its topics (each with its questions and answers,
as one document) and the history of every change, from which a change can be undone; the questions
it did not settle, and its daily counts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, SmallInteger, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models.base import Base


class KnowledgeTopic(Base):
    """A topic in its plain form (`bot/services/knowledge/model.py`, `plain`): its titles and its
    questions with their answers and ways of asking. A topic is small (a few questions) and always
    read and changed whole; `position` orders the topics list."""

    __tablename__ = "knowledge_topics"

    id: Mapped[str] = mapped_column(String(10), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class KnowledgeRevision(Base):
    """One change of one topic: the topic before and after (with its position; NULL where it did
    not exist), who made it, and what it was (`change`: the field, the question, the language).
    Undoing a change writes a new revision (`undoes`) and marks the undone one (`undone_by`)."""

    __tablename__ = "knowledge_revisions"
    __table_args__ = (Index("ix_knowledge_revisions_topic", "topic_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(Text)
    topic_id: Mapped[str] = mapped_column(String(10))
    question_id: Mapped[str | None] = mapped_column(String(10))
    change: Mapped[str] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(2))
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    undoes: Mapped[int | None] = mapped_column(BigInteger)
    undone_by: Mapped[int | None] = mapped_column(BigInteger)


class KnowledgeGap(Base):
    """A question the knowledge base did not settle (`kind`: the search found nothing, or the person
    asked an operator after the answer `topic`/`question`), masked of personal data (`text`), with its
    words' stems (`words`) to group alike ones. Deleted RETENTION_DAYS after `at`."""

    __tablename__ = "knowledge_gaps"
    __table_args__ = (
        Index("ix_knowledge_gaps_open", "words", postgresql_where=text("resolved_at IS NULL")),
        Index("ix_knowledge_gaps_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    language: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(300))
    words: Mapped[str] = mapped_column(String(300))
    topic: Mapped[str | None] = mapped_column(String(10))
    question: Mapped[str | None] = mapped_column(String(10))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[int | None] = mapped_column(BigInteger)


class KnowledgeDay(Base):
    """A day's counts of typed questions, per language and topic ('' when none was found): answered
    by the base, not answered, and taken on to an operator after the answer. A few rows (`shard`)
    per key, so that concurrent questions do not queue on one row's lock."""

    __tablename__ = "knowledge_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    language: Mapped[str] = mapped_column(String(2), primary_key=True)
    topic: Mapped[str] = mapped_column(String(10), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    answered: Mapped[int] = mapped_column(Integer, server_default="0")
    unanswered: Mapped[int] = mapped_column(Integer, server_default="0")
    to_operator: Mapped[int] = mapped_column(Integer, server_default="0")
