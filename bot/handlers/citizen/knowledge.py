"""The knowledge base: browse topics with inline buttons, or type a question in any language."""

from __future__ import annotations

from contextlib import suppress

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import Onboarded, TypedText
from bot.services.directory import Directory
from bot.services.knowledge import KnowledgeBase, gaps
from bot.services.knowledge.gaps import GapKind
from bot.services.users import Person
from bot.views.callbacks import KnowledgeNav, KnowledgeView
from bot.views.common import MAX_QUESTION_LENGTH
from bot.views.knowledge import (
    answer_keyboard,
    page_count,
    question_answer,
    topic_keyboard,
    topic_text,
    topics_keyboard,
    topics_text,
)
from bot.views.menu import ASK_QUESTION, BECOME_VOLUNTEER, MenuButton

# The topic that "Become a volunteer" opens with its first answer.
BECOME_TOPIC = "become"


async def edit(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    # Pressing the button of the view already shown would be "message is not modified".
    with suppress(TelegramBadRequest):
        await callback.message.edit_text(text, reply_markup=markup)


async def on_ask(message: Message, user: Person, kb: KnowledgeBase) -> None:
    await message.answer(topics_text(kb, 0), reply_markup=topics_keyboard(kb, user.language))


async def on_become(message: Message, user: Person, kb: KnowledgeBase) -> None:
    topic = kb.topic(BECOME_TOPIC)
    if topic is None or not topic.questions:  # coordinators may have removed or emptied it
        if not kb.topics:  # ...or every topic: nothing to show but the way to a person
            await message.answer(_("I did not find an answer to that. Try other words, or choose a topic:"))
            return
        topic = kb.topics[0]
    question = topic.questions[0]
    others = list(topic.questions[1:])
    await message.answer(
        question_answer(question, user.language),
        reply_markup=answer_keyboard(question, others, user.language),
    )


async def on_topics(callback: CallbackQuery, callback_data: KnowledgeNav, user: Person, kb: KnowledgeBase) -> None:
    page = min(max(callback_data.page, 0), page_count(len(kb.topics)) - 1)
    await edit(callback, topics_text(kb, page), topics_keyboard(kb, user.language, page))
    await callback.answer()


async def on_topic(callback: CallbackQuery, callback_data: KnowledgeNav, user: Person, kb: KnowledgeBase) -> None:
    topic = kb.topic(callback_data.topic)
    if topic is None:
        await callback.answer(_("This topic is no longer available."), show_alert=True)
        return
    await edit(callback, topic_text(topic, user.language), topic_keyboard(topic, user.language, callback_data.page))
    await callback.answer()


async def on_answer(callback: CallbackQuery, callback_data: KnowledgeNav, user: Person, kb: KnowledgeBase) -> None:
    question = kb.question(callback_data.topic, callback_data.question)
    if question is None:
        await callback.answer(_("This question is no longer available."), show_alert=True)
        return
    await edit(callback, question_answer(question, user.language), answer_keyboard(question, [], user.language))
    await callback.answer()


async def on_question(message: Message, session: AsyncSession, user: Person, kb: KnowledgeBase, directory: Directory) -> None:
    if len(message.text) > MAX_QUESTION_LENGTH:
        await message.answer(
            _("That is a long message. Please ask your question in a sentence or two (up to {limit} characters).").format(
                limit=MAX_QUESTION_LENGTH
            )
        )
        return
    hits = kb.search(message.text)
    # The counts and the kept question come after the reply: a counter row is locked from its
    # update to the commit, and should not be while Telegram is being called.
    if not hits:
        await message.answer(
            _("I did not find an answer to that. Try other words, or choose a topic:"),
            reply_markup=topics_keyboard(kb, user.language),
        )
        # Kept masked, for coordinators to see what the base lacks (/gaps).
        await gaps.record(session, kb, message.text, user.language, GapKind.NOTHING, place_names=directory.place_words)
        await gaps.count(session, user.language, None, unanswered=1)
        return
    best, others = hits[0].question, [hit.question for hit in hits[1:]]
    await message.answer(
        question_answer(best, user.language), reply_markup=answer_keyboard(best, others, user.language)
    )
    await gaps.count(session, user.language, best.topic_id, answered=1)


def create_router() -> Router:
    router = Router(name="knowledge")
    router.message.filter(Onboarded())
    router.callback_query.filter(Onboarded())
    router.message.register(on_ask, MenuButton(ASK_QUESTION))
    router.message.register(on_become, MenuButton(BECOME_VOLUNTEER))
    router.callback_query.register(on_topics, KnowledgeNav.filter(F.view == KnowledgeView.TOPICS))
    router.callback_query.register(on_topic, KnowledgeNav.filter(F.view == KnowledgeView.TOPIC))
    router.callback_query.register(on_answer, KnowledgeNav.filter(F.view == KnowledgeView.ANSWER))
    router.message.register(on_question, TypedText())
    return router
