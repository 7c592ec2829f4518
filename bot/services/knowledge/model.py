"""What the knowledge base is made of: topics, their questions (with the ways people ask them) and
answers in kk, ru and en, and the rules a topic must keep, whether it comes from a file, the
database or a coordinator's edit.

A text may be missing in a language while a coordinator is still writing it (a new answer in Kazakh
first). A reader of that language then gets another language's text and is told so (`Shown`), never
a silent swap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from bot.config import SUPPORTED_LANGUAGES
from bot.services.lengths import utf16_length

SLUG_RE = re.compile(r"^[a-z0-9-]{1,10}$")
MAX_TITLE_LENGTH = 60
MAX_QUESTION_LENGTH = 200
# Telegram allows 4096 characters; leave room for the question heading and the fallback notice.
MAX_ANSWER_LENGTH = 3500
MAX_WAYS_OF_ASKING = 30
MAX_WAY_LENGTH = 100
# What an answer may offer beside it: a button into one of the bot's own flows.
ACTIONS = frozenset({"marathon"})


class KnowledgeBaseError(ValueError):
    """Content breaks a rule; the message names where and which field."""


@dataclass(frozen=True, slots=True)
class Shown:
    """A text as one reader gets it: in `language`, which is theirs unless `fallback`."""

    text: str
    language: str
    fallback: bool


def pick(texts: dict[str, str], language: str) -> Shown:
    """The text for a reader of `language`: theirs, else the first there is in kk, ru, en."""
    if texts.get(language):
        return Shown(texts[language], language, False)
    for other in SUPPORTED_LANGUAGES:
        if texts.get(other):
            return Shown(texts[other], other, True)
    raise KnowledgeBaseError("a text with no language at all")


@dataclass(frozen=True, slots=True, eq=False)  # identity: hashable, one object per question
class Question:
    topic_id: str
    id: str
    question: dict[str, str]
    answer: dict[str, str]
    keywords: dict[str, tuple[str, ...]]
    action: str | None = None

    def missing_languages(self) -> list[str]:
        return [lang for lang in SUPPORTED_LANGUAGES if not (self.question.get(lang) and self.answer.get(lang))]


@dataclass(frozen=True, slots=True, eq=False)
class Topic:
    id: str
    title: dict[str, str]
    questions: tuple[Question, ...] = field(default=())

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def missing_languages(self) -> list[str]:
        return [lang for lang in SUPPORTED_LANGUAGES if not self.title.get(lang)]

    def with_question(self, question: Question) -> Topic:
        """This topic with `question` in place of the one of its id, or added at the end."""
        if self.question(question.id) is None:
            return replace(self, questions=(*self.questions, question))
        return replace(self, questions=tuple(question if q.id == question.id else q for q in self.questions))

    def without_question(self, question_id: str) -> Topic:
        return replace(self, questions=tuple(q for q in self.questions if q.id != question_id))


def _texts(raw: dict, name: str, where: str, max_length: int, *, every_language: bool) -> dict[str, str]:
    value = raw.get(name)
    if not isinstance(value, dict):
        raise KnowledgeBaseError(f"{where}: '{name}' must be a table with kk, ru and en")
    texts = {}
    for lang in SUPPORTED_LANGUAGES:
        text = value.get(lang, "")
        if not isinstance(text, str):
            raise KnowledgeBaseError(f"{where}: '{name}.{lang}' must be text")
        text = text.strip()
        if every_language and not text:
            raise KnowledgeBaseError(f"{where}: '{name}.{lang}' is missing or empty")
        if utf16_length(text) > max_length:  # as Telegram counts a message's length
            raise KnowledgeBaseError(f"{where}: '{name}.{lang}' is over {max_length} characters")
        if text:
            texts[lang] = text
    if not texts:
        raise KnowledgeBaseError(f"{where}: '{name}' is empty in every language")
    return texts


def _slug(raw: dict, where: str) -> str:
    slug = raw.get("id")
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise KnowledgeBaseError(f"{where}: 'id' must be 1-10 characters of a-z, 0-9 and '-'")
    return slug


def _keywords(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise KnowledgeBaseError(f"{where}: 'keywords' must be a table of lists")
    keywords = {}
    for lang in SUPPORTED_LANGUAGES:
        ways = raw.get(lang, [])
        if not isinstance(ways, list) or not all(isinstance(w, str) for w in ways):
            raise KnowledgeBaseError(f"{where}: 'keywords.{lang}' must be a list of texts")
        ways = tuple(dict.fromkeys(w.strip() for w in ways if w.strip()))
        if len(ways) > MAX_WAYS_OF_ASKING or any(len(w) > MAX_WAY_LENGTH for w in ways):
            raise KnowledgeBaseError(
                f"{where}: 'keywords.{lang}' holds up to {MAX_WAYS_OF_ASKING} of up to {MAX_WAY_LENGTH} characters"
            )
        keywords[lang] = ways
    return keywords


def parse_topic(raw: dict, where: str, *, every_language: bool = True) -> Topic:
    """A topic from its plain form (a TOML file's, or the database's JSON). Files must have every
    language (`every_language`); what coordinators edit in the bot may lack one for a while."""
    topic_id = _slug(raw, where)
    questions: list[Question] = []
    entries = raw.get("questions", [])
    if not isinstance(entries, list):
        raise KnowledgeBaseError(f"{where}: 'questions' must be a list")
    for index, entry in enumerate(entries, start=1):
        q_where = f"{where}: question {index}"
        if not isinstance(entry, dict):
            raise KnowledgeBaseError(f"{q_where}: must be a table")
        question_id = _slug(entry, q_where)
        if any(q.id == question_id for q in questions):
            raise KnowledgeBaseError(f"{q_where}: id {question_id!r} is used twice")
        action = entry.get("action")
        if action is not None and action not in ACTIONS:
            raise KnowledgeBaseError(f"{q_where}: 'action' must be one of {sorted(ACTIONS)}")
        questions.append(
            Question(
                topic_id=topic_id,
                id=question_id,
                question=_texts(entry, "question", q_where, MAX_QUESTION_LENGTH, every_language=every_language),
                answer=_texts(entry, "answer", q_where, MAX_ANSWER_LENGTH, every_language=every_language),
                keywords=_keywords(entry.get("keywords", {}), q_where),
                action=action,
            )
        )
    if every_language and not questions:
        raise KnowledgeBaseError(f"{where}: a topic needs at least one question")
    title = _texts(raw, "title", where, MAX_TITLE_LENGTH, every_language=every_language)
    return Topic(id=topic_id, title=title, questions=tuple(questions))


def plain(topic: Topic) -> dict[str, Any]:
    """The topic's plain form: what `parse_topic` reads, the database keeps and the files hold."""
    return {
        "id": topic.id,
        "title": dict(topic.title),
        "questions": [
            {
                "id": q.id,
                **({"action": q.action} if q.action else {}),
                "question": dict(q.question),
                "answer": dict(q.answer),
                "keywords": {lang: list(q.keywords.get(lang, ())) for lang in SUPPORTED_LANGUAGES},
            }
            for q in topic.questions
        ],
    }
