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

from bot.db.driver import Statement
from bot.db.models import KnowledgeDay, KnowledgeGap
from bot.services import access
from bot.services.access import Act
from bot.services.clock import today_in_kazakhstan
from bot.services.knowledge.model import MAX_WAY_LENGTH
from bot.services.knowledge.search import KnowledgeBase, is_stopword, words
from bot.services.spellings import fold
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

_EMAIL = re.compile(r"[\w.+-]+(@|\s?\(at\)\s?|\s?\[at\]\s?)[\w-]+(\.[\w-]+)+", re.IGNORECASE)
_LINK = re.compile(r"(https?://|www\.|t\.me/)\S+|\b[\w-]+\.(kz|ru|com|org|net|me)(/\S*)?\b", re.IGNORECASE)
_HANDLE = re.compile(r"@\w{3,}|\b(instagram|insta|inst|инстаграм|инста|telegram|телеграм|tg|vk|вк)\s*:?\s*[\w.]{3,}", re.IGNORECASE)
_PHONE = re.compile(r"(\+?\d[\d\s()\-]{6,}\d)")
_NUMBER = re.compile(r"\d+")
_UPPER = "A-ZА-ЯЁӘҒҚҢӨҰҮҺІÄÖÜŞĞŪÑÇİ"
_LOWER = "a-zа-яёәғқңөұүһіäöüşğūñçı"
# A word with a capital letter (a name, wherever it stands) and an initial ("И.", "A.").
_CAPITALISED = re.compile(rf"\b[{_UPPER}][{_UPPER}{_LOWER}'’-]*")
_INITIAL = re.compile(rf"\b[{_UPPER}]\.")
# What introduces a name in the three languages: the words after it are a name, capitals or not.
_NAME_FOLLOWS = re.compile(
    rf"\b(зовут|звать|фио|фамилия|имя|name is|i am|i'm|атым|есімім|тегім|аты-жөнім)\s*:?\s+([{_UPPER}{_LOWER}'’-]+)(\s+[{_UPPER}{_LOWER}'’-]+)?",
    re.IGNORECASE,
)


# Words that open a question, capitalised but no name (beside the search's own stop words).
_OPENING_WORDS = frozenset(fold(w) for w in """
    здравствуйте добрый доброе день утро вечер привет помогите нужна нужен подскажите скажите можно
    сәлеметсіз сәлем қайырлы күн кеш таң көмектесіңіз айтыңызшы маған
    hello hi good morning afternoon evening please help can could where what how who when
    """.split())


def is_common(word: str) -> bool:
    return fold(word) in _OPENING_WORDS or is_stopword(word)


class GapKind(StrEnum):
    NOTHING = "nothing"  # the search found nothing: the question is kept, masked
    OPERATOR = "operator"  # an answer was shown, and the person asked an operator after it: only which answer


def mask(question: str, kb: KnowledgeBase, place_names: frozenset[str] = frozenset()) -> str:
    """The question without what could name or reach a person: e-mails, links, handles, phone
    numbers and any other number, initials, the words after "меня зовут", "my name is", "атым"…,
    and every word with a capital letter that neither the knowledge base, the common words of a
    question nor the place names know (a name is the likeliest). Lower-case names elsewhere in a
    sentence cannot be told from other words: the texts are kept RETENTION_DAYS and shown only to
    the national office's coordinators."""
    masked = _EMAIL.sub("[e-mail]", question)
    masked = _LINK.sub("[link]", masked)
    masked = _HANDLE.sub("[@]", masked)
    masked = _PHONE.sub("[phone]", masked)
    masked = _NUMBER.sub("#", masked)
    masked = _NAME_FOLLOWS.sub(lambda m: f"{m[1]} [name]", masked)
    masked = _INITIAL.sub("[name]", masked)

    def name(match: re.Match) -> str:
        word = match[0]
        if kb.knows(word) or is_common(word) or word.lower() in place_names:
            return word
        return "[name]"

    masked = _CAPITALISED.sub(name, masked)
    return " ".join(masked.split())[:MAX_KEPT_LENGTH]


# Words alike in their first letters are one word here: Russian and Kazakh change a word's end
# ("справка", "справку"; "кітапша", "кітапшаны"), rarely its first five letters.
STEM_LENGTH = 5
_MASKS = {"phone", "link", "name", "mail"}


def group_key(masked: str) -> str:
    """The question's meaningful words, cut to their first letters and sorted: questions worded
    alike share a key (near keys are joined in `groups`)."""
    stems = {w[:STEM_LENGTH] for w in words(masked) if w not in _MASKS}
    return " ".join(sorted(stems))[:MAX_KEPT_LENGTH]


async def record(
    session: AsyncSession, kb: KnowledgeBase, question: str | None, language: str, kind: GapKind, *,
    answer: str | None = None, place_names: frozenset[str] = frozenset(),
) -> None:
    """Keep a question the base did not find (masked), or which answer (`answer`: "topic/question")
    did not settle one: what was then asked of an operator is a request's, and is not kept here."""
    topic, _, question_id = (answer or "").partition("/")
    if kind is GapKind.OPERATOR:
        if topic and question_id:
            await session.execute(insert(_gaps).values(language=language, kind=kind.value, text="", words="", topic=topic, question=question_id))
        return
    masked = mask(question or "", kb, place_names)
    key = group_key(masked)
    if not key:  # nothing left to learn from: "?", a sticker's emoji, only a phone number
        return
    await session.execute(insert(_gaps).values(language=language, kind=kind.value, text=masked, words=key))


# Once a question, so on the update's own connection (`bot/db/driver.py`).
_COUNT = Statement(text(
    """
    INSERT INTO knowledge_days AS d (day, language, topic, shard, answered, unanswered, to_operator)
    VALUES (:day, :language, :topic, :shard, :answered, :unanswered, :to_operator)
    ON CONFLICT (day, language, topic, shard) DO UPDATE SET
        answered = d.answered + EXCLUDED.answered, unanswered = d.unanswered + EXCLUDED.unanswered,
        to_operator = d.to_operator + EXCLUDED.to_operator
    """
))


async def count(session: AsyncSession, language: str, topic: str | None, *, answered: int = 0, unanswered: int = 0, to_operator: int = 0) -> None:
    """Add to today's counts of questions the base answered, did not, or that went on to an operator."""
    await _COUNT.execute(session, {
        "day": today_in_kazakhstan(), "language": language, "topic": topic or "", "shard": random.randrange(COUNTER_SHARDS),
        "answered": answered, "unanswered": unanswered, "to_operator": to_operator,
    })


# The most asked wordings read to form the groups shown: grouping is quadratic in them, and runs
# in the event loop (about 30 ms for 300).
KEYS_READ = 300


@dataclass
class Group:
    """Questions worded alike: how many, in which languages, examples (most frequent first).
    `handle` (its oldest question's id) names it on buttons."""

    handle: int
    keys: Counter = field(default_factory=Counter)  # wording key -> questions
    languages: Counter = field(default_factory=Counter)
    texts: Counter = field(default_factory=Counter)
    last: datetime | None = None

    @property
    def size(self) -> int:
        return sum(self.keys.values())

    @property
    def language(self) -> str:
        return self.languages.most_common(1)[0][0] if self.languages else "kk"

    def examples(self, limit: int = EXAMPLES_SHOWN) -> list[str]:
        return [text_ for text_, _ in self.texts.most_common(limit)]

    @property
    def phrase(self) -> str:
        """The most asked wording without its masks: to add as a way of asking, or as a question."""
        examples = self.examples(1)
        example = re.sub(r"\[[^\]]*\]|#", " ", examples[0] if examples else "")
        return " ".join(example.split())[:MAX_WAY_LENGTH].strip(" ,.;:-")


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) >= SAME_GROUP


_OPEN = (_gaps.c.resolved_at.is_(None)) & (_gaps.c.kind == GapKind.NOTHING.value)


async def _grouped(session: AsyncSession) -> list[Group]:
    """The open questions' most asked wordings, joined into groups, most asked first."""
    rows = (
        await session.execute(
            select(_gaps.c.words, func.count(), func.min(_gaps.c.id), func.max(_gaps.c.at))
            .where(_OPEN).group_by(_gaps.c.words)
            .order_by(func.count().desc(), func.max(_gaps.c.at).desc()).limit(KEYS_READ)
        )
    ).all()
    merged: list[tuple[Group, list[frozenset[str]]]] = []
    for key, size, first_id, last in rows:
        stems = frozenset(key.split())
        home = next((entry for entry in merged if any(_similar(stems, known) for known in entry[1])), None)
        if home is None:
            home = (Group(first_id), [])
            merged.append(home)
        group, known = home
        group.handle = min(group.handle, first_id)
        group.keys[key] += size
        group.last = max(group.last, last) if group.last else last
        known.append(stems)
    groups = [group for group, _ in merged]
    groups.sort(key=lambda g: (-g.size, -(g.last.timestamp() if g.last else 0)))
    return groups


async def _fill(session: AsyncSession, found: list[Group]) -> None:
    """Each group's languages and most asked wordings."""
    owner = {key: group for group in found for key in group.keys}
    if not owner:
        return
    rows = (
        await session.execute(
            select(_gaps.c.words, _gaps.c.language, _gaps.c.text, func.count())
            .where(_OPEN, _gaps.c.words.in_(list(owner))).group_by(_gaps.c.words, _gaps.c.language, _gaps.c.text)
        )
    ).all()
    for key, language, text_, size in rows:
        owner[key].languages[language] += size
        owner[key].texts[text_] += size


async def groups(session: AsyncSession, by: Operator, limit: int = GROUPS_SHOWN) -> list[Group]:
    """The open groups, most asked first (national coordinators only)."""
    await access.require(session, by, Act.EDIT_KNOWLEDGE)
    found = (await _grouped(session))[:limit]
    await _fill(session, found)
    return found


async def group_of(session: AsyncSession, by: Operator, handle: int) -> Group | None:
    """The open group that holds the question `handle` now (groups are formed anew on each read)."""
    await access.require(session, by, Act.EDIT_KNOWLEDGE)
    key = await session.scalar(select(_gaps.c.words).where(_OPEN, _gaps.c.id == handle))
    if key is None:
        return None
    found = next((g for g in await _grouped(session) if key in g.keys), None)
    if found is None:  # asked too seldom to be among the wordings read: a group of its own
        found = Group(handle, Counter({key: 1}))
    await _fill(session, [found])
    return found


async def resolve(session: AsyncSession, by: Operator, group: Group) -> int:
    """Mark a group's questions as dealt with (a way of asking added, an answer written, or set aside)."""
    await access.require(session, by, Act.EDIT_KNOWLEDGE)
    result = await session.execute(
        update(_gaps).where(_OPEN, _gaps.c.words.in_(list(group.keys))).values(resolved_at=func.now(), resolved_by=by.telegram_id)
    )
    return result.rowcount


@dataclass(frozen=True, slots=True)
class AfterAnswer:
    """An answer after which people still asked an operator, and how many times."""

    topic: str
    question: str
    count: int


async def after_answers(session: AsyncSession, by: Operator, limit: int = GROUPS_SHOWN) -> list[AfterAnswer]:
    await access.require(session, by, Act.EDIT_KNOWLEDGE)
    rows = (
        await session.execute(
            select(_gaps.c.topic, _gaps.c.question, func.count())
            .where(_gaps.c.resolved_at.is_(None), _gaps.c.kind == GapKind.OPERATOR.value)
            .group_by(_gaps.c.topic, _gaps.c.question).order_by(func.count().desc()).limit(limit)
        )
    ).all()
    return [AfterAnswer(topic, question, count) for topic, question, count in rows]


async def resolve_answer(session: AsyncSession, by: Operator, topic: str, question: str) -> int:
    await access.require(session, by, Act.EDIT_KNOWLEDGE)
    result = await session.execute(
        update(_gaps).where(
            _gaps.c.resolved_at.is_(None), _gaps.c.kind == GapKind.OPERATOR.value, _gaps.c.topic == topic,
            _gaps.c.question == question,
        ).values(resolved_at=func.now(), resolved_by=by.telegram_id)
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
    open_wordings: int


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
    # Wordings still open, not groups: grouping them all would cost too much for a report.
    open_wordings = await session.scalar(select(func.count(func.distinct(_gaps.c.words))).where(_OPEN))
    return Answering(
        Share(*total), {k: Share(*v) for k, v in languages.items()}, {k: Share(*v) for k, v in topics.items()}, open_wordings
    )
