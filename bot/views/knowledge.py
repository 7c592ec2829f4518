"""Inline keyboards to browse the knowledge base: topics, a topic's questions, an answer."""

from __future__ import annotations

from functools import lru_cache

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.services.knowledge import KnowledgeBase, Question, Topic
from bot.views.callbacks import AskFromAnswer, HelpFormStep, KnowledgeNav, KnowledgeView

PAGE_SIZE = 6


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def _pager(builder: InlineKeyboardBuilder, page: int, pages: int, view: KnowledgeView, topic: str = "") -> int:
    """Add ◀ n/N ▶ when there is more than one page; return the number of buttons added."""
    if pages <= 1:
        return 0
    added = 0
    if page > 0:
        builder.button(text="◀", callback_data=KnowledgeNav(view=view, topic=topic, page=page - 1))
        added += 1
    if page < pages - 1:
        builder.button(text="▶", callback_data=KnowledgeNav(view=view, topic=topic, page=page + 1))
        added += 1
    return added


@lru_cache(maxsize=64)  # static per language and page; no gettext inside
def topics_keyboard(kb: KnowledgeBase, language: str, page: int = 0) -> InlineKeyboardMarkup:
    pages = page_count(len(kb.topics))
    page = min(max(page, 0), pages - 1)
    builder = InlineKeyboardBuilder()
    shown = kb.topics[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    for topic in shown:
        builder.button(text=topic.title[language], callback_data=KnowledgeNav(view=KnowledgeView.TOPIC, topic=topic.id))
    nav = _pager(builder, page, pages, KnowledgeView.TOPICS)
    builder.adjust(*([1] * len(shown)), *([nav] if nav else []))
    return builder.as_markup()


def topic_keyboard(topic: Topic, language: str, page: int = 0) -> InlineKeyboardMarkup:
    pages = page_count(len(topic.questions))
    page = min(max(page, 0), pages - 1)
    builder = InlineKeyboardBuilder()
    shown = topic.questions[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    for question in shown:
        builder.button(
            text=question.question[language],
            callback_data=KnowledgeNav(view=KnowledgeView.ANSWER, topic=topic.id, question=question.id),
        )
    nav = _pager(builder, page, pages, KnowledgeView.TOPIC, topic.id)
    builder.button(text=_("📚 All topics"), callback_data=KnowledgeNav(view=KnowledgeView.TOPICS))
    builder.adjust(*([1] * len(shown)), *([nav] if nav else []), 1)
    return builder.as_markup()


def answer_keyboard(question: Question, related: list[Question], language: str) -> InlineKeyboardMarkup:
    return _answer_keyboard(question, tuple(related), language)


@lru_cache(maxsize=1024)  # a few answers are asked most; texts in `language`, not the context's
def _answer_keyboard(question: Question, related: tuple[Question, ...], language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for other in related:
        builder.button(
            text=other.question[language],
            callback_data=KnowledgeNav(view=KnowledgeView.ANSWER, topic=other.topic_id, question=other.id),
        )
    builder.button(
        text=_("⬅️ More on this topic", locale=language),
        callback_data=KnowledgeNav(view=KnowledgeView.TOPIC, topic=question.topic_id),
    )
    builder.button(text=_("📚 All topics", locale=language), callback_data=KnowledgeNav(view=KnowledgeView.TOPICS))
    # Where the knowledge base ends, a person takes over; the request remembers the answer.
    builder.button(
        text=_("💬 Ask an operator", locale=language),
        callback_data=AskFromAnswer(topic=question.topic_id, question=question.id),
    )
    builder.button(text=_("🆘 Need volunteers' help", locale=language), callback_data=HelpFormStep(action="start"))
    builder.adjust(*([1] * (len(related) + 2)), 2)
    return builder.as_markup()


def topics_text(kb: KnowledgeBase, page: int) -> str:
    pages = page_count(len(kb.topics))
    text = _("📚 <b>Topics</b>: choose one, or type your question in your own words.")
    if pages > 1:
        text += "\n" + _("Page {page} of {pages}").format(page=page + 1, pages=pages)
    return text
