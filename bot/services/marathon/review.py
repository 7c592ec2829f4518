"""The front-offices' review of deeds: who may review which, approval, rejection and corrected
amounts; a participant forgotten."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import bindparam, delete, func, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import access, outbox
from bot.services.access import Act
from bot.services.marathon.certificates import count_review, withdraw_all
from bot.services.marathon.deeds import (
    Deed, _D_COLUMNS, _PENDING, _deed, _deeds, _totals, get_deed, parse_amount,
)
from bot.services.marathon.model import MAX_REASON_LENGTH, Rules, State
from bot.services.marathon.participants import _participants
from bot.services.marathon.settings import kind_of
from bot.services.staff import Operator


def may_review(operator: Operator, deed: Deed) -> bool:
    """The staff of the deed's region's front-office review it, and the national office any."""
    return access.may(operator, Act.REVIEW_DEEDS, (deed.region,))


async def next_pending(session: AsyncSession, operator: Operator) -> Deed | None:
    """The oldest deed waiting for this operator's review."""
    statement = _PENDING
    if (region := access.own_region(operator, Act.REVIEW_DEEDS)) is not None:
        statement = statement.where(_deeds.c.region == region)
    row = (await session.execute(statement)).first()
    return _deed(row) if row else None


_REVIEW = (
    update(_deeds)
    .where(_deeds.c.id == bindparam("deed"), _deeds.c.state == State.PENDING.value)
    .values(state=bindparam("verdict"), reviewer_id=bindparam("reviewer"), reviewed_at=func.now(),
            reject_reason=bindparam("why"), amount=bindparam("final_amount"), claimed_amount=bindparam("claimed"))
    .returning(*_D_COLUMNS)
)
# An approval taken back: the deed was approved and is rejected now, counted nowhere.
_RETRACT = (
    update(_deeds)
    # A deed no longer linked to its participant (/forget, a finished marathon's retention) stays as
    # counted: their record keeps it, or is gone, and nobody could be told.
    .where(_deeds.c.id == bindparam("deed"), _deeds.c.state == State.APPROVED.value, _deeds.c.participant_id.is_not(None))
    .values(state=State.REJECTED.value, reviewer_id=bindparam("reviewer"), reviewed_at=func.now(),
            reject_reason=bindparam("why"))
    .returning(*_D_COLUMNS)
)
_APPROVED_BY = text(
    "SELECT coalesce(o.name || ' (' || d.reviewer_id || ')', d.reviewer_id::text, '?') FROM deeds AS d "
    "LEFT JOIN operators AS o ON o.telegram_id = d.reviewer_id WHERE d.id = :deed"
)
_new_total = pg_insert(_totals).values(
    region=bindparam("in_region"), kind=bindparam("of_kind"), amount=bindparam("add"), deeds=bindparam("sign")
)
_ADD_TOTAL = _new_total.on_conflict_do_update(
    index_elements=[_totals.c.region, _totals.c.kind],
    set_={"amount": _totals.c.amount + _new_total.excluded.amount, "deeds": _totals.c.deeds + _new_total.excluded.deeds},
)
_COUNT_APPROVED = (
    update(_participants).where(_participants.c.telegram_id == bindparam("who"))
    .values(approved_deeds=_participants.c.approved_deeds + bindparam("sign"))
)


class ReviewError(ValueError):
    """Not this reviewer's deed, or reviewed already (`deed` then says how)."""

    def __init__(self, deed: Deed | None) -> None:
        super().__init__("not reviewable")
        self.deed = deed


async def reviewable(session: AsyncSession, operator: Operator, deed_id: int, retract: bool = False) -> Deed:
    """The deed, if it waits for review (`retract`: if it was approved) and this operator may review
    it (ReviewError otherwise): checked before a reviewer is asked for a reason or an amount, and
    again by `review`."""
    operator = await access.require(session, operator, Act.REVIEW_DEEDS)
    deed = await get_deed(session, deed_id)
    if deed is None or deed.state is not (State.APPROVED if retract else State.PENDING) or not may_review(operator, deed):
        raise ReviewError(deed)
    if retract and deed.participant_id is None:
        raise ReviewError(deed)
    return deed


async def review(
    session: AsyncSession, rules: Rules, operator: Operator, deed_id: int, *, approve: bool,
    reason: str | None = None, corrected: Decimal | None = None, retract: bool = False,
) -> Deed:
    """Approve (with the amount `corrected`, if given) or reject with `reason`; the participant is
    owed the outcome and, if approved, the totals (and the participant's record, so their
    certificate) change in the same transaction. A deed is reviewed once: of two reviewers at once,
    the second gets ReviewError. `retract`: an approved deed found wrong later (a reused photo the
    reviewer missed) is rejected with `reason` and leaves the totals."""
    operator = await access.require(session, operator, Act.REVIEW_DEEDS)
    deed = await get_deed(session, deed_id)
    if deed is None or not may_review(operator, deed):
        raise ReviewError(None)
    kind = await kind_of(session, rules, deed.kind)
    if corrected is not None and kind is not None:
        corrected = parse_amount(kind, str(corrected))
    params = {
        "deed": deed_id, "verdict": (State.APPROVED if approve else State.REJECTED).value, "reviewer": operator.telegram_id,
        "why": None if approve else (reason or "")[:MAX_REASON_LENGTH], "final_amount": corrected or deed.amount,
        "claimed": deed.amount if corrected is not None and corrected != deed.amount else None,
    }
    if retract and approve:
        raise ValueError("an approval is taken back by a rejection")
    if retract:
        params = {key: params[key] for key in ("deed", "reviewer", "why")}
        approved_by = (await session.execute(_APPROVED_BY, params)).scalar()
    row = (await session.execute(_RETRACT if retract else _REVIEW, params)).first()
    if row is None:
        raise ReviewError(await get_deed(session, deed_id))
    reviewed = _deed(row)
    if approve or retract:
        sign = -1 if retract else 1
        await session.execute(_ADD_TOTAL, {"in_region": reviewed.region, "of_kind": reviewed.kind,
                                           "add": sign * reviewed.amount, "sign": sign})
        await session.execute(_COUNT_APPROVED, {"who": reviewed.participant_id, "sign": sign})
        await count_review(session, reviewed.participant_id, reviewed.deed_date, reviewed.kind, reviewed.amount, sign)
    if retract:
        # It changes totals the public saw and a certificate anyone can check: who did it is kept.
        # (personal_data reads the marathon package, so it is imported here, not at the top.)
        from bot.services import personal_data

        await personal_data.audit(session, personal_data.Action.APPROVAL_WITHDRAWN, {"deed": reviewed.id, "approved_by": approved_by},
                                  actor_id=operator.telegram_id, actor=operator.name)
    # What happened is in the payload: a message still waiting when the deed changes again says this.
    outcome = "withdrawn" if retract else reviewed.state.value
    await outbox.owe(session, reviewed.participant_id, "deed_review", {"deed": reviewed.id, "outcome": outcome})
    return reviewed


# A forgotten participant's reviewed deeds stay, anonymous (they are in the totals and the
# statistics); what identifies them goes: the description, the place, the reviewer's words, the photos.
_ANONYMISE_DEEDS = text(
    """
    UPDATE deeds SET participant_id = NULL, description = '', locality = '', reject_reason = NULL
    WHERE participant_id = :who AND state <> 'pending'
    """
)
# Not yet reviewed, so counted nowhere: they go, with their photos.
_DROP_PENDING = delete(_deeds).where(_deeds.c.participant_id == bindparam("who"), text("deeds.state = 'pending'"))
_DROP_PHOTOS = text("DELETE FROM deed_photos WHERE deed_id IN (SELECT id FROM deeds WHERE participant_id = :who)")
_LEAVE = delete(_participants).where(_participants.c.telegram_id == bindparam("who"))


async def forget_participant(session: AsyncSession, telegram_id: int) -> None:
    """The person withdrew their consent (/forget): their participation (display name,
    nominations, record) and photos go, their certificates are withdrawn; their reviewed deeds stay in the totals without anything that
    says whose they were or what they said."""
    await session.execute(_DROP_PHOTOS, {"who": telegram_id})
    await withdraw_all(session, telegram_id)
    await session.execute(_DROP_PENDING, {"who": telegram_id})
    await session.execute(_ANONYMISE_DEEDS, {"who": telegram_id})
    await session.execute(_LEAVE, {"who": telegram_id})  # nominations cascade
