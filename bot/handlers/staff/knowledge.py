"""National coordinators keep the knowledge base in the bot (/faq): topics, questions, answers and
the ways people ask, in each language; every change is previewed as its readers will see it and
confirmed, then reaches every process at once; the history undoes a change (/gaps, which starts
answers here, is `gaps.py`). The rules are in `bot/services/knowledge/store.py`; what coordinators
see, in `bot/views/knowledge_editor.py`."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SUPPORTED_LANGUAGES
from bot.db.models import is_row_id
from bot.filters import ActiveOperator, NotCommand
from bot.middlewares.access import Requires
from bot.services.access import Act
from bot.services.knowledge import KnowledgeBase, Question, Topic, gaps
from bot.services.knowledge import model
from bot.services.knowledge import store
from bot.services.knowledge.store import Change, KnowledgeRefused
from bot.services.lengths import utf16_length
from bot.services.operators import Operator
from bot.views import knowledge_editor as views
from bot.views.callbacks import KnowledgeEdit
from bot.views.knowledge import question_answer
from bot.handlers.staff.editor import Editing, show

REMOVE_MARK = "-"
LIMITS = {"title": model.MAX_TITLE_LENGTH, "question": model.MAX_QUESTION_LENGTH, "answer": model.MAX_ANSWER_LENGTH}


async def on_faq(message: Message, state: FSMContext, kb: KnowledgeBase, operator: Operator) -> None:
    await state.clear()
    await message.answer(views.topics_text(kb), reply_markup=views.topics_keyboard(kb, operator.language))


async def on_topics(callback: CallbackQuery, state: FSMContext, kb: KnowledgeBase, operator: Operator) -> None:
    await state.clear()
    await show(callback, views.topics_text(kb), views.topics_keyboard(kb, operator.language))


async def on_topic(callback: CallbackQuery, callback_data: KnowledgeEdit, state: FSMContext, kb: KnowledgeBase, operator: Operator) -> None:
    await state.clear()
    topic = kb.topic(callback_data.topic)
    if topic is None:
        await callback.answer(views.refusal_text(store.Refusal.NO_TOPIC), show_alert=True)
        return
    await show(callback, views.topic_text(topic), views.topic_keyboard(topic, operator.language))


def _question(kb: KnowledgeBase, data: KnowledgeEdit) -> Question | None:
    return kb.question(data.topic, data.question)


async def on_question(callback: CallbackQuery, callback_data: KnowledgeEdit, state: FSMContext, kb: KnowledgeBase) -> None:
    await state.clear()
    question = _question(kb, callback_data)
    if question is None:
        await callback.answer(views.refusal_text(store.Refusal.NO_TOPIC), show_alert=True)
        return
    await show(callback, views.question_text(question), views.question_keyboard(question))


async def on_reader_view(callback: CallbackQuery, callback_data: KnowledgeEdit, kb: KnowledgeBase) -> None:
    """The answer exactly as a reader of one language gets it, as a message of its own."""
    question = _question(kb, callback_data)
    if question is None or callback_data.language not in SUPPORTED_LANGUAGES:
        await callback.answer(views.refusal_text(store.Refusal.NO_TOPIC), show_alert=True)
        return
    await callback.answer()
    await callback.message.answer(question_answer(question, callback_data.language))


async def on_field(callback: CallbackQuery, callback_data: KnowledgeEdit, kb: KnowledgeBase) -> None:
    """Which language to write a field in (the title, the question, the answer, the ways of asking)."""
    field = callback_data.field
    if field not in ("title", "question", "answer", "ways") or kb.topic(callback_data.topic) is None:
        await callback.answer(_("This button is no longer active."))
        return
    back = "question" if callback_data.question else "topic"
    await show(
        callback, views.choose_language_text(field),
        views.languages_keyboard(callback_data.topic, callback_data.question, field, back),
    )


async def on_new_topic(callback: CallbackQuery) -> None:
    await show(callback, views.choose_language_text("title"), views.languages_keyboard("", "", "title", "topics"))


async def on_new_question(callback: CallbackQuery, callback_data: KnowledgeEdit, kb: KnowledgeBase) -> None:
    if kb.topic(callback_data.topic) is None:
        await callback.answer(views.refusal_text(store.Refusal.NO_TOPIC), show_alert=True)
        return
    await show(callback, views.choose_language_text("question"), views.languages_keyboard(callback_data.topic, "", "question", "topic"))


async def on_edit(callback: CallbackQuery, callback_data: KnowledgeEdit, state: FSMContext, kb: KnowledgeBase) -> None:
    """Ask for the text. A field of an existing topic or question; or, with no topic, a new topic's
    title; or, with a topic and no question, a new question's wording (then its answer)."""
    data = callback_data
    # Which field goes with which target: a title with a topic (or none: a new topic), the rest
    # with a question (or, for "question", none: a new question of the topic).
    fits = (
        (data.field == "title" and not data.question)
        or (data.field == "question" and bool(data.topic))
        or (data.field in ("answer", "ways") and bool(data.topic) and bool(data.question))
    )
    if data.language not in SUPPORTED_LANGUAGES or not fits:
        await callback.answer(_("This button is no longer active."))
        return
    topic = kb.topic(data.topic) if data.topic else None
    question = topic.question(data.question) if topic and data.question else None
    if (data.topic and topic is None) or (data.question and question is None):
        await callback.answer(views.refusal_text(store.Refusal.NO_TOPIC), show_alert=True)
        return
    await callback.answer()
    seen: str | list[str] | None = None  # the text the coordinator starts from, to notice a change meanwhile
    if topic is not None and question is None and data.field == "question":
        prompt = views.new_question_text(data.language)
    elif question is not None:
        seen = {"question": question.question, "answer": question.answer}.get(data.field, {}).get(data.language)
        if data.field == "ways":
            seen = list(question.keywords.get(data.language, ()))
        prompt = views.ask_text(data.field, data.language, "\n".join(seen) if isinstance(seen, list) else seen)
    else:
        seen = topic.title.get(data.language) if topic else None
        prompt = views.ask_text(data.field, data.language, seen)
    await state.set_state(Editing.text)
    await state.set_data(
        {"field": data.field, "topic": data.topic, "question": data.question, "language": data.language, "seen": seen}
    )
    await callback.message.answer(prompt)


def _typed(message: Message, field: str) -> str | list[str]:
    """The text as the field takes it, or raises ValueError with what to tell the coordinator."""
    text = (message.text or "").strip()
    if field == "ways":
        ways = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip() and line.strip() != REMOVE_MARK))
        if len(ways) > model.MAX_WAYS_OF_ASKING or any(len(w) > model.MAX_WAY_LENGTH for w in ways):
            raise ValueError(
                _("One way of asking per line. Most ways: {count}; most characters in one: {limit}.").format(
                    count=model.MAX_WAYS_OF_ASKING, limit=model.MAX_WAY_LENGTH
                )
            )
        return ways
    if text == REMOVE_MARK:
        return ""
    if utf16_length(text) > LIMITS[field]:  # as Telegram counts: an emoji is two
        raise ValueError(views.too_long_text(LIMITS[field], utf16_length(text)))
    return text


async def on_text(message: Message, state: FSMContext, kb: KnowledgeBase) -> None:
    data = await state.get_data()
    field, language = data["field"], data["language"]
    if message.text is None:
        await message.answer(views.not_text())
        return
    adding_question = bool(data["topic"]) and not data["question"] and field == "question"
    try:
        value = _typed(message, "answer" if adding_question and "wording" in data else field)
    except ValueError as refusal:
        await message.answer(str(refusal))
        return
    if value == "" and (not data["topic"] or adding_question):  # a new text cannot be "remove"
        await message.answer(_("Please write the text."))
        return
    if adding_question and "wording" not in data:
        await state.update_data(wording=value)
        await message.answer(views.new_answer_text(language))
        return
    topic = kb.topic(data["topic"]) if data["topic"] else None
    if data["topic"] and topic is None:
        await state.clear()
        await message.answer(views.refusal_text(store.Refusal.NO_TOPIC))
        return
    if value == "" and _only_language(topic, data):
        await message.answer(views.refusal_text(store.Refusal.LAST_LANGUAGE))
        return
    preview_topic, preview_question = _pending(topic, data, value)
    if preview_topic is None:
        await state.clear()
        await message.answer(views.refusal_text(store.Refusal.NO_TOPIC))
        return
    await state.update_data(value=value)
    await state.set_state(Editing.confirm)
    await message.answer(
        views.preview_text(preview_question, preview_topic, language, field), reply_markup=views.save_keyboard()
    )


def _only_language(topic: Topic | None, data: dict) -> bool:
    """Whether the text to remove is the only language its field is written in."""
    if topic is None:
        return False
    if data["field"] == "title":
        return set(topic.title) <= {data["language"]}
    question = topic.question(data["question"])
    return question is not None and set(getattr(question, data["field"])) <= {data["language"]}


def _pending(topic: Topic | None, data: dict, value: str | list[str]) -> tuple[Topic | None, Question | None]:
    """The topic and question as they will be once saved, to preview (nothing is written yet)."""
    field, language = data["field"], data["language"]
    if topic is None:  # a new topic
        return Topic("new", {language: value}), None
    if not data["question"] and "wording" in data:  # a new question
        question = Question(topic.id, "new", {language: data["wording"]}, {language: value}, {})
        return topic.with_question(question), question
    if field == "title":
        title = {k: v for k, v in {**topic.title, language: value}.items() if v}
        return replace(topic, title=title or topic.title), None
    question = topic.question(data["question"])
    if question is None:
        return None, None
    if field == "ways":
        changed = replace(question, keywords={**question.keywords, language: tuple(value)})
    else:
        texts = {k: v for k, v in {**getattr(question, field), language: value}.items() if v}
        changed = replace(question, **{field: texts or getattr(question, field)})
    return topic.with_question(changed), changed


async def on_save(callback: CallbackQuery, state: FSMContext, session: AsyncSession, operator: Operator, kb: KnowledgeBase) -> None:
    if await state.get_state() != Editing.confirm.state:
        await callback.answer(_("This button is no longer active."))
        return
    data = await state.get_data()
    field, language, value = data["field"], data["language"], data["value"]
    seen = data.get("seen")
    try:
        if not data["topic"]:
            made = await store.add_topic(session, operator, language, value)
        elif not data["question"]:
            if field == "title":
                made = await store.set_title(session, operator, data["topic"], language, value, seen=seen)
            else:
                made = await store.add_question(session, operator, data["topic"], language, data["wording"], value)
        elif field == "ways":
            made = await store.set_ways(session, operator, data["topic"], data["question"], language, value, seen=seen)
        else:
            made = await store.set_text(
                session, operator, data["topic"], data["question"], Change(field), language, value, seen=seen
            )
    except KnowledgeRefused as refused:
        if refused.reason is store.Refusal.EDITED_MEANWHILE:
            await state.clear()
        await callback.answer(views.refusal_text(refused.reason), show_alert=True)
        return
    if data.get("gap"):  # an answer started from /gaps: its group is dealt with
        group = await gaps.group_of(session, operator, data["gap"])
        if group is not None:
            await gaps.resolve(session, operator, group)
    await state.clear()
    await callback.answer()
    with suppress(TelegramBadRequest):
        await callback.message.edit_reply_markup(reply_markup=None)
    topic = store_topic(made)
    question = topic.question(made.question_id) if topic and made.question_id else None
    if question is not None:
        await callback.message.answer(views.saved_text(made) + "\n\n" + views.question_text(question), reply_markup=views.question_keyboard(question))
    elif topic is not None:
        await callback.message.answer(views.saved_text(made) + "\n\n" + views.topic_text(topic), reply_markup=views.topic_keyboard(topic, operator.language))


def store_topic(made: store.Revision) -> Topic | None:
    """The topic as the change left it (the process's base catches up a moment later)."""
    return model.parse_topic(made.after, "saved", every_language=False) if made.after else None


async def on_cancel(callback: CallbackQuery, state: FSMContext, kb: KnowledgeBase, operator: Operator) -> None:
    await state.clear()
    await callback.answer(_("Cancelled: nothing was changed."))
    with suppress(TelegramBadRequest):
        await callback.message.edit_reply_markup(reply_markup=None)


async def on_remove(callback: CallbackQuery, callback_data: KnowledgeEdit, state: FSMContext, kb: KnowledgeBase, operator: Operator) -> None:
    await state.clear()
    topic = kb.topic(callback_data.topic)
    question = topic.question(callback_data.question) if topic and callback_data.question else None
    if topic is None or (callback_data.question and question is None):
        await callback.answer(views.refusal_text(store.Refusal.NO_TOPIC), show_alert=True)
        return
    await show(
        callback, views.remove_text(topic, question, operator.language),
        views.remove_keyboard(topic.id, question.id if question else ""),
    )


async def on_removed(callback: CallbackQuery, callback_data: KnowledgeEdit, session: AsyncSession, operator: Operator) -> None:
    try:
        if callback_data.question:
            made = await store.remove_question(session, operator, callback_data.topic, callback_data.question)
        else:
            made = await store.remove_topic(session, operator, callback_data.topic)
    except KnowledgeRefused as refused:
        await callback.answer(views.refusal_text(refused.reason), show_alert=True)
        return
    await callback.answer()
    topic = store_topic(made)
    if topic is not None:
        await callback.message.edit_text(views.saved_text(made) + "\n\n" + views.topic_text(topic), reply_markup=views.topic_keyboard(topic, operator.language))
    else:
        await callback.message.edit_text(views.saved_text(made))


async def on_history(callback: CallbackQuery, callback_data: KnowledgeEdit, session: AsyncSession, operator: Operator) -> None:
    older_than = callback_data.number if is_row_id(callback_data.number) else None
    revisions = await store.history(session, operator, store.HISTORY_SIZE + 1, older_than)
    shown, older = revisions[: store.HISTORY_SIZE], len(revisions) > store.HISTORY_SIZE
    await show(callback, views.history_text(shown, operator.language), views.history_keyboard(shown, older))


async def on_undo(callback: CallbackQuery, callback_data: KnowledgeEdit, session: AsyncSession, operator: Operator) -> None:
    if not is_row_id(callback_data.number):  # forged: no revision has such a number
        await callback.answer(views.refusal_text(store.Refusal.NO_TOPIC), show_alert=True)
        return
    try:
        made = await store.undo(session, operator, callback_data.number)
    except KnowledgeRefused as refused:
        await callback.answer(views.refusal_text(refused.reason), show_alert=True)
        return
    await callback.answer()
    revisions = await store.history(session, operator, store.HISTORY_SIZE + 1)
    shown, older = revisions[: store.HISTORY_SIZE], len(revisions) > store.HISTORY_SIZE
    await callback.message.edit_text(
        views.undone_text(made) + "\n\n" + views.history_text(shown, operator.language),
        reply_markup=views.history_keyboard(shown, older),
    )


def create_router() -> Router:
    router = Router(name="knowledge_editor")
    staff = ActiveOperator()
    # The permission (national coordinators) is checked, and the actor locked, before each handler:
    # other staff who try are told their role does not allow it.
    router.message.middleware(Requires(Act.EDIT_KNOWLEDGE))
    router.callback_query.middleware(Requires(Act.EDIT_KNOWLEDGE))
    router.message.register(on_faq, Command("faq"), staff)
    router.message.register(on_text, StateFilter(Editing.text), staff, NotCommand())
    router.callback_query.filter(staff, KnowledgeEdit.filter())
    router.callback_query.register(on_topics, KnowledgeEdit.filter(F.action == "topics"))
    router.callback_query.register(on_topic, KnowledgeEdit.filter(F.action == "topic"))
    router.callback_query.register(on_question, KnowledgeEdit.filter(F.action == "question"))
    router.callback_query.register(on_reader_view, KnowledgeEdit.filter(F.action == "preview"))
    router.callback_query.register(on_field, KnowledgeEdit.filter(F.action == "field"))
    router.callback_query.register(on_new_topic, KnowledgeEdit.filter(F.action == "new_topic"))
    router.callback_query.register(on_new_question, KnowledgeEdit.filter(F.action == "new_question"))
    router.callback_query.register(on_edit, KnowledgeEdit.filter(F.action == "edit"))
    router.callback_query.register(on_save, KnowledgeEdit.filter(F.action == "save"))
    router.callback_query.register(on_cancel, KnowledgeEdit.filter(F.action == "cancel"))
    router.callback_query.register(on_remove, KnowledgeEdit.filter(F.action == "remove"))
    router.callback_query.register(on_removed, KnowledgeEdit.filter(F.action == "removed"))
    router.callback_query.register(on_history, KnowledgeEdit.filter(F.action == "history"))
    router.callback_query.register(on_undo, KnowledgeEdit.filter(F.action == "undo"))
    return router
