"""The knowledge base in PostgreSQL: read it, seed it from the data files, change it (national
coordinators, from the bot; the command line's import), see its history and undo a change.

Every change is one topic's new plain form, written with a revision that keeps the topic before and
after, an entry in the audit log with the changed text before and after, and a NOTIFY on `CHANNEL`
that makes every running process read the base again when the change commits
(`bot/services/knowledge/live.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import KnowledgeRevision, KnowledgeTopic
from bot.services import access, personal_data
from bot.services.access import Act
from bot.services.knowledge.model import MAX_WAYS_OF_ASKING, KnowledgeBaseError, Question, Topic, parse_topic, plain
from bot.services.knowledge.search import KnowledgeBase
from bot.services.staff import Operator

CHANNEL = "knowledge"
HISTORY_SIZE = 10

_topics = KnowledgeTopic.__table__
_revisions = KnowledgeRevision.__table__


class Change(StrEnum):
    """What a revision changed."""

    TITLE = "title"
    QUESTION = "question"
    ANSWER = "answer"
    WAYS = "ways"  # the ways people ask a question (its keywords)
    NEW_TOPIC = "new_topic"
    NEW_QUESTION = "new_question"
    REMOVE_TOPIC = "remove_topic"
    REMOVE_QUESTION = "remove_question"
    UNDO = "undo"
    IMPORT = "import"  # the command line replaced the topic from a file


class Refusal(StrEnum):
    NO_TOPIC = "no_topic"  # the topic (or question) is not there (any more)
    CHANGED_SINCE = "changed_since"  # undo: the topic changed after this revision
    ALREADY_UNDONE = "already_undone"
    LAST_LANGUAGE = "last_language"  # removing a text would leave it in no language at all
    EDITED_MEANWHILE = "edited_meanwhile"  # someone changed the text after this coordinator opened it
    FULL = "full"  # the question has as many ways of asking in that language as it holds


class KnowledgeRefused(Exception):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Revision:
    id: int
    at: datetime
    actor: str
    topic_id: str
    question_id: str | None
    change: Change
    language: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    undoes: int | None
    undone_by: int | None

    @classmethod
    def from_row(cls, row: Any) -> Revision:
        return cls(
            row["id"], row["at"], row["actor"], row["topic_id"], row["question_id"], Change(row["change"]),
            row["language"], row["before"], row["after"], row["undoes"], row["undone_by"],
        )

    def topic_title(self) -> dict[str, str]:
        return (self.after or self.before or {}).get("title", {})


# --- reading and seeding -------------------------------------------------------------------------

async def load(session: AsyncSession) -> KnowledgeBase:
    rows = (await session.execute(select(_topics.c.id, _topics.c.content).order_by(_topics.c.position, _topics.c.id))).all()
    return KnowledgeBase([parse_topic(content, f"topic {topic_id}", every_language=False) for topic_id, content in rows])


async def version(session: AsyncSession) -> int:
    """Grows with every change that commits (a count, not the newest id: ids are taken before
    commit, so a later id may commit first)."""
    return await session.scalar(select(func.count()).select_from(_revisions))


async def seed(session: AsyncSession, topics: list[Topic]) -> bool:
    """Fill an empty base with `topics` (the data files); True if it was empty. Several processes
    starting at once: the first takes the table's lock and seeds, the others then find it full."""
    await session.execute(text("LOCK TABLE knowledge_topics IN SHARE ROW EXCLUSIVE MODE"))
    if await session.scalar(select(func.count()).select_from(_topics)):
        return False
    if await session.scalar(select(func.count()).select_from(_revisions)):
        return False  # emptied by coordinators on purpose: not filled again behind their backs
    await session.execute(
        insert(_topics), [{"id": t.id, "position": p, "content": plain(t)} for p, t in enumerate(topics, start=1)]
    )
    return True


# --- changing --------------------------------------------------------------------------------------

async def _locked(session: AsyncSession, topic_id: str) -> tuple[Topic | None, int | None]:
    row = (
        await session.execute(
            select(_topics.c.content, _topics.c.position).where(_topics.c.id == topic_id).with_for_update()
        )
    ).first()
    if row is None:
        return None, None
    return parse_topic(row.content, f"topic {topic_id}", every_language=False), row.position


def _snapshot(topic: Topic | None, position: int | None) -> dict[str, Any] | None:
    return None if topic is None else {"position": position, **plain(topic)}


def _field(snapshot: dict[str, Any] | None, change: Change, question_id: str | None, language: str | None) -> Any:
    """The changed text itself, for the audit log (not the whole topic)."""
    if snapshot is None:
        return None
    if change is Change.TITLE:
        return snapshot["title"].get(language or "", None) if language else snapshot["title"]
    question = next((q for q in snapshot["questions"] if q["id"] == question_id), None)
    if question is None:
        return None
    if change in (Change.QUESTION, Change.ANSWER):
        return question[change.value].get(language or "")
    if change is Change.WAYS:
        return question["keywords"].get(language or "")
    return question["question"] if question_id else snapshot["title"]


async def _write(
    session: AsyncSession, actor_id: int | None, actor: str, topic_id: str, new: Topic | None, change: Change, *,
    question_id: str | None = None, language: str | None = None, position: int | None = None, undoes: int | None = None,
) -> Revision:
    before, before_position = await _locked(session, topic_id)
    if new is not None:
        # Whatever the way in, the stored topic keeps the rules a file must (bar the languages).
        new = parse_topic(plain(new), f"topic {topic_id}", every_language=False)
    if before is None and new is not None:
        position = position or (await session.scalar(select(func.coalesce(func.max(_topics.c.position), 0)))) + 1
        await session.execute(insert(_topics).values(id=topic_id, position=position, content=plain(new)))
    elif new is not None:
        position = position or before_position
        await session.execute(
            update(_topics).where(_topics.c.id == topic_id).values(position=position, content=plain(new), updated_at=func.now())
        )
    elif before is not None:
        await session.execute(delete(_topics).where(_topics.c.id == topic_id))
    snapshot_before, snapshot_after = _snapshot(before, before_position), _snapshot(new, position)
    row = (
        await session.execute(
            insert(_revisions).values(
                actor_id=actor_id, actor=actor, topic_id=topic_id, question_id=question_id, change=change.value,
                language=language, before=snapshot_before, after=snapshot_after, undoes=undoes,
            ).returning(*_revisions.c)
        )
    ).mappings().one()
    await personal_data.audit(
        session, personal_data.Action.KNOWLEDGE_CHANGED,
        {
            "revision": row["id"], "topic": topic_id, "question": question_id, "change": change.value,
            "language": language, "before": _field(snapshot_before, change, question_id, language),
            "after": _field(snapshot_after, change, question_id, language),
        },
        actor_id=actor_id, actor=actor,
    )
    await session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": str(row["id"])})
    return Revision.from_row(row)


async def _editable(session: AsyncSession, by: Operator, topic_id: str) -> Topic:
    await access.require(session, by, Act.EDIT_KNOWLEDGE)
    topic, _ = await _locked(session, topic_id)
    if topic is None:
        raise KnowledgeRefused(Refusal.NO_TOPIC)
    return topic


def _with_text(texts: dict[str, str], language: str, value: str) -> dict[str, str]:
    changed = {**texts, language: value.strip()} if value.strip() else {k: v for k, v in texts.items() if k != language}
    if not changed:
        raise KnowledgeRefused(Refusal.LAST_LANGUAGE)
    return changed


_UNSEEN = object()  # a change made without a text seen first (the command line, /gaps)


def _check_seen(current: object, seen: object) -> None:
    """The coordinator wrote their text over `seen`: if someone changed it meanwhile, theirs is not
    silently overwritten."""
    if seen is not _UNSEEN and current != seen:
        raise KnowledgeRefused(Refusal.EDITED_MEANWHILE)


async def set_title(
    session: AsyncSession, by: Operator, topic_id: str, language: str, title: str, *, seen: object = _UNSEEN
) -> Revision:
    topic = await _editable(session, by, topic_id)
    _check_seen(topic.title.get(language), seen)
    new = Topic(topic.id, _with_text(topic.title, language, title), topic.questions)
    return await _write(session, by.telegram_id, by.name, topic_id, new, Change.TITLE, language=language)


async def set_text(
    session: AsyncSession, by: Operator, topic_id: str, question_id: str, change: Change, language: str, value: str,
    *, seen: object = _UNSEEN,
) -> Revision:
    """The question's wording (`Change.QUESTION`) or its answer (`Change.ANSWER`) in `language`;
    an empty `value` removes that language's text (the reader then gets another, with a notice)."""
    assert change in (Change.QUESTION, Change.ANSWER)
    topic = await _editable(session, by, topic_id)
    question = topic.question(question_id)
    if question is None:
        raise KnowledgeRefused(Refusal.NO_TOPIC)
    field = change.value
    _check_seen(getattr(question, field).get(language), seen)
    changed = Question(
        question.topic_id, question.id,
        _with_text(question.question, language, value) if field == "question" else question.question,
        _with_text(question.answer, language, value) if field == "answer" else question.answer,
        question.keywords, question.action,
    )
    return await _write(
        session, by.telegram_id, by.name, topic_id, topic.with_question(changed), change,
        question_id=question_id, language=language,
    )


async def set_ways(
    session: AsyncSession, by: Operator, topic_id: str, question_id: str, language: str, ways: list[str],
    *, seen: object = _UNSEEN,
) -> Revision:
    topic = await _editable(session, by, topic_id)
    question = topic.question(question_id)
    if question is None:
        raise KnowledgeRefused(Refusal.NO_TOPIC)
    _check_seen(list(question.keywords.get(language, ())), seen)
    changed = Question(
        question.topic_id, question.id, question.question, question.answer,
        {**question.keywords, language: tuple(ways)}, question.action,
    )
    return await _write(
        session, by.telegram_id, by.name, topic_id, topic.with_question(changed), Change.WAYS,
        question_id=question_id, language=language,
    )


async def add_way(session: AsyncSession, by: Operator, topic_id: str, question_id: str, language: str, way: str) -> Revision:
    """One more way of asking, added to the list as it is now (not as this process last read it)."""
    topic = await _editable(session, by, topic_id)
    question = topic.question(question_id)
    if question is None:
        raise KnowledgeRefused(Refusal.NO_TOPIC)
    ways = list(dict.fromkeys([*question.keywords.get(language, ()), way]))
    if len(ways) > MAX_WAYS_OF_ASKING:
        raise KnowledgeRefused(Refusal.FULL)
    return await set_ways(session, by, topic_id, question_id, language, ways)


def _next_id(prefix: str, taken: set[str]) -> str:
    """The next id never used: not the lowest free one, so that a stale button, a form in
    progress or a request's "came from this answer" never points at a different question."""
    numbers = [int(t[len(prefix):]) for t in taken if t.startswith(prefix) and t[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


async def add_topic(session: AsyncSession, by: Operator, language: str, title: str) -> Revision:
    await access.require(session, by, Act.EDIT_KNOWLEDGE)
    # Two coordinators adding a topic at once: one after the other, each with its own id.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('knowledge_topics'))"))
    taken = set((await session.execute(select(_topics.c.id))).scalars()) | set(
        (await session.execute(select(_revisions.c.topic_id).distinct())).scalars()
    )
    topic_id = _next_id("t", taken)
    new = Topic(topic_id, {language: title.strip()}, ())
    return await _write(session, by.telegram_id, by.name, topic_id, new, Change.NEW_TOPIC, language=language)


async def add_question(
    session: AsyncSession, by: Operator, topic_id: str, language: str, wording: str, answer: str
) -> Revision:
    topic = await _editable(session, by, topic_id)  # locked: one new question of a topic at a time
    used = set(
        (await session.execute(
            select(_revisions.c.question_id).where(_revisions.c.topic_id == topic_id, _revisions.c.question_id.is_not(None)).distinct()
        )).scalars()
    )
    question_id = _next_id("q", {q.id for q in topic.questions} | used)
    question = Question(topic_id, question_id, {language: wording.strip()}, {language: answer.strip()}, {})
    return await _write(
        session, by.telegram_id, by.name, topic_id, topic.with_question(question), Change.NEW_QUESTION,
        question_id=question_id, language=language,
    )


async def remove_question(session: AsyncSession, by: Operator, topic_id: str, question_id: str) -> Revision:
    topic = await _editable(session, by, topic_id)
    if topic.question(question_id) is None:
        raise KnowledgeRefused(Refusal.NO_TOPIC)
    return await _write(
        session, by.telegram_id, by.name, topic_id, topic.without_question(question_id), Change.REMOVE_QUESTION,
        question_id=question_id,
    )


async def remove_topic(session: AsyncSession, by: Operator, topic_id: str) -> Revision:
    await _editable(session, by, topic_id)
    return await _write(session, by.telegram_id, by.name, topic_id, None, Change.REMOVE_TOPIC)


# --- history ---------------------------------------------------------------------------------------

async def history(session: AsyncSession, by: Operator, limit: int = HISTORY_SIZE, before_id: int | None = None) -> list[Revision]:
    await access.require(session, by, Act.EDIT_KNOWLEDGE)
    query = select(_revisions).order_by(_revisions.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(_revisions.c.id < before_id)
    return [Revision.from_row(row) for row in (await session.execute(query)).mappings()]


async def revision(session: AsyncSession, by: Operator, revision_id: int) -> Revision | None:
    await access.require(session, by, Act.EDIT_KNOWLEDGE)
    row = (await session.execute(select(_revisions).where(_revisions.c.id == revision_id))).mappings().first()
    return Revision.from_row(row) if row else None


async def undo(session: AsyncSession, by: Operator, revision_id: int) -> Revision:
    """Put the topic back as it was before `revision_id`, if nothing changed it since."""
    await access.require(session, by, Act.EDIT_KNOWLEDGE)
    row = (
        await session.execute(select(_revisions).where(_revisions.c.id == revision_id).with_for_update())
    ).mappings().first()
    if row is None:
        raise KnowledgeRefused(Refusal.NO_TOPIC)
    undone = Revision.from_row(row)
    if undone.undone_by is not None:
        raise KnowledgeRefused(Refusal.ALREADY_UNDONE)
    current, position = await _locked(session, undone.topic_id)
    if _snapshot(current, position) != undone.after:
        raise KnowledgeRefused(Refusal.CHANGED_SINCE)
    restored = None
    if undone.before is not None:
        restored = parse_topic(undone.before, f"revision {revision_id}", every_language=False)
    made = await _write(
        session, by.telegram_id, by.name, undone.topic_id, restored, Change.UNDO,
        question_id=undone.question_id, language=undone.language,
        position=(undone.before or {}).get("position"), undoes=undone.id,
    )
    await session.execute(update(_revisions).where(_revisions.c.id == undone.id).values(undone_by=made.id))
    return made


# --- the command line's import ----------------------------------------------------------------------

async def replace_all(session: AsyncSession, topics: list[Topic], actor: str) -> list[Revision]:
    """Make the base exactly `topics` (the files of an export, edited): changed topics are rewritten,
    new ones added, missing ones removed, each as a revision that can be undone in the bot."""
    if not topics:
        raise KnowledgeBaseError("an import with no topics would empty the knowledge base")
    rows = {
        topic_id: (content, position)
        for topic_id, content, position in (await session.execute(select(_topics.c.id, _topics.c.content, _topics.c.position))).all()
    }
    made = []
    for position, topic in enumerate(topics, start=1):
        current = rows.get(topic.id)
        if current is not None and current[0] == plain(topic) and current[1] == position:
            continue
        made.append(await _write(session, None, actor, topic.id, topic, Change.IMPORT, position=position))
    for topic_id in set(rows) - {t.id for t in topics}:
        made.append(await _write(session, None, actor, topic_id, None, Change.IMPORT))
    return made
