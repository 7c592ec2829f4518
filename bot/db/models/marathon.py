"""The Marathon of Good Deeds: its settings, participants, deeds and their photos, running totals,
nominations and winners."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models.base import Base


class MarathonSettings(Base):
    """The marathon's dates and daily limit as coordinators set them; without this row, those of
    `bot/content/marathon.toml`."""

    __tablename__ = "marathon_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="marathon_settings_one_row"),
        CheckConstraint("starts_on <= ends_on", name="marathon_settings_dates_in_order"),
        CheckConstraint("daily_limit > 0", name="marathon_settings_daily_limit_positive"),
    )

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    daily_limit: Mapped[int] = mapped_column(SmallInteger)
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Participant(Base):
    """Someone taking part in the marathon: a person, an organisation or an initiative group.
    No display name: "anonymous" on public lists. `approved_deeds` is kept with each review, so
    leaderboards are an index scan."""

    __tablename__ = "participants"
    __table_args__ = (
        CheckConstraint("kind IN ('person', 'organisation', 'group')", name="participants_kind_known"),
        Index("ix_participants_leaderboard", text("approved_deeds DESC"), "telegram_id"),
        Index("ix_participants_region_leaderboard", "region", text("approved_deeds DESC"), "telegram_id"),
    )

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str] = mapped_column(String(32))
    approved_deeds: Mapped[int] = mapped_column(Integer, server_default="0")
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Deed(Base):
    """A good deed a participant logged, reviewed by their region's front-office. `claimed_amount`
    keeps what they wrote when a reviewer corrected the amount."""

    __tablename__ = "deeds"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'approved', 'rejected')", name="deeds_state_known"),
        CheckConstraint("amount > 0", name="deeds_amount_positive"),
        Index("ix_deeds_participant", "participant_id", "id"),
        Index("ix_deeds_pending", "region", "id", postgresql_where=text("state = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # None once the participant erased their data: the deed still counts, anonymously.
    participant_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("participants.telegram_id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    deed_date: Mapped[date] = mapped_column(Date)
    locality: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    region: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(8), server_default="pending")
    reviewer_id: Mapped[int | None] = mapped_column(BigInteger)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    claimed_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DeedPhoto(Base):
    """A photo proving a deed. A photo (Telegram's `file_unique_id`, or one whose fingerprint is
    that near) proves one deed only."""

    __tablename__ = "deed_photos"
    __table_args__ = (
        UniqueConstraint("file_unique_id", name="deed_photos_used_once"),
        # The fingerprint's five parts (`marathon.deeds.FINGERPRINT_PARTS`): the same photo shares one.
        *(Index(f"ix_deed_photos_fingerprint_part{n}", text(expression), postgresql_where=text("fingerprint IS NOT NULL"))
          for n, expression in enumerate(("(fingerprint >> 51) & 8191", "(fingerprint >> 38) & 8191", "(fingerprint >> 25) & 8191",
                                          "(fingerprint >> 12) & 8191", "fingerprint & 4095"))),
    )

    deed_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("deeds.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    file_id: Mapped[str] = mapped_column(Text)
    file_unique_id: Mapped[str] = mapped_column(Text)
    # Its perceptual hash (bot/services/marathon/photo_match.py): the same photo sent again, re-saved
    # or screenshotted, has a new file_unique_id but (nearly) this. None: logged before it was kept.
    fingerprint: Mapped[int | None] = mapped_column(BigInteger)
    # Sent as a file (the original, EXIF kept), shown to the reviewer as one; the day its EXIF says
    # it was taken, flagged when before the deed's date.
    as_file: Mapped[bool] = mapped_column(Boolean, server_default=false())
    taken_on: Mapped[date | None] = mapped_column(Date)


class DeedTotal(Base):
    """Approved amounts and deeds per region and kind, changed in the transaction of each review."""

    __tablename__ = "deed_totals"

    region: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2), server_default="0")
    deeds: Mapped[int] = mapped_column(Integer, server_default="0")


class Nomination(Base):
    """A nomination of the marathon's awards (ten, as in 2024), named in kk, ru and en."""

    __tablename__ = "nominations"

    slug: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Nominee(Base):
    """A participant shortlisted for a nomination; `winner` once the coordinators choose them."""

    __tablename__ = "nominees"

    nomination: Mapped[str] = mapped_column(String(32), ForeignKey("nominations.slug", ondelete="CASCADE"), primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("participants.telegram_id", ondelete="CASCADE"), primary_key=True
    )
    winner: Mapped[bool] = mapped_column(Boolean, server_default=false())
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WinnersAnnouncement(Base):
    """When the winners were announced to every participant, and to how many: once is enough."""

    __tablename__ = "winners_announcements"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    announced_by: Mapped[int | None] = mapped_column(BigInteger)
    recipients: Mapped[int] = mapped_column(Integer)
    announced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DeedKindLimit(Base):
    """What coordinators changed about a kind of deed: the largest amount of one deed (None: the
    `max` of `bot/content/marathon.toml`), and whether it is still offered to participants."""

    __tablename__ = "deed_kind_limits"
    __table_args__ = (CheckConstraint("max_amount > 0", name="deed_kind_limits_positive"),)

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    max_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    offered: Mapped[bool] = mapped_column(Boolean, server_default=true())
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ParticipationYear(Base):
    """A participant's approved deeds and amount of one kind in one year: their record across
    marathons, changed in the transaction of each review. It outlives the deeds' retention (which
    forgets whose they were) and goes with the participant (/forget)."""

    __tablename__ = "participation_years"

    participant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("participants.telegram_id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    deeds: Mapped[int] = mapped_column(Integer, server_default="0")
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2), server_default="0")


class Certificate(Base):
    """A certificate anyone can check by its code: of participation in a year (`nomination` None)
    or of a nomination won. What it certifies is read when checked; the nomination's names are kept
    as issued. Withdrawn (/forget): no participant, `withdrawn_at` set."""

    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint("(nomination IS NULL) = (nomination_name IS NULL)", name="certificates_nomination_named"),
        Index(
            "ix_certificates_one_each", "participant_id", "year", text("coalesce(nomination, '')"),
            unique=True, postgresql_where=text("withdrawn_at IS NULL"),
        ),
    )

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    participant_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("participants.telegram_id", ondelete="SET NULL")
    )
    year: Mapped[int] = mapped_column(SmallInteger)
    nomination: Mapped[str | None] = mapped_column(String(32))
    nomination_name: Mapped[dict | None] = mapped_column(JSONB)
    # Whom it names, as issued (None: anonymous): changing one's shown name issues a new certificate.
    shown_name: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str] = mapped_column(String(32))
    issued_by: Mapped[int | None] = mapped_column(BigInteger)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Withdrawn by the coordinators (issued in error), not replaced: never issued again.
    revoked: Mapped[bool] = mapped_column(Boolean, server_default=false())
