"""Composing and controlling an announcement: whom an audience holds, who may address it, creating
it with its recipients, pausing, resuming or cancelling it, and its progress message."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    and_,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import is_row_id
from bot.services import access
from bot.services.access import Act
from bot.services.staff import Operator
from bot.services.announcements.model import (
    _COLUMNS, Announcement, Audience, AudienceKind, State, Version, _announcements, _operators, _participants, _recipients,
    _users, validate_versions,
)


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
    """The announcement, running from the caller's commit, with its audience counted as it is now.
    Its recipients are written by the announcer as the sending starts (`write_recipients`): a
    moment later, in a transaction of its own, so the coordinator's press does not wait for them.
    `by` is the coordinator sending it from the bot, checked against the audience (see may_address)."""
    if by is not None:
        await may_address(session, by, audience)
    validate_versions(versions)
    people = audience_of(audience).subquery()
    total = (await session.execute(select(func.count()).select_from(people))).scalar_one()
    row = (
        await session.execute(
            insert(_announcements)
            .values(
                created_by=created_by, language=language, audience=audience.to_json(),
                versions={key: version.to_json() for key, version in versions.items()},
                total=total, state=State.RUNNING if total else State.DONE,
                finished_at=None if total else func.now(), recipients_written=not total,
            )
            .returning(*_COLUMNS)
        )
    ).mappings().one()
    return Announcement.from_row(row)


async def write_recipients(session: AsyncSession, announcement_id: int) -> bool:
    """Write the recipients of a running announcement that has none written yet: the audience as it
    is now (someone who left since the press is not written; `total` becomes what was written).
    Whether they were written now; once only, whoever calls it (the row is locked)."""
    row = (
        await session.execute(
            select(_announcements.c.audience, _announcements.c.state, _announcements.c.recipients_written)
            .where(_announcements.c.id == announcement_id).with_for_update()
        )
    ).mappings().first()
    if row is None or row["recipients_written"]:
        return False
    recipients = audience_of(Audience.from_json(row["audience"])).subquery()
    added = await session.execute(
        insert(_recipients).from_select(
            ["announcement_id", "telegram_id", "language"],
            select(literal(announcement_id, BigInteger), recipients.c.telegram_id, recipients.c.language),
        )
    )
    total = added.rowcount
    finished = total == 0 and row["state"] in (State.RUNNING, State.PAUSED)
    await session.execute(
        update(_announcements).where(_announcements.c.id == announcement_id)
        .values(total=total, recipients_written=True,
                **({"state": State.DONE, "finished_at": func.now()} if finished else {}))
    )
    return True


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
