"""What national coordinators see of what the knowledge base did not answer (/gaps)."""

from __future__ import annotations

from html import escape

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.services.knowledge import KnowledgeBase, Question, Topic
from bot.services.knowledge.gaps import AfterAnswer, Group
from bot.services.knowledge.store import Revision
from bot.views.callbacks import KnowledgeEdit
from bot.views.knowledge import label
from bot.views.knowledge_editor import new_answer_text, short


def gaps_text(found: list[Group], after: list[AfterAnswer], kb: KnowledgeBase, language: str, keep_days: int) -> str:
    if not found and not after:
        return ngettext(
            "🔎 Every question asked lately found an answer: nothing to add. (Questions are kept {days} day.)",
            "🔎 Every question asked lately found an answer: nothing to add. (Questions are kept {days} days.)",
            keep_days,
        ).format(days=keep_days)
    lines = [
        ngettext(
            "🔎 <b>What the knowledge base did not answer</b>, most asked first. Kept {days} day, with phones, e-mails, numbers and names masked.",
            "🔎 <b>What the knowledge base did not answer</b>, most asked first. Kept {days} days, with phones, e-mails, numbers and names masked.",
            keep_days,
        ).format(days=keep_days)
    ]
    for number, group in enumerate(found, start=1):
        languages = ", ".join(f"{code} {count}" for code, count in group.languages.most_common())
        examples = "; ".join(f"«{escape(short(example, 70))}»" for example in group.examples())
        line = f"<b>{number}.</b> " + ngettext("asked {count} time ({languages})", "asked {count} times ({languages})", group.size).format(
            count=group.size, languages=languages
        )
        lines.append(f"{line}\n{examples}")
    if found:
        lines.append(_("➕ adds a group as a way of asking an existing question; ✍️ starts a new answer with it; ✖️ sets it aside."))
    if after:
        shown = [_("<b>Answers after which people still asked an operator</b> (what they asked is in their requests):")]
        for number, entry in enumerate(after, start=1):
            question = kb.question(entry.topic, entry.question)
            title = label(question.question, language) if question else f"{entry.topic}/{entry.question}"
            shown.append(f"<b>A{number}.</b> «{escape(short(title, 70))}»: {entry.count}")
        shown.append(_("📝 opens the answer to improve it; ✖️ sets it aside."))
        lines.append("\n".join(shown))
    return "\n\n".join(lines)


def gaps_keyboard(found: list[Group], after: list[AfterAnswer]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for number, group in enumerate(found, start=1):
        builder.button(text=f"➕ {number}", callback_data=KnowledgeEdit(action="gap_way", number=group.handle))
        builder.button(text=f"✍️ {number}", callback_data=KnowledgeEdit(action="gap_new", number=group.handle))
        builder.button(text=f"✖️ {number}", callback_data=KnowledgeEdit(action="gap_drop", number=group.handle))
    for number, entry in enumerate(after, start=1):
        builder.button(text=f"📝 A{number}", callback_data=KnowledgeEdit(action="question", topic=entry.topic, question=entry.question))
        builder.button(text=f"✖️ A{number}", callback_data=KnowledgeEdit(action="gap_seen", topic=entry.topic, question=entry.question))
    builder.adjust(*([3] * len(found)), *([2] * len(after)))
    return builder.as_markup()


def gap_way_text(group: Group) -> str:
    return _("Add «{phrase}» as a way of asking ({language}) to which question?").format(
        phrase=escape(group.phrase), language=group.language
    )


def gap_way_keyboard(group: Group, candidates: list[Question], language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    first = group.handle
    for question in candidates:
        builder.button(
            text=label(question.question, language),
            callback_data=KnowledgeEdit(action="gap_add", topic=question.topic_id, question=question.id, number=first),
        )
    builder.button(text=_("📚 Another question"), callback_data=KnowledgeEdit(action="gap_pick", number=first))
    builder.button(text=_("⬅️ Back"), callback_data=KnowledgeEdit(action="gaps"))
    builder.adjust(1)
    return builder.as_markup()


def gap_pick_keyboard(kb: KnowledgeBase, group: Group, topic: Topic | None, language: str) -> InlineKeyboardMarkup:
    """The topics, or a topic's questions, to choose the one a group's wording is a way of asking."""
    builder = InlineKeyboardBuilder()
    first = group.handle
    if topic is None:
        for each in kb.topics:
            builder.button(text=label(each.title, language), callback_data=KnowledgeEdit(action="gap_pick", topic=each.id, number=first))
    else:
        for question in topic.questions:
            builder.button(
                text=label(question.question, language),
                callback_data=KnowledgeEdit(action="gap_add", topic=topic.id, question=question.id, number=first),
            )
    builder.button(text=_("⬅️ Back"), callback_data=KnowledgeEdit(action="gap_way", number=first))
    builder.adjust(1)
    return builder.as_markup()


def gap_topics_text(group: Group) -> str:
    return _("A new answer to «{phrase}»: in which topic?").format(phrase=escape(group.phrase))


def gap_topics_keyboard(kb: KnowledgeBase, group: Group, language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    first = group.handle
    for topic in kb.all_topics:
        builder.button(text=label(topic.title, language), callback_data=KnowledgeEdit(action="gap_topic", topic=topic.id, number=first))
    builder.button(text=_("⬅️ Back"), callback_data=KnowledgeEdit(action="gaps"))
    builder.adjust(1)
    return builder.as_markup()


def gap_answer_text(wording: str, language: str) -> str:
    return _("The question, as people asked it: «{question}» (you can change it later with ✏️ Question).").format(
        question=escape(wording)
    ) + "\n" + new_answer_text(language)


def gap_gone_text() -> str:
    return _("This group is no longer open: someone dealt with it. Send /gaps again.")


def gap_added_text(made: Revision, phrase: str) -> str:
    return _("➕ «{phrase}» is now a way of asking this question (change №{number}); the group is closed.").format(
        phrase=escape(phrase), number=made.id
    )


def gap_dropped_text() -> str:
    return _("✖️ Set aside: the group is closed.")
