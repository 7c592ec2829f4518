"""What the knowledge base could not answer, so coordinators learn what to add (/gaps): every
question whose search found nothing, and every question a person took to an operator after an
answer did not settle it. Kept without personal data (phones, e-mails, links, numbers and names
masked) for RETENTION_DAYS, grouped with similar ones, ranked by how many asked.

Also the base's daily counts: questions answered by it, not answered, and taken on to an operator,
per language and topic, for /stats (`share answered without an operator`).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import KnowledgeDay, KnowledgeGap
from bot.services import access
from bot.services.access import Act
from bot.services.clock import today_in_kazakhstan
from bot.services.knowledge.model import MAX_WAY_LENGTH
from bot.services.knowledge.search import KnowledgeBase, words
from bot.services.staff import Operator

MAX_KEPT_LENGTH = 300
GROUPS_SHOWN = 10
EXAMPLES_SHOWN = 3
# Two questions belong together when this share of their words (stems) is the same.
SAME_GROUP = 0.5
# Counter rows per day, language and topic: concurrent questions update different ones, not all
# one row (which would queue every question on one lock).
COUNTER_SHARDS = 8

_gaps = KnowledgeGap.__table__
_days = KnowledgeDay.__table__

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_LINK = re.compile(r"(https?://|www\.)\S+|\b[\w-]+\.(kz|ru|com|org|net)(/\S*)?\b", re.IGNORECASE)
_HANDLE = re.compile(r"@\w{3,}")
_PHONE = re.compile(r"(\+?\d[\d\s()\-]{6,}\d)")
_NUMBER = re.compile(r"\d+")
_CAPITALISED = re.compile(r"\b[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ][a-zа-яёәғқңөұүһі]+\b")
_SENTENCE_START = re.compile(r"(^|[.!?…]\s+)$")


class GapKind(StrEnum):
    NOTHING = "nothing"  # the search found nothing
    OPERATOR = "operator"  # an answer was shown, and the person asked an operator after it


def mask(question: str, kb: KnowledgeBase, place_names: frozenset[str] = frozenset()) -> str:
    """The question without what could name or reach a person: e-mails, links, @handles, phone
    numbers and any other number, and capitalised words that are not at a sentence's start and
    that neither the knowledge base nor the place names know (a name is the likeliest)."""
    masked = _EMAIL.sub("[e-mail]", question)
    masked = _LINK.sub("[link]", masked)
    masked = _HANDLE.sub("[@]", masked)
    masked = _PHONE.sub("[phone]", masked)
    masked = _NUMBER.sub("#", masked)

    def name(match: re.Match) -> str:
        word = match[0]
        if _SENTENCE_START.search(masked[: match.start()]):
            return word
        if kb.knows(word) or word.lower() in place_names:
            return word
        return "[name]"

    masked = _CAPITALISED.sub(name, masked)
    return " ".join(masked.split())[:MAX_KEPT_LENGTH]


# Words alike in their first letters are one word here: Russian and Kazakh change a word's end
# ("справка", "справку"; "кітапша", "кітапшаны"), rarely its first five letters.
STEM_LENGTH = 5


def group_key(masked: str) -> str:
    """The question's meaningful words, cut to their first letters and sorted: questions worded
    alike share a key (near keys are joined in `groups`)."""
    stems = {w[:STEM_LENGTH] for w in words(masked) if w not in {"phone", "link", "name", "mail"}}
    return " ".join(sorted(stems))[:MAX_KEPT_LENGTH]


async def record(
    session: AsyncSession, kb: KnowledgeBase, question: str, language: str, kind: GapKind, *,
    answer: str | None = None, place_names: frozenset[str] = frozenset(),
) -> None:
    """Keep a question the base did not settle (`answer`: "topic/question" shown before, if any)."""
    masked = mask(question, kb, place_names)
    key = group_key(masked)
    if not key:  # nothing left to learn from: "?", a sticker's emoji, only a phone number
        return
    topic, _, question_id = (answer or "").partition("/")
    await session.execute(
        insert(_gaps).values(
            language=language, kind=kind.value, text=masked, words=key, topic=topic or None, question=question_id or None
        )
    )


async def count(session: AsyncSession, language: str, topic: str | None, *, answered: int = 0, unanswered: int = 0, to_operator: int = 0) -> None:
    """Add to today's counts of questions the base answered, did not, or that went on to an operator."""
    await session.execute(
        text(
            """
            INSERT INTO knowledge_days AS d (day, language, topic, shard, answered, unanswered, to_operator)
            VALUES (:day, :language, :topic, :shard, :answered, :unanswered, :to_operator)
            ON CONFLICT (day, language, topic, shard) DO UPDATE SET
                answered = d.answered + EXCLUDED.answered, unanswered = d.unanswered + EXCLUDED.unanswered,
                to_operator = d.to_operator + EXCLUDED.to_operator
            """
        ),
        {
            "day": today_in_kazakhstan(), "language": language, "topic": topic or "", "shard": random.randrange(COUNTER_SHARDS),
            "answered": answered, "unanswered": unanswered, "to_operator": to_operator,
        },
    )


@dataclass
class Group:
    """Questions worded alike: how many, in which languages, examples (most frequent first)."""

    ids: list[int] = field(default_factory=list)
    keys: Counter = field(default_factory=Counter)
    languages: Counter = field(default_factory=Counter)
    texts: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)
    answers: Counter = field(default_factory=Counter)  # "topic/question" shown before an operator was asked
    last: datetime | None = None

    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def language(self) -> str:
        return self.languages.most_common(1)[0][0]

    def examples(self, limit: int = EXAMPLES_SHOWN) -> list[str]:
        return [text_ for text_, _ in self.texts.most_common(limit)]

    @property
    def phrase(self) -> str:
        """The most asked wording without its masks: to add as a way of asking, or as a question."""
        example = re.sub(r"\[[^\]]*\]|#", " ", self.examples(1)[0])
        return " ".join(example.split())[:MAX_WAY_LENGTH].strip(" ,.;:-")

    @property
    def words(self) -> frozenset[str]:
        return frozenset(w for key in self.keys for w in key.split())


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) >= SAME_GROUP


async def groups(session: AsyncSession, by: Operator, limit: int = GROUPS_SHOWN) -> list[Group]:
    """The open groups, most asked first (national coordinators only)."""
    await access.require(session, by, Act.EDIT_KNOWLEDGE)
    rows = (
        await session.execute(
            select(
                _gaps.c.id, _gaps.c.words, _gaps.c.language, _gaps.c.text, _gaps.c.kind, _gaps.c.at, _gaps.c.topic,
                _gaps.c.question,
            )
            .where(_gaps.c.resolved_at.is_(None)).order_by(_gaps.c.id)
        )
    ).all()
    by_key: dict[str, Group] = {}
    for row in rows:
        group = by_key.setdefault(row.words, Group())
        group.ids.append(row.id)
        group.keys[row.words] += 1
        group.languages[row.language] += 1
        group.texts[row.text] += 1
        group.kinds[row.kind] += 1
        if row.topic and row.question:
            group.answers[f"{row.topic}/{row.question}"] += 1
        group.last = max(group.last or row.at, row.at)
    merged: list[Group] = []
    for group in sorted(by_key.values(), key=lambda g: -g.size):
        key = frozenset(next(iter(group.keys)).split())
        home = next((m for m in merged if any(_similar(frozenset(k.split()), key) for k in m.keys)), None)
        if home is None:
            merged.append(group)
            continue
        home.ids += group.ids
        for counter in ("keys", "languages", "texts", "kinds", "answers"):
            getattr(home, counter).update(getattr(group, counter))
        home.last = max(home.last, group.last) if home.last and group.last else home.last or group.last
    merged.sort(key=lambda g: (-g.size, -(g.last.timestamp() if g.last else 0)))
    return merged[:limit]


async def group_of(session: AsyncSession, by: Operator, gap_id: int) -> Group | None:
    """The open group that holds the question `gap_id` now (groups are formed anew on each read)."""
    return next((g for g in await groups(session, by, limit=10_000) if gap_id in g.ids), None)


async def resolve(session: AsyncSession, by: Operator, ids: list[int]) -> int:
    """Mark a group's questions as dealt with (a way of asking added, an answer written, or set aside)."""
    await access.require(session, by, Act.EDIT_KNOWLEDGE)
    result = await session.execute(
        update(_gaps).where(_gaps.c.id.in_(ids), _gaps.c.resolved_at.is_(None))
        .values(resolved_at=func.now(), resolved_by=by.telegram_id)
    )
    return result.rowcount


async def erase_older_than(session: AsyncSession, keep_days: int) -> int:
    """The retention job's part: questions are kept RETENTION_DAYS, dealt with or not."""
    result = await session.execute(delete(_gaps).where(_gaps.c.at < func.now() - bindparam("keep", timedelta(days=keep_days))))
    return result.rowcount


@dataclass(frozen=True, slots=True)
class Share:
    answered: int  # the base's answer was shown
    unanswered: int  # the search found nothing
    to_operator: int  # after an answer, the person asked an operator

    @property
    def asked(self) -> int:
        return self.answered + self.unanswered

    @property
    def settled(self) -> int:
        """Answered by the base, without an operator."""
        return max(self.answered - self.to_operator, 0)

    @property
    def share(self) -> float | None:
        return self.settled / self.asked if self.asked else None


@dataclass(frozen=True, slots=True)
class Answering:
    total: Share
    by_language: dict[str, Share]
    by_topic: dict[str, Share]
    open_groups: int


async def answering(session: AsyncSession, since: date, until: date) -> Answering:
    """How much the base answered by itself between two days (inclusive), for /stats."""
    rows = (
        await session.execute(
            select(_days.c.language, _days.c.topic, func.sum(_days.c.answered), func.sum(_days.c.unanswered), func.sum(_days.c.to_operator))
            .where(_days.c.day.between(since, until)).group_by(_days.c.language, _days.c.topic)
        )
    ).all()
    languages: dict[str, list[int]] = {}
    topics: dict[str, list[int]] = {}
    total = [0, 0, 0]
    for language, topic, answered, unanswered, to_operator in rows:
        figures = (int(answered), int(unanswered), int(to_operator))
        for bucket in (languages.setdefault(language, [0, 0, 0]), total, *([topics.setdefault(topic, [0, 0, 0])] if topic else [])):
            for index, value in enumerate(figures):
                bucket[index] += value
    open_rows = (await session.execute(select(_gaps.c.words).where(_gaps.c.resolved_at.is_(None)))).scalars().all()
    open_groups: list[list[frozenset[str]]] = []
    for key in sorted(Counter(open_rows), key=Counter(open_rows).__getitem__, reverse=True):
        stems = frozenset(key.split())
        home = next((g for g in open_groups if any(_similar(stems, known) for known in g)), None)
        if home is None:
            open_groups.append([stems])
        else:
            home.append(stems)
    return Answering(
        Share(*total), {k: Share(*v) for k, v in languages.items()}, {k: Share(*v) for k, v in topics.items()}, len(open_groups)
    )
