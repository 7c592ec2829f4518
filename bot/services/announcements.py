"""Coordinators' announcements: who receives one, and how its delivery is recorded. Knows nothing
of Telegram; the sending loop is `bot/jobs/announcements.py`.

An announcement's recipients are written once, when the coordinator confirms it (one
INSERT … SELECT), each with the language they use the bot in. Delivery then only walks that list:
a recipient is claimed (`pending` → `sending`, committed before the send), and after the send
recorded as `sent`, `failed`, `blocked` or `unconfirmed`, or put back to `pending` to try again
(429, a connection never made). So a restart resumes where the list stopped, and a send that may
have reached Telegram is never repeated: an announcement reaches each person at most once. Delivery
that is unknown (the connection broke before Telegram answered, a process died mid-send: see
`recover`) is `unconfirmed`, counted as not delivered (in `failed`) and apart (`unconfirmed`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    and_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SUPPORTED_LANGUAGES
from bot.db.models import Announcement as AnnouncementRow
from bot.db.models import is_row_id
from bot.db.models import AnnouncementRecipient, Participant, User
from bot.db.models import Operator as OperatorRow
from bot.services import access
from bot.services.access import Act
from bot.services.lengths import TELEGRAM_CAPTION, TELEGRAM_TEXT
from bot.services.staff import Operator

ALL = "all"  # the key of the one version for everyone
MAX_TEXT = TELEGRAM_TEXT  # Telegram's limits, in UTF-16 units of the visible text (sent as written)
MAX_CAPTION = TELEGRAM_CAPTION
MAX_NETWORK_ATTEMPTS = 5  # then a recipient whose sends keep failing is given up

_announcements = AnnouncementRow.__table__
_recipients = AnnouncementRecipient.__table__
_users = User.__table__
_participants = Participant.__table__
_operators = OperatorRow.__table__


class AudienceKind(StrEnum):
    EVERYONE = "everyone"
    REGION = "region"
    PARTICIPANTS = "participants"
    OPERATORS = "operators"
    LANGUAGE = "language"


class State(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    UNCONFIRMED = "unconfirmed"  # maybe delivered (its answer was lost): never sent again
    RETRY = "pending"  # not sent yet: tried again later


class AnnouncementError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Audience:
    kind: AudienceKind
    value: str | None = None  # the region's slug, or the language

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "value": self.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        return cls(AudienceKind(data["kind"]), data.get("value"))


@dataclass(frozen=True, slots=True)
class Version:
    """What one language's recipients see: the text in the bot's HTML (the coordinator's own
    formatting kept), and a photo's Telegram file id when there is one (the text is its caption)."""

    html: str
    photo: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"html": self.html, "photo": self.photo}


def version_for(versions: dict[str, Any], language: str) -> Version:
    """The version a person of `language` receives: their language's, else the one for all."""
    data = versions.get(language) or versions[ALL]
    return Version(data["html"], data.get("photo"))


@dataclass(frozen=True, slots=True)
class Announcement:
    id: int
    created_by: int
    language: str
    audience: Audience
    versions: dict[str, Any]
    state: State
    total: int
    sent: int
    failed: int
    blocked: int
    progress_chat_id: int | None
    progress_message_id: int | None
    created_at: datetime
    unconfirmed: int = 0  # of `failed`: delivery unknown

    @property
    def done_count(self) -> int:
        return self.sent + self.failed + self.blocked

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done_count)

    @property
    def finished(self) -> bool:
        return self.state in (State.CANCELLED, State.DONE)

    @classmethod
    def from_row(cls, row: Any) -> Announcement:
        return cls(
            row["id"], row["created_by"], row["language"], Audience.from_json(row["audience"]), row["versions"],
            State(row["state"]), row["total"], row["sent"], row["failed"], row["blocked"],
            row["progress_chat_id"], row["progress_message_id"], row["created_at"], row["unconfirmed"],
        )


def validate_versions(versions: dict[str, Version]) -> None:
    if not versions or not (set(versions) == {ALL} or set(versions) == set(SUPPORTED_LANGUAGES)):
        raise AnnouncementError("an announcement has one version for all, or one per language")


def audience_of(audience: Audience) -> Select:
    """(telegram_id, language) of everyone the audience holds who wants announcements and whom
    the bot can reach."""
    wants = and_(_users.c.announcements, _users.c.unreachable_since.is_(None))
    if audience.kind is AudienceKind.OPERATORS:
        # Operators without a citizen record of their own get their operator record's language.
        return (
            select(_operators.c.telegram_id, func.coalesce(_users.c.language, _operators.c.language).label("language"))
            .select_from(_operators.outerjoin(_users, _users.c.telegram_id == _operators.c.telegram_id))
            .where(_operators.c.active, or_(_users.c.telegram_id.is_(None), wants))
        )
    people = select(_users.c.telegram_id, _users.c.language).where(wants, _users.c.region.is_not(None))
    if audience.kind is AudienceKind.REGION:
        return people.where(_users.c.region == audience.value)
    if audience.kind is AudienceKind.LANGUAGE:
        return people.where(_users.c.language == audience.value)
    if audience.kind is AudienceKind.PARTICIPANTS:
        return people.where(_users.c.telegram_id.in_(select(_participants.c.telegram_id)))
    return people


async def count_by_language(session: AsyncSession, audience: Audience) -> dict[str, int]:
    """How many the audience holds now, per language."""
    people = audience_of(audience).subquery()
    rows = await session.execute(select(people.c.language, func.count()).group_by(people.c.language))
    return {language: number for language, number in rows.all()}


_COLUMNS = tuple(_announcements.c)


def offices_of(audience: Audience) -> tuple[str, ...]:
    """The offices an audience belongs to, for the permission table: a region's residents belong
    to that region's front-office; every other audience to the national office alone."""
    return (audience.value,) if audience.kind is AudienceKind.REGION and audience.value else ()


async def may_address(session: AsyncSession, by: Operator, audience: Audience) -> Operator:
    """`by`, checked now, if they may address `audience` (access.Denied otherwise): a national
    coordinator anyone, a regional one their region's residents only."""
    return await access.require(session, by, Act.ANNOUNCE, offices_of(audience))


async def create(
    session: AsyncSession, *, created_by: int, language: str, audience: Audience, versions: dict[str, Version],
    by: Operator | None = None,
) -> Announcement:
    """The announcement and its recipients as they are now, running from the caller's commit. `by`
    is the coordinator sending it from the bot, checked against the audience (see may_address)."""
    if by is not None:
        await may_address(session, by, audience)
    validate_versions(versions)
    row = (
        await session.execute(
            insert(_announcements)
            .values(
                created_by=created_by, language=language, audience=audience.to_json(),
                versions={key: version.to_json() for key, version in versions.items()},
            )
            .returning(*_COLUMNS)
        )
    ).mappings().one()
    recipients = audience_of(audience).subquery()
    added = await session.execute(
        insert(_recipients).from_select(
            ["announcement_id", "telegram_id", "language"],
            select(literal(row["id"], BigInteger), recipients.c.telegram_id, recipients.c.language),
        )
    )
    total = added.rowcount
    row = (
        await session.execute(
            update(_announcements).where(_announcements.c.id == row["id"])
            .values(total=total, state=State.RUNNING if total else State.DONE,
                    finished_at=None if total else func.now())
            .returning(*_COLUMNS)
        )
    ).mappings().one()
    return Announcement.from_row(row)


async def get(session: AsyncSession, announcement_id: int, *, lock: bool = False) -> Announcement | None:
    if not is_row_id(announcement_id):  # forged button data past bigint finds nothing
        return None
    statement = select(*_COLUMNS).where(_announcements.c.id == announcement_id)
    if lock:
        statement = statement.with_for_update()
    row = (await session.execute(statement)).mappings().first()
    return Announcement.from_row(row) if row else None


def progress_digest(text: str, keyboard: Any) -> str:
    """What identifies the progress message's content: its text and buttons (as Telegram compares
    them to refuse an edit that changes nothing)."""
    markup = keyboard.model_dump_json(exclude_none=True) if keyboard is not None else ""
    return hashlib.blake2b(f"{text}\0{markup}".encode(), digest_size=16).hexdigest()


async def claim_progress_edit(session: AsyncSession, announcement_id: int, digest: str) -> bool:
    """Whether the progress message is to be edited to the content `digest` names: not if it shows
    that already. Noted as shown at once (the row stays locked until the caller's transaction ends),
    so that another process does not make the same edit; `forget_progress_shown` if the edit fails."""
    claimed = await session.execute(
        update(_announcements)
        .where(_announcements.c.id == announcement_id, _announcements.c.progress_shown.is_distinct_from(digest))
        .values(progress_shown=digest)
        .returning(_announcements.c.id)
    )
    return claimed.first() is not None


async def forget_progress_shown(session: AsyncSession, announcement_id: int, digest: str) -> None:
    """The edit to `digest` did not happen: let the next one try it again."""
    await session.execute(
        update(_announcements)
        .where(_announcements.c.id == announcement_id, _announcements.c.progress_shown == digest)
        .values(progress_shown=None)
    )


async def set_progress_message(
    session: AsyncSession, announcement_id: int, chat_id: int, message_id: int, language: str | None = None,
    shown: str | None = None,
) -> None:
    """The message the sending loop keeps up to date (and in which language): the creator's, or
    that of a coordinator who asked for it later (/announcements); `shown`: its content's digest."""
    values: dict[str, Any] = {"progress_chat_id": chat_id, "progress_message_id": message_id, "progress_shown": shown}
    if language is not None:
        values["language"] = language
    await session.execute(update(_announcements).where(_announcements.c.id == announcement_id).values(**values))


async def recent(session: AsyncSession, limit: int = 5, by: Operator | None = None) -> list[Announcement]:
    """The newest announcements, newest first: all, or for a regional coordinator (`by`) those to
    their region's residents."""
    statement = select(*_COLUMNS).order_by(_announcements.c.id.desc()).limit(limit)
    if by is not None:
        checked = await access.require(session, by, Act.CONTROL_ANNOUNCEMENTS)
        if (region := access.own_region(checked, Act.CONTROL_ANNOUNCEMENTS)) is not None:
            statement = statement.where(
                _announcements.c.audience["kind"].astext == AudienceKind.REGION.value,
                _announcements.c.audience["value"].astext == region,
            )
    rows = await session.execute(statement)
    return [Announcement.from_row(row) for row in rows.mappings()]


# Which control applies in which state; anything else is a stale button.
_CONTROLS = {
    "pause": ({State.RUNNING}, State.PAUSED),
    "resume": ({State.PAUSED}, State.RUNNING),
    "cancel": ({State.RUNNING, State.PAUSED}, State.CANCELLED),
}


async def control(
    session: AsyncSession, announcement_id: int, action: str, by: Operator | None = None
) -> Announcement | None:
    """Pause, resume or cancel; None when the announcement is not in a state that allows it. `by`,
    a coordinator in the bot, may control announcements to the audiences they may address."""
    allowed, new_state = _CONTROLS[action]
    if not is_row_id(announcement_id):
        return None
    if by is not None:
        current = await get(session, announcement_id)
        await access.require(session, by, Act.CONTROL_ANNOUNCEMENTS, None if current is None else offices_of(current.audience))
    row = (
        await session.execute(
            update(_announcements)
            .where(_announcements.c.id == announcement_id, _announcements.c.state.in_([s.value for s in allowed]))
            .values(state=new_state, finished_at=func.now() if new_state is State.CANCELLED else None)
            .returning(*_COLUMNS)
        )
    ).mappings().first()
    return Announcement.from_row(row) if row else None


async def next_running(session: AsyncSession) -> Announcement | None:
    """The oldest running announcement: they go out one after another, so together they keep to
    the rate."""
    row = (
        await session.execute(
            select(*_COLUMNS).where(text("state = 'running'")).order_by(_announcements.c.id).limit(1)
        )
    ).mappings().first()
    return Announcement.from_row(row) if row else None


_CLAIM = text(
    """
    UPDATE announcement_recipients AS r SET state = 'sending'
    FROM (
        SELECT telegram_id FROM announcement_recipients
        WHERE announcement_id = :announcement AND state = 'pending'
        ORDER BY telegram_id LIMIT :batch
        FOR UPDATE SKIP LOCKED
    ) AS picked
    WHERE r.announcement_id = :announcement AND r.telegram_id = picked.telegram_id
    RETURNING r.telegram_id, r.language, r.attempts
    """
)


@dataclass(frozen=True, slots=True)
class Recipient:
    telegram_id: int
    language: str
    attempts: int


async def claim(session: AsyncSession, announcement_id: int, batch: int) -> list[Recipient]:
    """The next recipients to send to, marked `sending`; the caller commits before sending."""
    rows = await session.execute(_CLAIM, {"announcement": announcement_id, "batch": batch})
    return sorted((Recipient(*row) for row in rows), key=lambda r: r.telegram_id)


_RECORD = text(
    """
    UPDATE announcement_recipients AS r
    SET state = o.state,
        attempts = r.attempts + o.attempt,
        done_at = CASE WHEN o.state = 'pending' THEN NULL ELSE now() END
    FROM unnest(CAST(:ids AS bigint[]), CAST(:states AS text[]), CAST(:attempts AS int[])) AS o(telegram_id, state, attempt)
    WHERE r.announcement_id = :announcement AND r.telegram_id = o.telegram_id AND r.state = 'sending'
    """
)


async def record(
    session: AsyncSession, announcement_id: int, outcomes: dict[int, tuple[Outcome, bool]]
) -> None:
    """What the sends came to: {telegram_id: (outcome, counts as an attempt)}. Counters and the
    people who blocked the bot change in the same transaction."""
    if not outcomes:
        return
    ids = list(outcomes)
    await session.execute(
        _RECORD,
        {
            "announcement": announcement_id, "ids": ids,
            "states": [outcomes[i][0].value for i in ids], "attempts": [int(outcomes[i][1]) for i in ids],
        },
    )
    tally = {kind: sum(1 for outcome, _ in outcomes.values() if outcome is kind) for kind in Outcome}
    await session.execute(
        update(_announcements).where(_announcements.c.id == announcement_id).values(
            sent=_announcements.c.sent + tally[Outcome.SENT],
            failed=_announcements.c.failed + tally[Outcome.FAILED] + tally[Outcome.UNCONFIRMED],
            blocked=_announcements.c.blocked + tally[Outcome.BLOCKED],
            unconfirmed=_announcements.c.unconfirmed + tally[Outcome.UNCONFIRMED],
        )
    )
    blocked = [i for i in ids if outcomes[i][0] is Outcome.BLOCKED]
    if blocked:
        await mark_unreachable(session, blocked)


async def mark_unreachable(session: AsyncSession, telegram_ids: list[int]) -> None:
    await session.execute(
        update(_users)
        .where(_users.c.telegram_id == func.any(bindparam("ids", type_=ARRAY(BigInteger))))
        .where(_users.c.unreachable_since.is_(None))
        .values(unreachable_since=func.now()),
        {"ids": telegram_ids},
    )


_RECOVER = text(
    """
    WITH lost AS (
        UPDATE announcement_recipients SET state = 'unconfirmed', done_at = now()
        WHERE state = 'sending' RETURNING announcement_id
    )
    UPDATE announcements AS a SET failed = a.failed + n.lost, unconfirmed = a.unconfirmed + n.lost
    FROM (SELECT announcement_id, count(*) AS lost FROM lost GROUP BY announcement_id) AS n
    WHERE a.id = n.announcement_id
    RETURNING a.id, n.lost
    """
)


async def recover(session: AsyncSession) -> int:
    """After a process died mid-send: its `sending` recipients may or may not have received the
    announcement. They are not sent to again (nobody may receive it twice) and are counted as not
    delivered, and as unconfirmed. Only the process that holds the announcements' lock calls this."""
    return sum(lost for _, lost in (await session.execute(_RECOVER)).all())


async def finish(session: AsyncSession, announcement_id: int) -> Announcement | None:
    """Done, once nobody is left to send to; None (and nothing changes) while someone is."""
    row = (
        await session.execute(
            update(_announcements)
            .where(
                _announcements.c.id == announcement_id, text("state = 'running'"),
                ~select(_recipients.c.telegram_id)
                .where(_recipients.c.announcement_id == announcement_id,
                       _recipients.c.state.in_(("pending", "sending")))
                .exists(),
            )
            .values(state=State.DONE, finished_at=func.now())
            .returning(*_COLUMNS)
        )
    ).mappings().first()
    return Announcement.from_row(row) if row else None


async def person_is_back(session: AsyncSession, telegram_id: int) -> None:
    """They wrote to the bot: it can reach them again."""
    await session.execute(
        update(_users).where(_users.c.telegram_id == telegram_id, _users.c.unreachable_since.is_not(None))
        .values(unreachable_since=None)
    )

