"""The database schema as ORM models. Alembic migrations are the only way it reaches a database."""

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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def is_row_id(value: int) -> bool:
    """Whether `value` can be a bigint id at all: a number from a command or forged button data
    past PostgreSQL's bigint would fail the query instead of finding nothing."""
    return 0 < value < 2**63


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


class Ticket(Base):
    """A request escalated to a front-office: a free question or a request for volunteers' help.

    Its number is its id. `office` is where it is now (the citizen's region, or `national` after
    a transfer or T2); `region` stays the citizen's. `status`: new (nobody took it yet), taken
    (`operator_id` answers it), closed. A person has at most one open ticket, so what they write
    has one place to go.
    """

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint("kind IN ('question', 'help')", name="tickets_kind_known"),
        CheckConstraint("status IN ('new', 'taken', 'closed')", name="tickets_status_known"),
        CheckConstraint("status <> 'taken' OR operator_id IS NOT NULL", name="tickets_taken_has_operator"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="tickets_rating_range"),
        Index("ux_tickets_open_per_citizen", "citizen_id", unique=True, postgresql_where=text("status <> 'closed'")),
        Index("ix_tickets_citizen", "citizen_id", "id"),
        Index("ix_tickets_open_office", "office", "id", postgresql_where=text("status <> 'closed'")),
        Index("ix_tickets_operator", "operator_id", "id", postgresql_where=text("status = 'taken'")),
        Index("ix_tickets_retention", "closed_at", postgresql_where=text("status = 'closed' AND erased_at IS NULL")),
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


class TicketMessage(Base):
    """One message of a ticket's conversation: the citizen's, an operator's, or the bot's note
    (taken, transferred, closed). Media are kept as Telegram file ids, which the bot can send again."""

    __tablename__ = "ticket_messages"
    __table_args__ = (
        CheckConstraint("author IN ('citizen', 'operator', 'system')", name="ticket_messages_author_known"),
        Index("ix_ticket_messages_ticket", "ticket_id", "id"),
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
    """A photo proving a deed. A photo (Telegram's `file_unique_id`) proves one deed only."""

    __tablename__ = "deed_photos"
    __table_args__ = (UniqueConstraint("file_unique_id", name="deed_photos_used_once"),)

    deed_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("deeds.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    file_id: Mapped[str] = mapped_column(Text)
    file_unique_id: Mapped[str] = mapped_column(Text)


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


class SendRate(Base):
    """How many messages each running process sent to Telegram in the last second, published a few
    times a second (`bot/jobs/send_rates.py`), so that announcements leave room under Telegram's
    limit for the answers of every process, not only their own. Unlogged: worthless after a crash."""

    __tablename__ = "send_rates"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    process: Mapped[str] = mapped_column(String(100), primary_key=True)
    per_second: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
