"""Delivering an announcement: claiming recipients, recording each send's outcome, recovering
sends a dead process left, finishing, and a person who can be reached again."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.announcements.model import _COLUMNS, Announcement, Outcome, State, _announcements, _recipients, _users


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
                _announcements.c.id == announcement_id, text("state = 'running'"), _announcements.c.recipients_written,
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
