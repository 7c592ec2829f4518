"""What coordinators see in the knowledge base's editor (/faq): the topics, a topic, a question in
each language, the preview of a change as each language's reader will see it, and the history with
its Undo buttons."""

from __future__ import annotations

from html import escape

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import SUPPORTED_LANGUAGES
from bot.i18n import LANGUAGE_NAMES
from bot.services.clock import KAZAKHSTAN
from bot.services.knowledge import KnowledgeBase, Question, Topic
from bot.services.knowledge.store import Change, Refusal, Revision
from bot.views.callbacks import KnowledgeEdit
from bot.views.knowledge import label, question_answer

MISSING = "⚠️"
PREVIEW_LENGTH = 80


def _languages(codes: list[str]) -> str:
    return ", ".join(f"«{LANGUAGE_NAMES[code]}»" for code in codes)


def short(text: str, length: int = PREVIEW_LENGTH) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _missing_line(missing: list[str]) -> str:
    if not missing:
        return ""
    return "\n" + MISSING + " " + _("Not written yet in {languages}: their readers get another language's text, with a notice.").format(
        languages=_languages(missing)
    )


def topics_text(kb: KnowledgeBase) -> str:
    questions = sum(len(t.questions) for t in kb.all_topics)
    return _("📝 <b>The knowledge base</b>: topics {topics}, questions {questions}. Choose a topic to edit it, add one, or see the history of changes (each can be undone). A change reaches people at once.").format(
        topics=len(kb.all_topics), questions=questions
    )


def topics_keyboard(kb: KnowledgeBase, language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for topic in kb.all_topics:
        incomplete = topic.missing_languages() or any(q.missing_languages() for q in topic.questions) or not topic.questions
        builder.button(
            text=(MISSING + " " if incomplete else "") + label(topic.title, language),
            callback_data=KnowledgeEdit(action="topic", topic=topic.id),
        )
    builder.button(text=_("➕ New topic"), callback_data=KnowledgeEdit(action="new_topic"))
    builder.button(text=_("🕘 History"), callback_data=KnowledgeEdit(action="history"))
    builder.adjust(*([1] * len(kb.all_topics)), 2)
    return builder.as_markup()


def topic_text(topic: Topic) -> str:
    lines = [_("📚 <b>Topic</b>")]
    for code in SUPPORTED_LANGUAGES:
        title = topic.title.get(code)
        lines.append(f"{LANGUAGE_NAMES[code]}: " + (escape(title) if title else MISSING))
    lines.append(_("Questions: {count}").format(count=len(topic.questions)) if topic.questions else _("No questions yet: people do not see this topic until it has one."))
    return "\n".join(lines) + _missing_line(topic.missing_languages())


def topic_keyboard(topic: Topic, language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for question in topic.questions:
        builder.button(
            text=(MISSING + " " if question.missing_languages() else "") + label(question.question, language),
            callback_data=KnowledgeEdit(action="question", topic=topic.id, question=question.id),
        )
    builder.button(text=_("➕ New question"), callback_data=KnowledgeEdit(action="new_question", topic=topic.id))
    builder.button(text=_("✏️ Title"), callback_data=KnowledgeEdit(action="field", topic=topic.id, field="title"))
    builder.button(text=_("🗑 Remove topic"), callback_data=KnowledgeEdit(action="remove", topic=topic.id))
    builder.button(text=_("⬅️ Topics"), callback_data=KnowledgeEdit(action="topics"))
    builder.adjust(*([1] * len(topic.questions)), 1, 2, 1)
    return builder.as_markup()


def question_text(question: Question) -> str:
    lines = [_("❓ <b>Question</b>")]
    for code in SUPPORTED_LANGUAGES:
        wording, answer = question.question.get(code), question.answer.get(code)
        ways = len(question.keywords.get(code, ()))
        state = (
            f"{escape(wording) if wording else MISSING}\n   "
            + (_("answer, characters: {length}").format(length=len(answer)) if answer else _("answer: {missing}").format(missing=MISSING))
            + "; " + _("ways of asking: {count}").format(count=ways)
        )
        lines.append(f"<b>{LANGUAGE_NAMES[code]}</b>: {state}")
    if question.action == "marathon":
        lines.append(_("Under the answer: the marathon's button."))
    return "\n".join(lines) + _missing_line(question.missing_languages())


def question_keyboard(question: Question) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code in SUPPORTED_LANGUAGES:
        builder.button(
            text=_("👁 {language}").format(language=LANGUAGE_NAMES[code]),
            callback_data=KnowledgeEdit(action="preview", topic=question.topic_id, question=question.id, language=code),
        )
    for field, text in (("question", _("✏️ Question")), ("answer", _("✏️ Answer")), ("ways", _("✏️ Ways of asking"))):
        builder.button(text=text, callback_data=KnowledgeEdit(action="field", topic=question.topic_id, question=question.id, field=field))
    builder.button(text=_("🗑 Remove question"), callback_data=KnowledgeEdit(action="remove", topic=question.topic_id, question=question.id))
    builder.button(text=_("⬅️ Topic"), callback_data=KnowledgeEdit(action="topic", topic=question.topic_id))
    builder.adjust(3, 3, 2)
    return builder.as_markup()


def field_name(field: str) -> str:
    return {
        "title": _("the topic's title"),
        "question": _("the question"),
        "answer": _("the answer"),
        "ways": _("the ways of asking"),
    }[field]


def languages_keyboard(topic: str, question: str, field: str, back: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code in SUPPORTED_LANGUAGES:
        builder.button(
            text=LANGUAGE_NAMES[code],
            callback_data=KnowledgeEdit(action="edit", topic=topic, question=question, field=field, language=code),
        )
    builder.button(text=_("✖️ Cancel"), callback_data=KnowledgeEdit(action=back, topic=topic, question=question))
    builder.adjust(3, 1)
    return builder.as_markup()


def choose_language_text(field: str) -> str:
    return _("In which language do you write {field}?").format(field=field_name(field))


def ask_text(field: str, language: str, current: str | None) -> str:
    """The prompt for a new text, with the current one to copy and change."""
    prompts = {
        "title": _("Send the topic's title in «{language}» (up to 60 characters)."),
        "question": _("Send the question in «{language}» as people see it on its button (up to 200 characters)."),
        "answer": _("Send the answer in «{language}» (up to 3,500 characters)."),
        "ways": _("Send the ways people ask this in «{language}», one per line: words and phrases they type. The search also finds typos and other spellings by itself."),
    }
    text = prompts[field].format(language=LANGUAGE_NAMES[language])
    if field != "ways" and current is not None:
        text += "\n" + _("To remove this language's text, send a single dash: -")
    if current:
        text += "\n\n" + _("Now:") + f"\n<code>{escape(current)}</code>"
    return text


def new_question_text(language: str) -> str:
    return _("➕ A new question. Send it in «{language}» as people will see it on its button (up to 200 characters). Its answer comes next.").format(
        language=LANGUAGE_NAMES[language]
    )


def new_answer_text(language: str) -> str:
    return _("Now send its answer in «{language}» (up to 3,500 characters).").format(language=LANGUAGE_NAMES[language])


def too_long_text(limit: int, length: int) -> str:
    return _("Too long. Characters: {length}; the most this text holds: {limit}. Please shorten it.").format(limit=limit, length=length)


def not_text() -> str:
    return _("Please send text: a photo, a file or a sticker cannot be an answer in the knowledge base.")


def preview_text(question: Question | None, topic: Topic, language: str, field: str) -> str:
    """The change as a reader of `language` will see it, and the languages still missing."""
    head = _("👁 <b>Before you save</b>: as a reader of «{language}» will see it.").format(language=LANGUAGE_NAMES[language])
    if question is None:  # a topic's title: as its button in the topics list
        body = f"📚 {escape(label(topic.title, language))}"
        missing = topic.missing_languages()
    else:
        body = question_answer(question, language)
        if field == "ways":
            ways = question.keywords.get(language, ())
            body += "\n\n" + _("Ways of asking: {ways}").format(ways=escape("; ".join(ways)) if ways else "—")
        missing = question.missing_languages()
    return f"{head}\n\n{body}\n" + _missing_line(missing) + "\n\n" + _("Save this change?")


def save_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Save"), callback_data=KnowledgeEdit(action="save"))
    builder.button(text=_("✖️ Cancel"), callback_data=KnowledgeEdit(action="cancel"))
    return builder.as_markup()


def saved_text(made: Revision) -> str:
    return _("✅ Saved (change №{number}). It reaches people at once; it can be undone from /faq → 🕘 History.").format(number=made.id)


def remove_text(topic: Topic, question: Question | None, language: str) -> str:
    if question is not None:
        return _("Remove the question «{question}» and its answer in every language? It can be undone from the history.").format(
            question=escape(label(question.question, language))
        )
    return _("Remove the topic «{topic}» with its questions (questions: {count})? It can be undone from the history.").format(
        topic=escape(label(topic.title, language)), count=len(topic.questions)
    )


def remove_keyboard(topic: str, question: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🗑 Remove"), callback_data=KnowledgeEdit(action="removed", topic=topic, question=question))
    builder.button(
        text=_("✖️ Cancel"),
        callback_data=KnowledgeEdit(action="question" if question else "topic", topic=topic, question=question),
    )
    return builder.as_markup()


def _change_text(revision: Revision) -> str:
    language = f" ({revision.language})" if revision.language else ""
    return {
        Change.TITLE: _("title") + language,
        Change.QUESTION: _("question") + language,
        Change.ANSWER: _("answer") + language,
        Change.WAYS: _("ways of asking") + language,
        Change.NEW_TOPIC: _("new topic"),
        Change.NEW_QUESTION: _("new question") + language,
        Change.REMOVE_TOPIC: _("topic removed"),
        Change.REMOVE_QUESTION: _("question removed"),
        Change.UNDO: _("undo"),
        Change.IMPORT: _("imported from files"),
    }[revision.change]


def _revision_subject(revision: Revision, language: str) -> str:
    snapshot = revision.after or revision.before or {}
    topic = label(snapshot.get("title") or {"kk": revision.topic_id}, language)
    if revision.question_id:
        question = next((q for q in snapshot.get("questions", []) if q["id"] == revision.question_id), None)
        if question is None:  # removed: the question is in the topic before
            question = next((q for q in (revision.before or {}).get("questions", []) if q["id"] == revision.question_id), None)
        if question is not None:
            return f"{escape(short(topic, 30))} → {escape(short(label(question['question'], language), 50))}"
    return escape(short(topic, 50))


def history_text(revisions: list[Revision], language: str) -> str:
    if not revisions:
        return _("🕘 No changes yet: the knowledge base is as the data files seeded it.")
    lines = [_("🕘 <b>Changes</b>, newest first (Astana time):")]
    for revision in revisions:
        line = (
            f"№{revision.id} · {revision.at.astimezone(KAZAKHSTAN):%d.%m %H:%M} · {escape(revision.actor)}: "
            f"{_change_text(revision)} — {_revision_subject(revision, language)}"
        )
        if revision.undoes:
            line += " " + _("(undid №{number})").format(number=revision.undoes)
        if revision.undone_by:
            line += " " + _("(undone by №{number})").format(number=revision.undone_by)
        lines.append(line)
    return "\n".join(lines)


def history_keyboard(revisions: list[Revision], older: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    undoable = [r for r in revisions if r.undone_by is None]
    for revision in undoable:
        builder.button(
            text=_("↩️ Undo №{number}").format(number=revision.id),
            callback_data=KnowledgeEdit(action="undo", number=revision.id),
        )
    row = 0
    if older:
        builder.button(text=_("Older ▶"), callback_data=KnowledgeEdit(action="history", number=revisions[-1].id))
        row += 1
    builder.button(text=_("⬅️ Topics"), callback_data=KnowledgeEdit(action="topics"))
    builder.adjust(*([2] * (len(undoable) // 2)), *([1] if len(undoable) % 2 else []), row + 1)
    return builder.as_markup()


def undone_text(made: Revision) -> str:
    return _("↩️ Change №{number} is undone (change №{made}). People see the earlier text at once.").format(
        number=made.undoes, made=made.id
    )


REFUSALS = {
    Refusal.NO_TOPIC: lambda: _("This topic or question is no longer there: someone removed it. Open /faq again."),
    Refusal.CHANGED_SINCE: lambda: _("This change cannot be undone on its own: the topic has changed since. Undo the later changes first (newest first)."),
    Refusal.ALREADY_UNDONE: lambda: _("This change is already undone."),
    Refusal.EDITED_MEANWHILE: lambda: _("Someone changed this text while you were writing yours, so yours was not saved. Open it again to see theirs."),
    Refusal.FULL: lambda: _("This question has as many ways of asking in this language as it holds. Remove one in /faq first."),
    Refusal.LAST_LANGUAGE: lambda: _("This is the only language this text is written in; it cannot be removed. Write it in another language first, or remove the whole question."),
}


def refusal_text(reason: Refusal) -> str:
    return REFUSALS[reason]()
