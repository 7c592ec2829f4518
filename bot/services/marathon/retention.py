"""How long deeds of a finished marathon are kept."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.clock import today_in_kazakhstan
from bot.services.marathon.model import Dates, Rules
from bot.services.marathon.settings import dates


def final_through(current: Dates, keep_days: int, today: date) -> date | None:
    """The last day of deeds whose marathon ended more than `keep_days` ago (None: none did).
    Once the marathon's last day is that far behind, every deed is; before that, deeds dated
    before the current marathon's first day belong to an earlier one, which ended by the day
    before it, so that day counts for them."""
    keep = timedelta(days=keep_days)
    if current.ends_on + keep < today:
        return date.max
    earlier_ended_by = current.starts_on - timedelta(days=1)
    return earlier_ended_by if earlier_ended_by + keep < today else None


_FINISHED_DEEDS = text(
    """
    SELECT id FROM deeds
    WHERE deed_date <= :through
      AND (participant_id IS NOT NULL OR description <> '' OR locality <> '' OR reject_reason IS NOT NULL
           OR EXISTS (SELECT 1 FROM deed_photos WHERE deed_photos.deed_id = deeds.id))
    ORDER BY id LIMIT :batch
    FOR UPDATE SKIP LOCKED
    """
)
_DROP_PHOTOS_OF = text("DELETE FROM deed_photos WHERE deed_id = ANY(CAST(:ids AS bigint[]))")
_DROP_PENDING_OF = text("DELETE FROM deeds WHERE id = ANY(CAST(:ids AS bigint[])) AND state = 'pending'")
_ANONYMISE = text(
    """
    UPDATE deeds SET participant_id = NULL, description = '', locality = '', reject_reason = NULL
    WHERE id = ANY(CAST(:ids AS bigint[]))
    """
)


async def erase_finished_deeds(
    session: AsyncSession, rules: Rules, keep_days: int, batch: int, today: date | None = None
) -> int:
    """`keep_days` after the marathon's results are final (its last day), its deeds keep only
    what the results count: kind, amount, region, date and review state. Their photos,
    descriptions, places, reviewers' reasons and whose they were go; deeds never reviewed go
    altogether (they count nowhere). Returns how many deeds (at most `batch`)."""
    through = final_through(await dates(session, rules), keep_days, today or today_in_kazakhstan())
    if through is None:
        return 0
    ids = list((await session.execute(_FINISHED_DEEDS, {"through": through, "batch": batch})).scalars())
    if ids:
        await session.execute(_DROP_PHOTOS_OF, {"ids": ids})
        await session.execute(_DROP_PENDING_OF, {"ids": ids})
        await session.execute(_ANONYMISE, {"ids": ids})
    return len(ids)
