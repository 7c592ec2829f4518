"""The bot's own side: a citizen who blocked the bot or came back, a message whose delivery is
unknown, and the time limits T1, T2, T3 (timers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import timers
from bot.services.directory import NATIONAL
from bot.services.tickets.model import Content, Notice, Status
from bot.services.tickets.owed import (
    CALL_AGAIN, CALL_DUE, NOBODY_ON_DUTY, _alert_nobody_on_duty, _deliver_cards, _on_duty, _refresh_cards, _say, limits_in_force, notify,
)
from bot.services.tickets.queries import _CARD_CHATS, _tickets
from bot.services.tickets.reading import _ticket_unless_locked, get_message, get_ticket


_UNREACHABLE = (
    update(_tickets)
    .where(_tickets.c.citizen_id == bindparam("citizen"), _tickets.c.status != Status.CLOSED.value,
           _tickets.c.citizen_unreachable.is_(False))
    .values(citizen_unreachable=True)
    .returning(_tickets.c.id, _tickets.c.operator_id)
)
_REACHABLE = (
    update(_tickets)
    .where(_tickets.c.citizen_id == bindparam("citizen"), _tickets.c.citizen_unreachable)
    .values(citizen_unreachable=False)
)


async def citizen_blocked(session: AsyncSession, citizen_id: int) -> None:
    """Telegram refused a message to this citizen (they blocked the bot): their open ticket is
    marked unreachable and its operator is told, once."""
    for ticket_id, operator_id in (await session.execute(_UNREACHABLE, {"citizen": citizen_id})).all():
        if operator_id is not None:
            await notify(session, operator_id, ticket_id, Notice.UNREACHABLE)


async def citizen_is_back(session: AsyncSession, citizen_id: int) -> None:
    """The citizen wrote again, so messages reach them again."""
    await session.execute(_REACHABLE, {"citizen": citizen_id})


async def relay_unconfirmed(session: AsyncSession, message_id: int) -> None:
    """A message of the conversation may not have reached the other side (the connection broke
    before Telegram confirmed it) and is not sent again, so that it never arrives twice: its
    author is told, to send it again if it matters."""
    said = await get_message(session, message_id)
    ticket = await get_ticket(session, said.ticket_id) if said is not None else None
    if ticket is None:
        return
    author = ticket.citizen_id if said.author == "citizen" else said.author_id
    if author is not None:
        await notify(session, author, ticket.id, Notice.UNCONFIRMED)


async def _remind_untaken(session: AsyncSession, payload: dict[str, Any]) -> None:
    ticket = await get_ticket(session, payload["ticket"])
    if ticket is None or ticket.status is not Status.NEW:
        return
    await _deliver_cards(session, ticket.id, ticket.office, notice=Notice.REMIND, alert=limits_in_force())


async def _nobody_on_duty_again(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Still new, and still nobody on duty to take it: the coordinators are alerted again. Whoever
    has come on duty since gets its card instead (it reached nobody when it arrived), and the
    alerts stop."""
    ticket = await get_ticket(session, payload["ticket"])
    if ticket is None or ticket.status is not Status.NEW:
        return
    have_card = frozenset(row["chat_id"] for row in await _CARD_CHATS.fetch(session, {"ticket_id": ticket.id}))
    if await _on_duty(session, ticket.office) or await _on_duty(session, NATIONAL):
        await _deliver_cards(session, ticket.id, ticket.office, skip=have_card)
        return
    await _alert_nobody_on_duty(session, ticket.id, ticket.office, limits_in_force())


async def _escalate_untaken(session: AsyncSession, payload: dict[str, Any]) -> None:
    ticket = await _ticket_unless_locked(session, payload["ticket"])
    if ticket is None or ticket.status is not Status.NEW or ticket.office == NATIONAL:
        return
    have_card = frozenset(row["chat_id"] for row in await _CARD_CHATS.fetch(session, {"ticket_id": ticket.id}))
    await _refresh_cards(session, ticket.id)
    await session.execute(
        update(_tickets).where(_tickets.c.id == ticket.id).values(office=NATIONAL, escalated_at=func.now())
    )
    await _say(session, ticket.id, "system", None, Content("text", extra={"event": "escalated", "from": ticket.office}))
    # National operators who got its card already (their region had nobody on duty) are not sent
    # another; the refresh above shows them it is theirs now.
    sent = await _deliver_cards(session, ticket.id, NATIONAL, notice=Notice.ESCALATED, skip=have_card)
    if not sent and not await _on_duty(session, NATIONAL):
        await _alert_nobody_on_duty(session, ticket.id, NATIONAL, limits_in_force())


async def _remind_unanswered(session: AsyncSession, payload: dict[str, Any]) -> None:
    ticket = await get_ticket(session, payload["ticket"])
    if ticket is None or ticket.status is not Status.TAKEN or ticket.operator_id is None:
        return
    await notify(session, ticket.operator_id, ticket.id, Notice.UNANSWERED)


timers.register("ticket_remind", _remind_untaken)
timers.register("ticket_escalate", _escalate_untaken)
timers.register("ticket_unanswered", _remind_unanswered)
timers.register(NOBODY_ON_DUTY, _nobody_on_duty_again)


async def _call_again(session: AsyncSession, payload: dict[str, Any]) -> None:
    ticket = await get_ticket(session, payload["ticket"])
    if ticket is None or ticket.status is not Status.TAKEN or ticket.operator_id is None:
        return
    await notify(session, ticket.operator_id, ticket.id, Notice.CALL_AGAIN)


timers.register(CALL_AGAIN, _call_again)


_CALLED = text("SELECT 1 FROM ticket_messages WHERE ticket_id = :ticket_id AND extra->>'event' = 'call' LIMIT 1")


async def _call_due(session: AsyncSession, payload: dict[str, Any]) -> None:
    ticket = await get_ticket(session, payload["ticket"])
    if ticket is None or ticket.status is not Status.TAKEN or ticket.operator_id is None:
        return  # not taken yet: T1 and T2 see to it
    if await session.scalar(_CALLED, {"ticket_id": ticket.id}):
        return  # called already
    await notify(session, ticket.operator_id, ticket.id, Notice.CALL_DUE)


timers.register(CALL_DUE, _call_due)
