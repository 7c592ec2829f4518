"""The marathon's awards: up to ten nominations, each named in kk, ru and en; participants
shortlisted for them; the winners chosen from the shortlist; and the announcement of the winners to
every participant (once), owed through the outbox in the transaction that records it. Knows nothing
of Telegram."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SUPPORTED_LANGUAGES
from bot.db.models import Nomination as NominationRow
from bot.db.models import is_row_id
from bot.db.models import Nominee, Participant, WinnersAnnouncement
from bot.services import outbox

MAX_NOMINATIONS = 10
MAX_NAME_LENGTH = 100
SLUG = re.compile(r"[a-z0-9-]{1,32}")


class NominationError(ValueError):
    """A request about nominations that cannot be carried out; the message says why (for the
    command line; the bot words its own)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    participant_id: int
    display_name: str | None  # None: anonymous
    region: str
    winner: bool


@dataclass(frozen=True, slots=True)
class Nomination:
    slug: str
    name: dict[str, str]
    candidates: tuple[Candidate, ...] = ()

    @property
    def winners(self) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if c.winner)


_nominations = NominationRow.__table__
_nominees = Nominee.__table__
_participants = Participant.__table__
_announcements = WinnersAnnouncement.__table__
_new = pg_insert(_nominations).values(slug=bindparam("key"), name=bindparam("names"))
_SET = _new.on_conflict_do_update(index_elements=[_nominations.c.slug], set_={"name": _new.excluded.name})
_COUNT = select(func.count()).select_from(_nominations)
_EXISTS = select(_nominations.c.slug).where(_nominations.c.slug == bindparam("key"))
_ALL = select(_nominations.c.slug, _nominations.c.name).order_by(_nominations.c.created_at, _nominations.c.slug)
_CANDIDATES = (
    select(_nominees.c.nomination, _participants.c.telegram_id, _participants.c.display_name, _participants.c.region,
           _nominees.c.winner)
    .select_from(_nominees.join(_participants, _participants.c.telegram_id == _nominees.c.participant_id))
    .order_by(_nominees.c.nomination, _nominees.c.winner.desc(), _nominees.c.added_at)
)
_SHORTLIST = pg_insert(_nominees).values(nomination=bindparam("key"), participant_id=bindparam("who")).on_conflict_do_nothing()
_CROWN = (
    update(_nominees).where(_nominees.c.nomination == bindparam("key"), _nominees.c.participant_id == bindparam("who"))
    .values(winner=True).returning(_nominees.c.participant_id)
)
_IS_PARTICIPANT = select(_participants.c.telegram_id).where(_participants.c.telegram_id == bindparam("who"))
_ANNOUNCED = select(_announcements.c.announced_at).order_by(_announcements.c.id).limit(1)
# Every participant is owed the announcement in one statement, however many there are.
# (Those who turned announcements off in their settings are left out.)
_OWE_EVERYONE = text(
    "INSERT INTO outbox (chat_id, kind, payload) "
    "SELECT p.telegram_id, 'winners', '{}'::jsonb FROM participants AS p "
    "JOIN users AS u ON u.telegram_id = p.telegram_id AND u.announcements"
)
_RECORD = insert(_announcements).values(announced_by=bindparam("by"), recipients=bindparam("count"))


async def set_nomination(session: AsyncSession, slug: str, names: dict[str, str]) -> Nomination:
    """Add a nomination, or rename one. At most ten."""
    slug = slug.strip().lower()
    if not SLUG.fullmatch(slug):
        raise NominationError("a nomination's slug is 1 to 32 of a-z, 0-9 and -")
    names = {lang: " ".join((names.get(lang) or "").split()) for lang in SUPPORTED_LANGUAGES}
    if not all(0 < len(name) <= MAX_NAME_LENGTH for name in names.values()):
        raise NominationError(f"a name in each of kk, ru and en, up to {MAX_NAME_LENGTH} characters")
    exists = (await session.execute(_EXISTS, {"key": slug})).first() is not None
    if not exists and (await session.execute(_COUNT)).scalar_one() >= MAX_NOMINATIONS:
        raise NominationError(f"the marathon has {MAX_NOMINATIONS} nominations already")
    await session.execute(_SET, {"key": slug, "names": names})
    return Nomination(slug, names)


async def nominations(session: AsyncSession) -> list[Nomination]:
    """Every nomination with its shortlist, winners first."""
    candidates: dict[str, list[Candidate]] = {}
    for slug, *row in (await session.execute(_CANDIDATES)).all():
        candidates.setdefault(slug, []).append(Candidate(*row))
    return [Nomination(slug, dict(name), tuple(candidates.get(slug, ()))) for slug, name in (await session.execute(_ALL)).all()]


async def _check(session: AsyncSession, slug: str, participant_id: int) -> None:
    if (await session.execute(_EXISTS, {"key": slug})).first() is None:
        raise NominationError(f"no nomination {slug!r}")
    if not is_row_id(participant_id) or (await session.execute(_IS_PARTICIPANT, {"who": participant_id})).first() is None:
        raise NominationError(f"{participant_id} is not a participant of the marathon")


async def shortlist(session: AsyncSession, slug: str, participant_id: int) -> None:
    await _check(session, slug, participant_id)
    await session.execute(_SHORTLIST, {"key": slug, "who": participant_id})


async def choose_winner(session: AsyncSession, slug: str, participant_id: int) -> None:
    """A winner comes from the nomination's shortlist."""
    await _check(session, slug, participant_id)
    if (await session.execute(_CROWN, {"key": slug, "who": participant_id})).first() is None:
        raise NominationError(f"{participant_id} is not on the shortlist of {slug!r}")


async def announce_winners(session: AsyncSession, by: int | None) -> int:
    """Owe every participant the list of winners (rendered in their language when sent); returns how
    many. Once only, and only when every nomination has a winner."""
    # Two coordinators announcing at once: the second waits here, then finds it done.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('marathon winners'))"))
    if (await session.execute(_ANNOUNCED)).first() is not None:
        raise NominationError("the winners have been announced already")
    found = await nominations(session)
    if not found or any(not n.winners for n in found):
        raise NominationError("every nomination needs a winner first")
    count = (await session.execute(_OWE_EVERYONE)).rowcount
    await session.execute(_RECORD, {"by": by, "count": count})
    await outbox.wake_workers(session)
    return count
