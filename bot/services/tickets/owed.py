"""What a change owes people (cards, notices, the messages of a conversation) and the clocks it starts
or stops."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import outbox, timers
from bot.services.directory import NATIONAL
from bot.services.tickets.model import Content, Limits, Notice
from bot.services.tickets.queries import _CARD_CHATS, _ON_DUTY, _SAY


async def notify(session: AsyncSession, chat_id: int, ticket_id: int, notice: Notice) -> None:
    await outbox.owe(session, chat_id, "ticket_notice", {"ticket": ticket_id, "notice": notice.value})


async def _on_duty(session: AsyncSession, office: str) -> list[int]:
    return list((await session.execute(_ON_DUTY, {"office": office})).scalars())


async def _deliver_cards(
    session: AsyncSession, ticket_id: int, office: str, *, notice: Notice | None = None, skip: frozenset[int] = frozenset()
) -> list[int]:
    """Owe the ticket's card (after `notice`, if any) to the office's on-duty operators, or the
    national office's when none is on duty there, but those in `skip`; returns who gets it."""
    recipients = await _on_duty(session, office)
    if not recipients and office != NATIONAL:
        recipients = await _on_duty(session, NATIONAL)
    recipients = [chat_id for chat_id in recipients if chat_id not in skip]
    for chat_id in recipients:
        if notice is not None:
            await notify(session, chat_id, ticket_id, notice)
        await outbox.owe(session, chat_id, "ticket_card", {"ticket": ticket_id})
    return recipients


async def _refresh_cards(session: AsyncSession, ticket_id: int, shown: tuple[int, int] | None = None) -> None:
    """Every card of the ticket shows its new state (who took it, where it went, closed), except
    `shown` (chat, message), the card the acting operator sees changed already."""
    for chat_id in (await session.execute(_CARD_CHATS, {"ticket_id": ticket_id})).scalars():
        payload: dict[str, Any] = {"ticket": ticket_id}
        if shown is not None and shown[0] == chat_id:
            payload["skip"] = shown[1]
        await outbox.owe(session, chat_id, "ticket_refresh", payload)


async def _say(session: AsyncSession, ticket_id: int, author: str, author_id: int | None, content: Content) -> int:
    if content.too_long:  # the handlers refuse it with a reason first; this keeps the rule whole
        raise ValueError("a ticket's message is longer than it may be")
    return (
        await session.execute(
            _SAY,
            {"ticket_id": ticket_id, "author": author, "author_id": author_id, "kind": content.kind,
             "text": content.text, "file_id": content.file_id, "extra": content.extra},
        )
    ).scalar_one()


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
    for kind in kinds or ("ticket_remind", "ticket_escalate", "ticket_unanswered"):
        await timers.cancel_timer(session, kind, _timer_key(ticket_id))
