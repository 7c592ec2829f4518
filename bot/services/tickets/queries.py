"""The statements the modules of the package share, built once."""

from __future__ import annotations

from sqlalchemy import BigInteger, bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bot.db.driver import Statement
from bot.db.models import Operator as OperatorRow, Ticket as TicketRow, TicketLink, TicketMessage
from bot.services.tickets.model import RECENT_TICKETS, Status


_tickets = TicketRow.__table__
_messages = TicketMessage.__table__
_links = TicketLink.__table__
_operators = OperatorRow.__table__

_TICKET_COLUMNS = (*_tickets.c, _operators.c.name.label("operator_name"))
_TICKET_FROM = _tickets.outerjoin(_operators, _operators.c.telegram_id == _tickets.c.operator_id)
_BY_ID = select(*_TICKET_COLUMNS).select_from(_TICKET_FROM).where(_tickets.c.id == bindparam("ticket_id"))
# Locked while a change reads and writes it: a Take, a transfer, a citizen's message and a close of
# the same ticket happen one after the other, each seeing what the one before did.
_BY_ID_LOCKED = _BY_ID.with_for_update(of=_tickets)
_BY_ID_UNLESS_LOCKED = _BY_ID.with_for_update(of=_tickets, skip_locked=True)
_OPEN_OF_CITIZEN = (
    select(*_TICKET_COLUMNS).select_from(_TICKET_FROM)
    .where(_tickets.c.citizen_id == bindparam("citizen_id"), _tickets.c.status != Status.CLOSED.value)
)
_OPEN_OF_CITIZEN_LOCKED = _OPEN_OF_CITIZEN.with_for_update(of=_tickets)
_OF_CITIZEN = (
    select(*_TICKET_COLUMNS).select_from(_TICKET_FROM)
    .where(_tickets.c.citizen_id == bindparam("citizen_id"))
    .order_by(_tickets.c.id.desc()).limit(RECENT_TICKETS)
)
_NEW_TICKET = insert(_tickets).returning(_tickets.c.id)
# On a request's path (each message said): as a `Statement` it runs on the transaction's own asyncpg
# connection when it was handed down, as do `_SET_CURRENT`, `_CARD_CHATS` and `_ON_DUTY` below.
_SAY = Statement(
    insert(_messages).values(
        ticket_id=bindparam("ticket_id"), author=bindparam("author"), author_id=bindparam("author_id"),
        kind=bindparam("kind"), text=bindparam("text"), file_id=bindparam("file_id"), extra=bindparam("extra"),
    ).returning(_messages.c.id)
)
# The first Take wins: the status is checked and changed in one statement, so of two operators
# pressing at once one updates the row and the other finds it taken.
_TAKE = (
    update(_tickets)
    .where(_tickets.c.id == bindparam("ticket_id"), _tickets.c.status == Status.NEW.value)
    .values(status=Status.TAKEN.value, operator_id=bindparam("taker"), taken_at=func.now())
    .returning(_tickets.c.id)
)
_SET_CURRENT = Statement(
    update(_operators).where(_operators.c.telegram_id == bindparam("operator_id"))
    .values(current_ticket=bindparam("ticket_id"))
)
_FORGET_CURRENT = (
    update(_operators).where(_operators.c.current_ticket == bindparam("ticket_id")).values(current_ticket=None)
)
# Whoever was owed this ticket's card: delivered ones are linked, the rest are still in the outbox,
# which sends a chat's messages in order, so a refresh owed now reaches each card after it.
_CARD_CHATS = Statement(text(
    """
    SELECT chat_id FROM ticket_links WHERE ticket_id = :ticket_id AND is_card
    UNION
    SELECT chat_id FROM outbox
    WHERE kind = 'ticket_card' AND sent_at IS NULL AND failed IS NULL AND (payload->>'ticket')::bigint = :ticket_id
    """
).bindparams(bindparam("ticket_id", type_=BigInteger)))
_ON_DUTY = Statement(
    select(_operators.c.telegram_id)
    .where(_operators.c.office == bindparam("office"), _operators.c.active, _operators.c.on_duty)
    .order_by(_operators.c.telegram_id)
)
# Who is alerted when nobody on duty can take a new request.
_COORDINATORS_OF = (
    select(_operators.c.telegram_id)
    .where(_operators.c.active, _operators.c.role == "coordinator",
           _operators.c.office.in_(bindparam("offices", expanding=True)))
    .order_by(_operators.c.telegram_id)
)
_QUEUE = (
    select(*_TICKET_COLUMNS).select_from(_TICKET_FROM)
    .where(_tickets.c.status != Status.CLOSED.value)
    .order_by(_tickets.c.id).limit(bindparam("limit"))
)
_QUEUE_OF_OFFICE = _QUEUE.where(_tickets.c.office == bindparam("office"))
_MINE = (
    select(*_TICKET_COLUMNS).select_from(_TICKET_FROM)
    .where(_tickets.c.operator_id == bindparam("operator_id"), _tickets.c.status == Status.TAKEN.value)
    .order_by(_tickets.c.id)
)
# With the names of the staff who wrote them: a history shows whose each note is.
_WITH_AUTHOR = _messages.outerjoin(
    _operators, (_operators.c.telegram_id == _messages.c.author_id) & (_messages.c.author != "citizen")
)
_HISTORY = (
    select(*_messages.c, _operators.c.name.label("author_name")).select_from(_WITH_AUTHOR)
    .where(_messages.c.ticket_id == bindparam("ticket_id")).order_by(_messages.c.id)
)
_MESSAGE = (
    select(*_messages.c, _operators.c.name.label("author_name")).select_from(_WITH_AUTHOR)
    .where(_messages.c.id == bindparam("message_id"))
)
_FIRST_FROM_CITIZEN = (
    select(_messages).where(_messages.c.ticket_id == bindparam("ticket_id"), _messages.c.author == "citizen")
    .order_by(_messages.c.id).limit(1)
)
_new_link = pg_insert(_links).values(
    chat_id=bindparam("chat_id"), message_id=bindparam("message_id"), ticket_id=bindparam("ticket_id"),
    is_card=bindparam("is_card"),
)
_LINK = _new_link.on_conflict_do_update(
    index_elements=[_links.c.chat_id, _links.c.message_id], set_={"is_card": _new_link.excluded.is_card}
)
_LINKED = select(_links.c.ticket_id).where(
    _links.c.chat_id == bindparam("chat_id"), _links.c.message_id == bindparam("message_id")
)
_CARDS_IN_CHAT = select(_links.c.message_id).where(
    _links.c.ticket_id == bindparam("ticket_id"), _links.c.chat_id == bindparam("chat_id"), _links.c.is_card
)
