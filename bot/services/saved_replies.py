"""Saved replies: answers operators send again and again, inserted with a tap. Knows nothing of
Telegram.

Each belongs to an office: a region's front-office's own, or the national office's, which every
office may use. A reply has a short name (what an operator types after /r) and a version per
language; the citizen's language picks the version, and a missing one is said to the operator,
never swapped for another language. Coordinators keep the list (`Act.SAVED_REPLIES`: a regional
coordinator their own office's, a national one any office's); every change is in the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SUPPORTED_LANGUAGES
from bot.db.models import SavedReply as SavedReplyRow
from bot.services import access, personal_data
from bot.services.access import Act
from bot.services.directory import NATIONAL
from bot.services.lengths import utf16_length
from bot.services.staff import Operator
from bot.services.tickets import MAX_TEXT_LENGTH

# Lower-case letters of the three languages, digits and "_": typed after /r on a phone's keyboard.
NAME = re.compile(r"[0-9a-zа-яёәғқңөұүһі_]{1,32}")
MOST_PER_OFFICE = 50  # a list an operator can still read as buttons


class Problem(StrEnum):
    BAD_NAME = "bad_name"
    BAD_LANGUAGE = "bad_language"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NOT_FOUND = "not_found"
    TOO_MANY = "too_many"


class ReplyError(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class SavedReply:
    id: int
    office: str
    name: str
    texts: dict[str, str]

    def text_in(self, language: str) -> str | None:
        return self.texts.get(language)

    @property
    def missing(self) -> list[str]:
        """The languages it has no version in, in the bot's order."""
        return [code for code in SUPPORTED_LANGUAGES if not self.texts.get(code)]

    @classmethod
    def from_row(cls, row: Any) -> SavedReply:
        return cls(row["id"], row["office"], row["name"], dict(row["texts"] or {}))


_replies = SavedReplyRow.__table__
_OF_OFFICES = (
    select(_replies).where(_replies.c.office.in_(bindparam("offices", expanding=True)))
    # The office's own first, then the national ones; by name within each.
    .order_by((_replies.c.office == NATIONAL).asc(), _replies.c.name)
)
_BY_ID = select(_replies).where(_replies.c.id == bindparam("reply_id"))
_BY_NAME = select(_replies).where(_replies.c.office == bindparam("office"), _replies.c.name == bindparam("name"))
_COUNT = select(func.count()).select_from(_replies).where(_replies.c.office == bindparam("office"))


def usable_offices(office: str) -> list[str]:
    """Whose replies serve a request at `office`: that office's own and the national ones."""
    return [office] if office == NATIONAL else [office, NATIONAL]


async def usable(session: AsyncSession, office: str) -> list[SavedReply]:
    """The replies operators may send on a request at `office`."""
    rows = (await session.execute(_OF_OFFICES, {"offices": usable_offices(office)})).mappings()
    return [SavedReply.from_row(row) for row in rows]


async def usable_one(session: AsyncSession, office: str, reply_id: int) -> SavedReply | None:
    """The reply if it may be sent on a request at `office` (a forged id of another region's is None)."""
    row = (await session.execute(_BY_ID, {"reply_id": reply_id})).mappings().first()
    if row is None or row["office"] not in usable_offices(office):
        return None
    return SavedReply.from_row(row)


async def usable_by_name(session: AsyncSession, office: str, name: str) -> SavedReply | None:
    """The reply of that name for a request at `office`: the office's own before a national one."""
    for owner in usable_offices(office):
        row = (await session.execute(_BY_NAME, {"office": owner, "name": name.lower()})).mappings().first()
        if row is not None:
            return SavedReply.from_row(row)
    return None


# --- keeping the list (coordinators) -------------------------------------------------------------------

async def kept_by(session: AsyncSession, by: Operator, office: str) -> list[SavedReply]:
    """An office's own replies, for a coordinator who keeps them."""
    await access.require(session, by, Act.SAVED_REPLIES, (office,))
    rows = (await session.execute(_OF_OFFICES, {"offices": [office]})).mappings()
    return [SavedReply.from_row(row) for row in rows]


def check_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise ReplyError(Problem.EMPTY)
    if utf16_length(text) > MAX_TEXT_LENGTH:  # it is relayed as an operator's message, signed
        raise ReplyError(Problem.TOO_LONG)
    return text


async def set_text(
    session: AsyncSession, by: Operator, office: str, name: str, language: str, text: str
) -> SavedReply:
    """Write one language's version of the office's reply `name`, making the reply if it is new."""
    await access.require(session, by, Act.SAVED_REPLIES, (office,))
    name = name.lower()
    if not NAME.fullmatch(name):
        raise ReplyError(Problem.BAD_NAME)
    if language not in SUPPORTED_LANGUAGES:
        raise ReplyError(Problem.BAD_LANGUAGE)
    text = check_text(text)
    before = (await session.execute(_BY_NAME.with_for_update(), {"office": office, "name": name})).mappings().first()
    if before is None and (await session.execute(_COUNT, {"office": office})).scalar_one() >= MOST_PER_OFFICE:
        raise ReplyError(Problem.TOO_MANY)
    statement = pg_insert(_replies).values(office=office, name=name, texts={language: text}, updated_by=by.telegram_id)
    row = (
        await session.execute(
            statement.on_conflict_do_update(
                constraint="saved_replies_name_per_office",
                set_={"texts": _replies.c.texts.op("||")(statement.excluded.texts), "updated_by": by.telegram_id,
                      "updated_at": func.now()},
            ).returning(*_replies.c)
        )
    ).mappings().one()
    await _audit(session, by, office, name, language, before["texts"].get(language) if before else None, text)
    return SavedReply.from_row(row)


async def remove(session: AsyncSession, by: Operator, office: str, name: str, language: str | None = None) -> SavedReply | None:
    """Remove one language's version (`language`), or the whole reply; a reply left with no
    version goes. Returns what is left (None: the reply is gone)."""
    await access.require(session, by, Act.SAVED_REPLIES, (office,))
    before = (await session.execute(_BY_NAME.with_for_update(), {"office": office, "name": name.lower()})).mappings().first()
    if before is None or (language is not None and language not in (before["texts"] or {})):
        raise ReplyError(Problem.NOT_FOUND)
    reply = SavedReply.from_row(before)
    left = {code: text for code, text in reply.texts.items() if code != language} if language else {}
    if left:
        await session.execute(
            update(_replies).where(_replies.c.id == reply.id)
            .values(texts=left, updated_by=by.telegram_id, updated_at=func.now())
        )
    else:
        await session.execute(delete(_replies).where(_replies.c.id == reply.id))
    for code in [language] if language else list(reply.texts):
        await _audit(session, by, office, reply.name, code, reply.texts[code], None)
    return SavedReply(reply.id, office, reply.name, left) if left else None


async def _audit(
    session: AsyncSession, by: Operator, office: str, name: str, language: str, before: str | None, after: str | None
) -> None:
    await personal_data.audit(
        session, personal_data.Action.SAVED_REPLY_CHANGED,
        {"office": office, "name": name, "language": language, "before": before, "after": after},
        actor_id=by.telegram_id, actor=by.name,
    )
