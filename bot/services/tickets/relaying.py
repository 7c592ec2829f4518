"""How the messages of a conversation reach the other side: one by one, an album as one album, and
an edit of a message already relayed as a change of the copy delivered.

Telegram gives an album as one message per item, each its own update. The first item's relay waits
`ALBUM_GATHER` (a timer, moved on by each later item) and then owes the items stored by then as one
album; an item later than that goes on its own. An author's edit changes the stored message (its
first words are kept for the staff) and owes the change to the other side, whose copies the
delivery recorded (`ticket_message_copies`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.driver import Statement
from bot.db.models import TicketMessageCopy
from bot.services import outbox, timers
from bot.services.lengths import utf16_length
from bot.services.tickets.model import Content, Said, Status, Ticket
from bot.services.tickets.queries import _messages
from bot.services.tickets.owed import _refresh_cards
from bot.services.tickets.reading import _said, first_from_citizen, get_ticket

ALBUM = "ticket_album"  # the timer that owes an album once its items have arrived
ALBUM_GATHER = timedelta(seconds=1)

_copies = TicketMessageCopy.__table__
# Each relayed message's delivery records its copy (on the delivery's asyncpg connection).
_RECORD_COPY = Statement(
    pg_insert(_copies)
    .values(chat_id=bindparam("chat_id"), message_id=bindparam("message_id"), ticket_message_id=bindparam("said_id"))
    .on_conflict_do_nothing()
)


def _album_key(ticket_id: int, album: str, to: int) -> str:
    return f"{ticket_id}:{album}:{to}"


async def owe_said(session: AsyncSession, ticket_id: int, said_id: int, content: Content, to: int) -> None:
    """Owe a message of the conversation to `to`; an album's item waits for the rest of it."""
    album = content.extra.get("album")
    if album is None:
        await outbox.owe(session, to, "ticket_message", {"message": said_id})
        return
    await timers.set_timer(
        session, ALBUM, _album_key(ticket_id, album, to), ALBUM_GATHER, {"ticket": ticket_id, "album": album, "to": to}
    )


_ALBUM_ITEMS = (
    select(_messages.c.id).where(
        _messages.c.ticket_id == bindparam("ticket_id"),
        _messages.c.extra["album"].astext == bindparam("album"),
        # Not owed yet: an item that came after the album went out goes on its own.
        _messages.c.extra["album_sent"].astext.is_(None),
    ).order_by(_messages.c.id)
)
_MARK_ALBUM_SENT = text(
    """UPDATE ticket_messages SET extra = extra || '{"album_sent": true}'::jsonb WHERE id = ANY(:ids)"""
)


async def _owe_album(session: AsyncSession, payload: dict[str, Any]) -> None:
    ids = list((await session.execute(_ALBUM_ITEMS, {"ticket_id": payload["ticket"], "album": payload["album"]})).scalars())
    if not ids:
        return
    await session.execute(_MARK_ALBUM_SENT, {"ids": ids})
    await outbox.owe(session, payload["to"], "ticket_album", {"messages": ids})


timers.register(ALBUM, _owe_album)


async def owe_conversation(session: AsyncSession, chat_id: int, conversation: list[Said]) -> None:
    """The citizen's messages so far (an album as one) and the staff's notes, to an operator who
    now holds the request."""
    owed: list[tuple[str, dict[str, Any]]] = []
    albums: dict[str, list[int]] = {}
    for said in conversation:
        if said.author == "citizen":
            album = said.content.extra.get("album")
            if album is None:
                owed.append(("ticket_message", {"message": said.id}))
            elif album not in albums:
                albums[album] = [said.id]
                owed.append(("ticket_album", {"messages": albums[album]}))  # (the rest join it below)
            else:
                albums[album].append(said.id)
        elif said.author == "note" and said.author_id != chat_id:
            owed.append(("ticket_note", {"message": said.id}))
    for kind, payload in owed:
        await outbox.owe(session, chat_id, kind, payload)
    if albums:  # an album still arriving (its timer pending) must not send these again
        await session.execute(_MARK_ALBUM_SENT, {"ids": [said_id for ids in albums.values() for said_id in ids]})


_ALBUM_FIRST = text(
    "SELECT min(id) FROM ticket_messages WHERE ticket_id = :ticket_id AND extra->>'album' = :album AND author = :author"
)


async def first_of_album(session: AsyncSession, said: Said) -> bool:
    """Whether `said` is its album's first item (the one an album's words go with)."""
    first = await session.scalar(_ALBUM_FIRST, {"ticket_id": said.ticket_id, "album": said.content.extra["album"], "author": said.author})
    return first == said.id


# --- edits ---------------------------------------------------------------------------------------------

_EDITED = text(
    """
    SELECT m.*, NULL AS author_name FROM tickets t JOIN ticket_messages m ON m.ticket_id = t.id
    WHERE t.status <> 'closed' AND (t.citizen_id = :author OR (t.operator_id = :author AND t.status = 'taken'))
      AND m.author_id = :author AND m.author IN ('citizen', 'operator') AND m.extra->>'from_message' = :message
    ORDER BY m.id DESC LIMIT 1
    """
)
_CHANGE = text(
    """
    UPDATE ticket_messages
    SET extra = extra || jsonb_build_object('edited_at', now(), 'first_text', coalesce(extra->'first_text', to_jsonb(text))),
        text = :text
    WHERE id = :id
    """
)


class TooLong(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


async def edit_said(session: AsyncSession, author_id: int, message_id: int, text_now: str | None) -> tuple[Ticket, Said] | None:
    """The author changed a message they sent to an open request (theirs, as its citizen or as the
    operator holding it): the request keeps the change (and the first words, for the staff) and the
    other side's copy is changed too. None if the message is none of an open request's; TooLong if
    the change is longer than a message of a request may be (nothing changes)."""
    row = (await session.execute(_EDITED, {"author": author_id, "message": str(message_id)})).mappings().first()
    if row is None:
        return None
    said = _said(row)
    limit = Content(said.content.kind).limit
    if text_now is not None and utf16_length(text_now) > limit:
        raise TooLong(limit)
    ticket = await get_ticket(session, said.ticket_id, lock=True)
    if ticket is None or ticket.status is Status.CLOSED:
        return None
    await session.execute(_CHANGE, {"id": said.id, "text": text_now})
    other = ticket.operator_id if said.author == "citizen" else ticket.citizen_id
    if other is not None:
        await outbox.owe(session, other, "ticket_edit", {"message": said.id})
    first = await first_from_citizen(session, ticket.id)
    if first is not None and first.id == said.id:
        await _refresh_cards(session, ticket.id)  # the cards show the question itself
    return ticket, said


async def record_copy(session: AsyncSession, chat_id: int, message_id: int, said_id: int) -> None:
    await _RECORD_COPY.execute(session, {"chat_id": chat_id, "message_id": message_id, "said_id": said_id})


async def copies_in_chat(session: AsyncSession, said_id: int, chat_id: int) -> list[int]:
    return list((await session.execute(
        select(_copies.c.message_id).where(_copies.c.ticket_message_id == said_id, _copies.c.chat_id == chat_id)
    )).scalars())
