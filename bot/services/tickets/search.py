"""Finding requests at the desk: by number, by the citizen's phone, by words of the conversation,
by state and by the day they were opened, within the operator's scope (`access`: a regional
operator their own office's requests, the national office every one)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import Text, and_, cast, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models.tickets import CONVERSATION_DIGITS
from bot.services import access
from bot.services.access import Act
from bot.services.phones import kazakhstan_phone
from bot.services.staff import Operator
from bot.services.tickets.model import Status, Ticket
from bot.services.tickets.queries import _TICKET_COLUMNS, _TICKET_FROM, _messages, _tickets

MOST_FOUND = 20
MOST_WORDS = 5
# A phone as people type it: +7 701 123 45 67, 8(701)1234567, 87011234567…
_PHONE = re.compile(r"(?<!\d)\+?[78][\s\-()]*\d(?:[\s\-()]*\d){9}(?!\d)")
_NUMBER = re.compile(r"№?(\d{1,12})")
_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})|(\d{2})\.(\d{2})\.(\d{4})")
# A state as operators write it, in any of the bot's languages (the help shows each its own words).
_STATE_WORDS = {
    Status.NEW: ("new", "новые", "новый", "новая", "новое", "новых", "жаңа", "жаңалары"),
    Status.TAKEN: ("taken", "взятые", "взятых", "взят", "взята", "жұмыста", "алынған"),
    Status.CLOSED: ("closed", "закрытые", "закрытых", "закрыт", "закрыта", "закрытый", "закрытая", "закрытое",
                    "жабылған", "жабылғандар", "жабық"),
}
_STATES = {word: status for status, words in _STATE_WORDS.items() for word in words}
_IN_WORK = re.compile(r"(?<!\w)в\s+работе(?!\w)", re.IGNORECASE)  # Russian's "taken" is two words


@dataclass(frozen=True, slots=True)
class Search:
    number: int | None = None
    phone: str | None = None
    status: Status | None = None
    since: date | None = None  # opened on this day or later (the offices' time)
    until: date | None = None  # … up to the end of this day
    words: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.number or self.phone or self.status or self.since or self.words)


def _day(word: str) -> date | None:
    match = _DAY.fullmatch(word)
    if match is None:
        return None
    year, month, day = (match.group(1), match.group(2), match.group(3)) if match.group(1) else (
        match.group(6), match.group(5), match.group(4))
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def parse(typed: str) -> Search:
    """What a typed search asks for: a phone anywhere in it, a number (12 or №12), new, taken or
    closed (in any of the bot's languages), one day or two (YYYY-MM-DD or DD.MM.YYYY: from, to), and words to find in the
    conversation (at most `MOST_WORDS`, of two letters or more)."""
    phone = None
    match = _PHONE.search(typed)
    if match is not None and (phone := kazakhstan_phone(match.group(0))) is not None:
        typed = typed[:match.start()] + " " + typed[match.end():]
    typed = _IN_WORK.sub(" taken ", typed)
    number, status, days, words = None, None, [], []
    for word in typed.split():
        lowered = word.lower()
        if (found := _NUMBER.fullmatch(word)) is not None and number is None:
            number = int(found.group(1))
        elif lowered in _STATES:
            status = _STATES[lowered]
        elif (day := _day(word)) is not None and len(days) < 2:
            days.append(day)
        elif len(lowered) >= 2 and len(words) < MOST_WORDS:
            words.append(lowered)
    since, until = (sorted(days) + [None, None])[:2] if days else (None, None)
    if since is not None and until is None:
        until = since  # one day: that day
    return Search(number, phone, status, since, until, tuple(words))


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def search(session: AsyncSession, operator: Operator, wanted: Search, zone: tzinfo) -> tuple[list[Ticket], bool]:
    """The newest requests that match everything asked, within the operator's scope (at most
    `MOST_FOUND`), and whether there were more."""
    fresh = await access.current(session, operator, Act.REQUESTS)
    conditions = []
    office = access.own_region(fresh, Act.REQUESTS)
    if office is not None:
        conditions.append(_tickets.c.office == office)
    if wanted.number is not None:
        conditions.append(_tickets.c.id == wanted.number)
    if wanted.phone is not None:
        # The request's own phone (the help form's, a call back's), or the number said or shared in
        # the conversation: its national digits (the last ten), through the digits' trigram index.
        said = _tickets.c.id.in_(
            select(_messages.c.ticket_id).where(text(f"{CONVERSATION_DIGITS} LIKE :digits").bindparams(digits=f"%{wanted.phone[-10:]}%"))
        )
        conditions.append(or_(_tickets.c.phone == wanted.phone, said))
    if wanted.status is not None:
        conditions.append(_tickets.c.status == wanted.status.value)
    if wanted.since is not None:
        conditions.append(_tickets.c.created_at >= datetime.combine(wanted.since, datetime.min.time(), zone))
    if wanted.until is not None:
        end = datetime.combine(wanted.until + timedelta(days=1), datetime.min.time(), zone)
        conditions.append(_tickets.c.created_at < end)
    for word in wanted.words:
        pattern = _like(word)
        # The messages that hold the word, found through their trigram index, then their requests.
        in_conversation = _tickets.c.id.in_(
            select(_messages.c.ticket_id).where(_messages.c.text.ilike(pattern, escape="\\"))
        )
        conditions.append(or_(in_conversation, _tickets.c.resolution.ilike(pattern, escape="\\"),
                              cast(_tickets.c.details, Text).ilike(pattern, escape="\\")))
    statement = (
        select(*_TICKET_COLUMNS).select_from(_TICKET_FROM).where(and_(*conditions))
        .order_by(_tickets.c.id.desc()).limit(MOST_FOUND + 1)
    )
    found = [Ticket.from_row(row) for row in (await session.execute(statement)).mappings()]
    return found[:MOST_FOUND], len(found) > MOST_FOUND
