"""What the knowledge base did not answer (/gaps, national coordinators): groups of alike questions
people asked, most asked first; one tap adds a group as a way of asking an existing question or
starts a new answer with it in the editor (`knowledge.py`), and the answers after which people
still asked an operator open in the editor. The rules are in `bot/services/knowledge/gaps.py`."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.db.models import is_row_id
from bot.filters import ActiveOperator
from bot.handlers.staff.editor import Editing, show
from bot.middlewares.access import Requires
from bot.services.access import Act
from bot.services.knowledge import KnowledgeBase, gaps, model, store
from bot.services.knowledge.store import KnowledgeRefused
from bot.services.operators import Operator
from bot.views import gaps as gap_views
from bot.views import knowledge_editor as editor_views
from bot.views.callbacks import KnowledgeEdit

GAP_ACTIONS = frozenset({"gaps", "gap_way", "gap_pick", "gap_add", "gap_new", "gap_topic", "gap_drop", "gap_seen"})


async def _gaps_screen(
    session: AsyncSession, operator: Operator, settings: Settings, kb: KnowledgeBase
) -> tuple[str, InlineKeyboardMarkup]:
    found = await gaps.groups(session, operator)
    after = await gaps.after_answers(session, operator)
    return gap_views.gaps_text(found, after, kb, operator.language, settings.retention_days), gap_views.gaps_keyboard(found, after)


async def on_gaps(
    message: Message, state: FSMContext, session: AsyncSession, operator: Operator, settings: Settings, kb: KnowledgeBase
) -> None:
    await state.clear()
    text, markup = await _gaps_screen(session, operator, settings, kb)
    await message.answer(text, reply_markup=markup)


async def on_gaps_button(
    callback: CallbackQuery, state: FSMContext, session: AsyncSession, operator: Operator, settings: Settings, kb: KnowledgeBase
) -> None:
    await state.clear()
    text, markup = await _gaps_screen(session, operator, settings, kb)
    await show(callback, text, markup)


async def _open_group(callback: CallbackQuery, session: AsyncSession, operator: Operator, gap_id: int) -> gaps.Group | None:
    group = await gaps.group_of(session, operator, gap_id) if is_row_id(gap_id) else None
    if group is None:
        await callback.answer(gap_views.gap_gone_text(), show_alert=True)
    return group


async def on_gap_way(callback: CallbackQuery, callback_data: KnowledgeEdit, session: AsyncSession, operator: Operator, kb: KnowledgeBase) -> None:
    """Which question the group's wording is a way of asking: the answers people saw before asking
    an operator, then the questions nearest to it."""
    group = await _open_group(callback, session, operator, callback_data.number)
    if group is None:
        return
    candidates = kb.candidates(group.phrase, limit=6)
    await show(callback, gap_views.gap_way_text(group), gap_views.gap_way_keyboard(group, candidates, operator.language))


async def on_gap_pick(callback: CallbackQuery, callback_data: KnowledgeEdit, session: AsyncSession, operator: Operator, kb: KnowledgeBase) -> None:
    group = await _open_group(callback, session, operator, callback_data.number)
    if group is None:
        return
    topic = kb.topic(callback_data.topic) if callback_data.topic else None
    await show(callback, gap_views.gap_way_text(group), gap_views.gap_pick_keyboard(kb, group, topic, operator.language))


async def on_gap_add(
    callback: CallbackQuery, callback_data: KnowledgeEdit, session: AsyncSession, operator: Operator, kb: KnowledgeBase,
    settings: Settings,
) -> None:
    group = await _open_group(callback, session, operator, callback_data.number)
    if group is None:
        return
    question = kb.question(callback_data.topic, callback_data.question)
    if question is None:
        await callback.answer(editor_views.refusal_text(store.Refusal.NO_TOPIC), show_alert=True)
        return
    try:
        made = await store.add_way(session, operator, question.topic_id, question.id, group.language, group.phrase)
    except KnowledgeRefused as refused:
        await callback.answer(editor_views.refusal_text(refused.reason), show_alert=True)
        return
    await gaps.resolve(session, operator, group)
    text, markup = await _gaps_screen(session, operator, settings, kb)
    await show(callback, gap_views.gap_added_text(made, group.phrase) + "\n\n" + text, markup)


async def on_gap_new(callback: CallbackQuery, callback_data: KnowledgeEdit, session: AsyncSession, operator: Operator, kb: KnowledgeBase) -> None:
    group = await _open_group(callback, session, operator, callback_data.number)
    if group is None:
        return
    await show(callback, gap_views.gap_topics_text(group), gap_views.gap_topics_keyboard(kb, group, operator.language))


async def on_gap_topic(
    callback: CallbackQuery, callback_data: KnowledgeEdit, state: FSMContext, session: AsyncSession, operator: Operator,
    kb: KnowledgeBase,
) -> None:
    """The group's wording becomes a new question of the topic; its answer is asked for next."""
    group = await _open_group(callback, session, operator, callback_data.number)
    if group is None:
        return
    if kb.topic(callback_data.topic) is None:
        await callback.answer(editor_views.refusal_text(store.Refusal.NO_TOPIC), show_alert=True)
        return
    wording = group.phrase[: model.MAX_QUESTION_LENGTH]
    await state.set_state(Editing.text)
    await state.set_data({
        "field": "question", "topic": callback_data.topic, "question": "", "language": group.language,
        "wording": wording, "gap": callback_data.number,
    })
    await callback.answer()
    await callback.message.answer(gap_views.gap_answer_text(wording, group.language))


async def on_gap_drop(
    callback: CallbackQuery, callback_data: KnowledgeEdit, session: AsyncSession, operator: Operator, settings: Settings,
    kb: KnowledgeBase,
) -> None:
    group = await _open_group(callback, session, operator, callback_data.number)
    if group is None:
        return
    await gaps.resolve(session, operator, group)
    text, markup = await _gaps_screen(session, operator, settings, kb)
    await show(callback, gap_views.gap_dropped_text() + "\n\n" + text, markup)


async def on_gap_seen(
    callback: CallbackQuery, callback_data: KnowledgeEdit, session: AsyncSession, operator: Operator, settings: Settings,
    kb: KnowledgeBase,
) -> None:
    """An answer after which people asked an operator: set aside (looked at, or not to change)."""
    await gaps.resolve_answer(session, operator, callback_data.topic, callback_data.question)
    text, markup = await _gaps_screen(session, operator, settings, kb)
    await show(callback, gap_views.gap_dropped_text() + "\n\n" + text, markup)


def create_router() -> Router:
    router = Router(name="knowledge_gaps")
    staff = ActiveOperator()
    # National coordinators only, as the editor: checked, and the actor locked, before each handler.
    router.message.middleware(Requires(Act.EDIT_KNOWLEDGE))
    router.callback_query.middleware(Requires(Act.EDIT_KNOWLEDGE))
    router.message.register(on_gaps, Command("gaps"), staff)
    router.callback_query.filter(staff, KnowledgeEdit.filter(F.action.in_(GAP_ACTIONS)))
    router.callback_query.register(on_gaps_button, KnowledgeEdit.filter(F.action == "gaps"))
    router.callback_query.register(on_gap_way, KnowledgeEdit.filter(F.action == "gap_way"))
    router.callback_query.register(on_gap_pick, KnowledgeEdit.filter(F.action == "gap_pick"))
    router.callback_query.register(on_gap_add, KnowledgeEdit.filter(F.action == "gap_add"))
    router.callback_query.register(on_gap_new, KnowledgeEdit.filter(F.action == "gap_new"))
    router.callback_query.register(on_gap_topic, KnowledgeEdit.filter(F.action == "gap_topic"))
    router.callback_query.register(on_gap_drop, KnowledgeEdit.filter(F.action == "gap_drop"))
    router.callback_query.register(on_gap_seen, KnowledgeEdit.filter(F.action == "gap_seen"))
    return router
