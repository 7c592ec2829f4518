"""What a change owes people (cards, notices, the messages of a conversation) and the clocks it starts
or stops."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import outbox, timers
from bot.services.directory import NATIONAL
from bot.services.tickets.model import Content, Limits, Notice
from bot.services.tickets.queries import _CARD_CHATS, _COORDINATORS_OF, _ON_DUTY, _SAY

NOBODY_ON_DUTY = "ticket_nobody_on_duty"  # the timer that alerts the coordinators again
CALL_AGAIN = "ticket_call_again"  # "no answer": the operator is reminded to call again
CALL_DUE = "ticket_call_due"  # a call back's window begins: its operator is reminded


async def notify(session: AsyncSession, chat_id: int, ticket_id: int, notice: Notice) -> None:
    await outbox.owe(session, chat_id, "ticket_notice", {"ticket": ticket_id, "notice": notice.value})


async def _on_duty(session: AsyncSession, office: str) -> list[int]:
    return [row["telegram_id"] for row in await _ON_DUTY.fetch(session, {"office": office})]


# The time limits in force, for the handlers of timers (which get a session and a payload only):
# set once as the bot starts (`use_limits`).
_in_force: Limits | None = None


def use_limits(limits: Limits) -> None:
    global _in_force
    _in_force = limits


def limits_in_force() -> Limits:
    if _in_force is None:
        raise RuntimeError("tickets.use_limits was not called as the bot started")
    return _in_force


async def _deliver_cards(
    session: AsyncSession, ticket_id: int, office: str, *, notice: Notice | None = None, skip: frozenset[int] = frozenset(),
    alert: Limits | None = None,
) -> list[int]:
    """Owe the ticket's card (after `notice`, if any) to the office's on-duty operators but those in
    `skip`, or the national office's when there are none; returns who gets it. Nobody at all, and
    with `alert` (the limits in force): the coordinators are alerted (`_alert_nobody_on_duty`)."""
    recipients = [chat_id for chat_id in await _on_duty(session, office) if chat_id not in skip]
    if not recipients and office != NATIONAL:
        recipients = [chat_id for chat_id in await _on_duty(session, NATIONAL) if chat_id not in skip]
    for chat_id in recipients:
        if notice is not None:
            await notify(session, chat_id, ticket_id, notice)
        await outbox.owe(session, chat_id, "ticket_card", {"ticket": ticket_id})
    if not recipients and alert is not None:
        await _alert_nobody_on_duty(session, ticket_id, office, alert)
    return recipients


async def _alert_nobody_on_duty(session: AsyncSession, ticket_id: int, office: str, limits: Limits) -> None:
    """Nobody on duty can take the new request (its office and the national office have no operator
    on duty, or none but whoever just let it go): while the office works, the coordinators of both
    are told now, and again after every `limits.nobody_on_duty_repeat` of its working time while it
    waits (`NOBODY_ON_DUTY`, which also hands the card to whoever came on duty meanwhile). Out of
    hours nobody on duty is expected: the first alert waits for the office to open."""
    calendar = await limits.calendar(session, office)
    now = datetime.now(UTC)
    opening = calendar.next_opening(now)
    if opening is None:
        for chat_id in (await session.execute(_COORDINATORS_OF, {"offices": sorted({office, NATIONAL})})).scalars():
            await outbox.owe(session, chat_id, "nobody_on_duty", {"ticket": ticket_id})
        due = limits.due_in(calendar, limits.nobody_on_duty_repeat)
    else:
        due = opening - now
    await timers.set_timer(session, NOBODY_ON_DUTY, _timer_key(ticket_id), due, {"ticket": ticket_id})


async def _refresh_cards(session: AsyncSession, ticket_id: int, shown: tuple[int, int] | None = None) -> None:
    """Every card of the ticket shows its new state (who took it, where it went, closed), except
    `shown` (chat, message), the card the acting operator sees changed already."""
    for chat_id in [row["chat_id"] for row in await _CARD_CHATS.fetch(session, {"ticket_id": ticket_id})]:
        payload: dict[str, Any] = {"ticket": ticket_id}
        if shown is not None and shown[0] == chat_id:
            payload["skip"] = shown[1]
        await outbox.owe(session, chat_id, "ticket_refresh", payload)


async def _say(session: AsyncSession, ticket_id: int, author: str, author_id: int | None, content: Content) -> int:
    if content.too_long:  # the handlers refuse it with a reason first; this keeps the rule whole
        raise ValueError("a ticket's message is longer than it may be")
    return await _SAY.scalar(session, {
        "ticket_id": ticket_id, "author": author, "author_id": author_id, "kind": content.kind,
        "text": content.text, "file_id": content.file_id, "extra": content.extra,
    })


def _timer_key(ticket_id: int) -> str:
    return str(ticket_id)


async def _start_clock(session: AsyncSession, ticket_id: int, limits: Limits, office: str) -> None:
    """T1 in `office`'s working time (a request at 17:50 on a Friday waits for Monday); T2 in the
    national office's, which escalation hands it to: an office's own hours or days off do not hold
    back what protects its citizens from an office that does not answer."""
    key = _timer_key(ticket_id)
    office_calendar = await limits.calendar(session, office)
    national_calendar = office_calendar if office == NATIONAL else await limits.calendar(session, NATIONAL)
    remind = limits.due_in(office_calendar, limits.remind_after)
    escalate = limits.due_in(national_calendar, limits.escalate_after)
    await timers.set_timer(session, "ticket_remind", key, remind, {"ticket": ticket_id})
    await timers.set_timer(session, "ticket_escalate", key, escalate, {"ticket": ticket_id})


async def _stop_clock(session: AsyncSession, ticket_id: int, *kinds: str) -> None:
    for kind in kinds or ("ticket_remind", "ticket_escalate", "ticket_unanswered", NOBODY_ON_DUTY, CALL_AGAIN, CALL_DUE):
        await timers.cancel_timer(session, kind, _timer_key(ticket_id))
