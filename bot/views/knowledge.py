"""What a person sees of the knowledge base: topics, a topic's questions, an answer, and the
buttons to browse them. A text not yet written in the reader's language is shown in another one,
marked as such: a label with the language's code, an answer with a line that says so."""

from __future__ import annotations

from functools import lru_cache
from html import escape

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import LANGUAGE_NAMES
from bot.services.knowledge import KnowledgeBase, Question, Topic, pick
from bot.views.callbacks import AskFromAnswer, HelpFormStep, KnowledgeNav, KnowledgeView, MarathonNav
from bot.views.menu import MARATHON

PAGE_SIZE = 6


def label(texts: dict[str, str], language: str) -> str:
    """A button's text: in the reader's language, or another one with its code ("Сұрақ? · kk")."""
    shown = pick(texts, language)
    return f"{shown.text} · {shown.language}" if shown.fallback else shown.text


def question_answer(question: Question, language: str) -> str:
    wording, answer = pick(question.question, language), pick(question.answer, language)
    text = f"<b>{escape(wording.text)}</b>\n\n{escape(answer.text)}"
    if answer.fallback:
        notice = _("ℹ️ This answer is not yet written in your language; here it is in «{language}».", locale=language)
        text = notice.format(language=LANGUAGE_NAMES[answer.language]) + "\n\n" + text
    return text


def topic_text(topic: Topic, language: str) -> str:
    return f"📚 <b>{escape(label(topic.title, language))}</b>\n" + _("Choose a question:", locale=language)


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
        builder.button(text=label(topic.title, language), callback_data=KnowledgeNav(view=KnowledgeView.TOPIC, topic=topic.id))
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
            text=label(question.question, language),
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
    if question.action == "marathon":  # the answer is about a flow of the bot: one tap into it
        builder.button(text=MARATHON.label(language), callback_data=MarathonNav(action="home"))
    for other in related:
        builder.button(
            text=label(other.question, language),
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
    builder.adjust(*([1] * (len(related) + 2 + (question.action is not None))), 2)
    return builder.as_markup()


def topics_text(kb: KnowledgeBase, page: int) -> str:
    pages = page_count(len(kb.topics))
    text = _("📚 <b>Topics</b>: choose one, or type your question in your own words.")
    if pages > 1:
        text += "\n" + _("Page {page} of {pages}").format(page=page + 1, pages=pages)
    return text
