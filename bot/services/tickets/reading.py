"""Reading tickets and their conversations, for citizens and for the operators who may see them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.driver import Statement
from bot.db.models import is_row_id
from bot.services import access, timers
from bot.services.access import Act
from bot.services.directory import NATIONAL
from bot.services.staff import Operator
from bot.services.tickets.model import Content, NOT_FOUND, Said, TAKEN_BY_OTHER, Ticket, TicketError
from bot.services.tickets.queries import (
    _BY_ID, _BY_ID_LOCKED, _BY_ID_UNLESS_LOCKED, _CARDS_IN_CHAT, _FIRST_FROM_CITIZEN, _HISTORY, _LINK,
    _LINKED, _MESSAGE, _MINE, _OF_CITIZEN, _OPEN_OF_CITIZEN, _OPEN_OF_CITIZEN_LOCKED, _QUEUE,
    _QUEUE_OF_OFFICE, _TICKET_COLUMNS, _TICKET_FROM, _tickets,
)

EARLIER_SHOWN = 5  # on a card: the newest of the citizen's other requests

# Read for every card and message a request's path sends (~20 a request): on the transaction's own
# asyncpg connection when it was handed down (`bot/db/driver.py`), through the session otherwise.
_BY_ID_ON_DRIVER = Statement(_BY_ID)
_BY_ID_LOCKED_ON_DRIVER = Statement(_BY_ID_LOCKED)
_FIRST_FROM_CITIZEN_ON_DRIVER = Statement(_FIRST_FROM_CITIZEN)
_CARDS_IN_CHAT_ON_DRIVER = Statement(_CARDS_IN_CHAT)
_LINK_ON_DRIVER = Statement(_LINK)
_MESSAGE_ON_DRIVER = Statement(_MESSAGE)
_OPEN_OF_CITIZEN_ON_DRIVER = Statement(_OPEN_OF_CITIZEN)
_OPEN_OF_CITIZEN_LOCKED_ON_DRIVER = Statement(_OPEN_OF_CITIZEN_LOCKED)

_EARLIER = (
    select(*_TICKET_COLUMNS, func.count().over().label("all_of_them")).select_from(_TICKET_FROM)
    .where(_tickets.c.citizen_id == bindparam("citizen_id"), _tickets.c.id != bindparam("ticket_id"))
    .order_by(_tickets.c.id.desc()).limit(EARLIER_SHOWN)
)
_EARLIER_AT_OFFICE = _EARLIER.where(_tickets.c.office == bindparam("office"))
_EARLIER_ON_DRIVER = Statement(_EARLIER)
_EARLIER_AT_OFFICE_ON_DRIVER = Statement(_EARLIER_AT_OFFICE)


async def get_ticket(session: AsyncSession, ticket_id: int, *, lock: bool = False) -> Ticket | None:
    if not is_row_id(ticket_id):
        return None
    row = await (_BY_ID_LOCKED_ON_DRIVER if lock else _BY_ID_ON_DRIVER).fetchrow(session, {"ticket_id": ticket_id})
    return Ticket.from_row(row) if row else None


async def _ticket_unless_locked(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """The ticket, locked; timers.Busy if a transaction in progress holds it (see timers.Busy)."""
    row = (await session.execute(_BY_ID_UNLESS_LOCKED, {"ticket_id": ticket_id})).mappings().first()
    if row is not None:
        return Ticket.from_row(row)
    if await get_ticket(session, ticket_id) is not None:
        raise timers.Busy
    return None


async def open_ticket_of(session: AsyncSession, citizen_id: int, *, lock: bool = False) -> Ticket | None:
    statement = _OPEN_OF_CITIZEN_LOCKED_ON_DRIVER if lock else _OPEN_OF_CITIZEN_ON_DRIVER
    row = await statement.fetchrow(session, {"citizen_id": citizen_id})
    return Ticket.from_row(row) if row else None


async def tickets_of(session: AsyncSession, citizen_id: int) -> list[Ticket]:
    """The citizen's most recent tickets, newest first."""
    return [Ticket.from_row(r) for r in (await session.execute(_OF_CITIZEN, {"citizen_id": citizen_id})).mappings()]


async def ticket_for(session: AsyncSession, operator: Operator, ticket_id: int, *, lock: bool = False) -> Ticket:
    """The ticket if this operator may work on it (see `access`: the national office every region's,
    a regional one its own); otherwise NOT_FOUND, whatever the reason, so ids of other regions'
    tickets reveal nothing. The operator's record is checked and locked first (access.Denied if
    they were removed or moved meanwhile), so what they do with it commits only while they may."""
    await access.current(session, operator, Act.REQUESTS)
    ticket = await get_ticket(session, ticket_id, lock=lock)
    if ticket is None or not access.may(operator, Act.REQUESTS, (ticket.office,)):
        raise TicketError(NOT_FOUND)
    return ticket


async def earlier_of(session: AsyncSession, operator: Operator | None, ticket: Ticket) -> tuple[list[Ticket], int]:
    """The citizen's other requests that `operator` may see (their office's, or every one for the
    national office), the newest `EARLIER_SHOWN` of them and how many there are: on the card, so an
    operator knows who writes again."""
    if ticket.citizen_id is None or not access.may(operator, Act.REQUESTS):
        return [], 0
    office = access.own_region(operator, Act.REQUESTS)  # type: ignore[arg-type]
    values = {"citizen_id": ticket.citizen_id, "ticket_id": ticket.id}
    if office is None:
        rows = await _EARLIER_ON_DRIVER.fetch(session, values)
    else:
        rows = await _EARLIER_AT_OFFICE_ON_DRIVER.fetch(session, {**values, "office": office})
    return [Ticket.from_row(row) for row in rows], (rows[0]["all_of_them"] if rows else 0)


async def history_for(session: AsyncSession, operator: Operator, ticket_id: int) -> tuple[Ticket, list[Said]]:
    """A ticket's whole conversation, for an operator who may work on it and holds it (or it is
    new), or for a coordinator supervising their office; a colleague holding none of these learns
    only that someone else has it (TAKEN_BY_OTHER)."""
    ticket = await ticket_for(session, operator, ticket_id)
    held_by_other = ticket.operator_id is not None and ticket.operator_id != operator.telegram_id
    if held_by_other and not access.may(operator, Act.SUPERVISE, (ticket.office,)):
        raise TicketError(TAKEN_BY_OTHER, ticket)
    return ticket, await history(session, ticket_id)


async def queue(session: AsyncSession, operator: Operator, limit: int = 30) -> list[Ticket]:
    """Open tickets of the operator's office (every office's for the national one), oldest first."""
    await access.current(session, operator, Act.REQUESTS)
    if operator.office == NATIONAL:
        result = await session.execute(_QUEUE, {"limit": limit})
    else:
        result = await session.execute(_QUEUE_OF_OFFICE, {"office": operator.office, "limit": limit})
    return [Ticket.from_row(r) for r in result.mappings()]


async def taken_by(session: AsyncSession, operator: Operator) -> list[Ticket]:
    await access.current(session, operator, Act.REQUESTS)
    return [Ticket.from_row(r) for r in (await session.execute(_MINE, {"operator_id": operator.telegram_id})).mappings()]


def _said(row: Mapping[str, Any]) -> Said:
    content = Content(row["kind"], row["text"], row["file_id"], dict(row["extra"] or {}))
    return Said(row["id"], row["ticket_id"], row["author"], row["author_id"], content, row["created_at"], row.get("author_name"))


async def history(session: AsyncSession, ticket_id: int) -> list[Said]:
    return [_said(r) for r in (await session.execute(_HISTORY, {"ticket_id": ticket_id})).mappings()]


async def first_from_citizen(session: AsyncSession, ticket_id: int) -> Said | None:
    """What the citizen asked first: the message a ticket's card shows."""
    row = await _FIRST_FROM_CITIZEN_ON_DRIVER.fetchrow(session, {"ticket_id": ticket_id})
    return _said(row) if row else None


async def get_message(session: AsyncSession, message_id: int) -> Said | None:
    row = await _MESSAGE_ON_DRIVER.fetchrow(session, {"message_id": message_id})
    return _said(row) if row else None


async def linked_ticket(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    """The ticket a bot message in this chat belongs to (what an operator replied to)."""
    return (await session.execute(_LINKED, {"chat_id": chat_id, "message_id": message_id})).scalar_one_or_none()


_COPY_OF = text(
    "SELECT m.ticket_id FROM ticket_message_copies c JOIN ticket_messages m ON m.id = c.ticket_message_id"
    " WHERE c.chat_id = :chat_id AND c.message_id = :message_id"
)


async def ticket_of_bot_message(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    """The ticket a bot message in this chat belongs to, on either side: linked to it (a card, a
    citizen's words with the operator, a notice to the citizen) or a copy of one of its messages
    (an operator's answer with the citizen)."""
    return await linked_ticket(session, chat_id, message_id) or (
        await session.execute(_COPY_OF, {"chat_id": chat_id, "message_id": message_id})
    ).scalar_one_or_none()


# What the worker is sending to a chat right now is locked until the transaction that marks it sent,
# and the link of a ticket's message commits in that same transaction.
_IN_FLIGHT_TO_CHAT = text("SELECT 1 FROM outbox WHERE chat_id = :chat_id AND sent_at IS NULL AND failed IS NULL FOR SHARE")


async def replied_ticket(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    """The ticket a reply to message `message_id` in `chat_id` belongs to, by what the bot recorded
    when it sent that message. A reply quicker than the link's commit (the operator saw the message
    the moment Telegram had it) waits for the chat's sends in flight to settle, then looks again."""
    found = await linked_ticket(session, chat_id, message_id)
    if found is None:
        await session.execute(_IN_FLIGHT_TO_CHAT, {"chat_id": chat_id})
        found = await linked_ticket(session, chat_id, message_id)
    return found


async def link(session: AsyncSession, chat_id: int, message_id: int, ticket_id: int, *, is_card: bool) -> None:
    await _LINK_ON_DRIVER.execute(session, {"chat_id": chat_id, "message_id": message_id, "ticket_id": ticket_id, "is_card": is_card})


async def cards_in_chat(session: AsyncSession, ticket_id: int, chat_id: int) -> list[int]:
    return [row["message_id"] for row in await _CARDS_IN_CHAT_ON_DRIVER.fetch(session, {"ticket_id": ticket_id, "chat_id": chat_id})]
