"""The bot's own side: a citizen who blocked the bot or came back, a message whose delivery is
unknown, and the time limits T1, T2, T3 (timers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import timers
from bot.services.directory import NATIONAL
from bot.services.tickets.model import Content, Notice, Status
from bot.services.tickets.owed import _deliver_cards, _refresh_cards, _say, notify
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
    await _deliver_cards(session, ticket.id, ticket.office, notice=Notice.REMIND)


async def _escalate_untaken(session: AsyncSession, payload: dict[str, Any]) -> None:
    ticket = await _ticket_unless_locked(session, payload["ticket"])
    if ticket is None or ticket.status is not Status.NEW or ticket.office == NATIONAL:
        return
    have_card = frozenset((await session.execute(_CARD_CHATS, {"ticket_id": ticket.id})).scalars())
    await _refresh_cards(session, ticket.id)
    await session.execute(
        update(_tickets).where(_tickets.c.id == ticket.id).values(office=NATIONAL, escalated_at=func.now())
    )
    await _say(session, ticket.id, "system", None, Content("text", extra={"event": "escalated", "from": ticket.office}))
    # National operators who got its card already (their region had nobody on duty) are not sent
    # another; the refresh above shows them it is theirs now.
    await _deliver_cards(session, ticket.id, NATIONAL, notice=Notice.ESCALATED, skip=have_card)


async def _remind_unanswered(session: AsyncSession, payload: dict[str, Any]) -> None:
    ticket = await get_ticket(session, payload["ticket"])
    if ticket is None or ticket.status is not Status.TAKEN or ticket.operator_id is None:
        return
    await notify(session, ticket.operator_id, ticket.id, Notice.UNANSWERED)


timers.register("ticket_remind", _remind_untaken)
timers.register("ticket_escalate", _escalate_untaken)
timers.register("ticket_unanswered", _remind_unanswered)
