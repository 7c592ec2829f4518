"""National coordinators keep the knowledge base in the bot (/faq): an answer edited, previewed as
its readers will see it, saved, and at once what people get, in this process and in another one;
the change in the audit log with the text before and after, and undone from the history. A question
written in one language reaches the others' readers with a notice. Other staff are refused; stale
and forged buttons, texts too long and non-texts are answered and change nothing. The command line
exports the base to files of the data folder's form and imports them back."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

from bot.config import PROJECT_ROOT
from bot.db.engine import create_session_factory
import pytest

from bot.services.knowledge import KnowledgeBase, Question, Topic, plain
from bot.services.knowledge.files import read_folder, write_folder
from bot.services.knowledge.live import LiveKnowledge
from bot.views.callbacks import KnowledgeEdit
from tests.support.database import rows, scalar

NEW_ANSWER = "Запишитесь в марафон прямо в этом боте: кнопка «🏃 Марафон добрых дел» в меню, затем «Участвовать»."


async def served(condition, timeout: float = 5.0) -> None:
    """Wait until another process's copy of the base shows a change (checked every 2 ms: nothing in
    the stand-in changes when it does)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the other process did not serve the change"
        await asyncio.sleep(0.002)


def marathon_join(kb: KnowledgeBase):
    return kb.question("marathon", "join")


async def open_answer_editor(coordinator, t, kb: KnowledgeBase, language: str = "ru"):
    question = marathon_join(kb)
    await coordinator.send("/faq")
    await coordinator.press(kb.topic("marathon").title[language])
    await coordinator.press(question.question[language])
    await coordinator.press(t(language, "✏️ Answer"))
    return await coordinator.press("Русский")


async def test_an_edited_answer_reaches_people_at_once_in_every_process_and_is_undone_from_the_history(
    api, bot, engine, operator, citizen, content, t
):
    second = LiveKnowledge(content.kb)  # as another bot process serves the base
    await second.start(engine, create_session_factory(engine))
    try:
        coordinator = await operator("national", "ru", "Айгерим", coordinator=True)
        old_answer = marathon_join(content.kb).answer["ru"]
        prompt = await open_answer_editor(coordinator, t, content.kb)
        assert "«Русский»" in prompt.text and old_answer[:40] in prompt.text, "the current text is offered to copy"

        preview = await coordinator.send(NEW_ANSWER)
        assert NEW_ANSWER in preview.text and marathon_join(content.kb).question["ru"] in preview.text
        person = await citizen("ru")
        before = await person.send("как участвовать в марафоне добрых дел")
        assert old_answer[:40] in before.text, "nothing changes before Save"

        saved = await coordinator.press(t("ru", "✅ Save"))
        assert "№1" in saved.text
        started = time.monotonic()
        await served(lambda: second.current.question("marathon", "join").answer["ru"] == NEW_ANSWER)
        reached_second = time.monotonic() - started
        after = await person.send("как участвовать в марафоне добрых дел")
        assert NEW_ANSWER in after.text and old_answer[:40] not in after.text
        assert marathon_join(second.current).answer["kk"] == marathon_join(content.kb).answer["kk"], "other languages kept"

        audit = await rows(engine, "SELECT actor_id, action, subject FROM audit_log")
        assert [(a["actor_id"], a["action"]) for a in audit] == [(coordinator.id, "knowledge_changed")]
        assert audit[0]["subject"]["before"] == old_answer and audit[0]["subject"]["after"] == NEW_ANSWER
        audit_shown = (await coordinator.send("/audit")).text
        assert t("ru", "changed the knowledge base (change №{revision} in /faq's history)").format(revision=1) in audit_shown

        await coordinator.send("/faq")
        history = await coordinator.press(t("ru", "🕘 History"))
        assert "№1" in history.edited[-1].text and "Айгерим" in history.edited[-1].text
        undone = await coordinator.press(t("ru", "↩️ Undo №{number}").format(number=1))
        assert "№2" in undone.edited[-1].text
        await served(lambda: marathon_join(second.current).answer["ru"] == old_answer)
        again = await person.send("как участвовать в марафоне добрых дел")
        assert old_answer[:40] in again.text
        assert await scalar(engine, "SELECT undone_by FROM knowledge_revisions WHERE id = 1") == 2
        print(f"\nthe second process served the edit {reached_second * 1000:.0f} ms after Save was answered")
    finally:
        await second.stop()


async def test_a_question_written_in_one_language_reaches_the_others_with_a_notice(operator, citizen, content, t):
    coordinator = await operator("national", "kk", "Ержан", coordinator=True)
    await coordinator.send("/faq")
    await coordinator.press(content.kb.topic("orgs").title["kk"])
    await coordinator.press(t("kk", "➕ New question"))
    await coordinator.press("Қазақша")
    await coordinator.send("Грант есебін қалай тапсырамын?")
    preview = await coordinator.send("Грант есебін жоба аяқталған соң бір ай ішінде тапсырасыз.")
    assert "Русский" in preview.text and "English" in preview.text, "the missing languages are named"
    await coordinator.press(t("kk", "✅ Save"))

    reader = await citizen("ru")
    await reader.tap(t("ru", "Ask a question"))
    await reader.press(content.kb.topic("orgs").title["ru"])
    labelled = await reader.press("Грант есебін қалай тапсырамын? · kk")
    shown = labelled.edited[-1].text
    notice = t("ru", "ℹ️ This answer is not yet written in your language; here it is in «{language}».").format(language="Қазақша")
    assert shown.startswith(notice) and "бір ай ішінде" in shown
    found = await reader.send("грант есебі")
    assert "бір ай ішінде" in found.text and notice in found.text, "the search finds it by its Kazakh words"


async def test_an_undo_after_a_later_change_is_refused_and_an_undone_change_cannot_be_undone_twice(operator, content, t, engine):
    coordinator = await operator("national", "en", "Dana", coordinator=True)
    await open_answer_editor(coordinator, t, content.kb, "en")
    await coordinator.send("First version.")
    await coordinator.press(t("en", "✅ Save"))
    await open_answer_editor(coordinator, t, content.kb, "en")
    await coordinator.send("Second version.")
    await coordinator.press(t("en", "✅ Save"))

    await coordinator.send("/faq")
    await coordinator.press(t("en", "🕘 History"))
    refused = await coordinator.press("↩️ Undo №1")
    assert refused.answer["show_alert"] and "changed since" in refused.answer["text"]
    await coordinator.press("↩️ Undo №2")
    await coordinator.press("↩️ Undo №1")
    assert await scalar(engine, "SELECT content->'questions'->2->'answer'->>'ru' FROM knowledge_topics WHERE id = 'marathon'") == (
        marathon_join(content.kb).answer["ru"]
    )
    forged = await coordinator.press_forged(coordinator.last_bot_message(), KnowledgeEdit(action="undo", number=1).pack())
    assert forged.answer["show_alert"] and "already undone" in forged.answer["text"]
    for number in (999, 2**63, -1):  # no such change, and numbers past what a row id can be
        forged = await coordinator.press_forged(coordinator.last_bot_message(), KnowledgeEdit(action="undo", number=number).pack())
        assert forged.answer["show_alert"] and "no longer there" in forged.answer["text"]
    assert await scalar(engine, "SELECT count(*) FROM knowledge_revisions") == 4


async def test_other_staff_are_refused_even_with_forged_buttons(operator, content, t, engine):
    regional = await operator("akmola", "ru", "Нұрлан", coordinator=True)
    refused = await regional.send("/faq")
    assert refused.text == t("ru", "Your role does not allow this. Ask a coordinator of the national front-office.")
    national_operator = await operator("national", "ru", "Оператор")
    assert (await national_operator.send("/faq")).text == refused.text
    anything = regional.last_bot_message()
    forged = await regional.press_forged(anything, KnowledgeEdit(action="removed", topic="marathon").pack())
    assert forged.answer["show_alert"]
    assert await scalar(engine, "SELECT count(*) FROM knowledge_topics WHERE id = 'marathon'") == 1
    assert await scalar(engine, "SELECT count(*) FROM knowledge_revisions") == 0


async def test_bad_texts_and_stale_buttons_are_answered_and_change_nothing(operator, content, t, engine):
    coordinator = await operator("national", "ru", "Айгерим", coordinator=True)
    await open_answer_editor(coordinator, t, content.kb)
    photo = await coordinator.send_photo()
    assert photo.text == t("ru", "Please send text: a photo, a file or a sticker cannot be an answer in the knowledge base.")
    preview = await coordinator.send("Новый ответ")
    cancelled = await coordinator.press(t("ru", "✖️ Cancel"), preview.last)
    assert cancelled.answer["text"] == t("ru", "Cancelled: nothing was changed.")
    stale = await coordinator.press_forged(preview.last, KnowledgeEdit(action="save").pack())
    assert stale.answer["text"] == t("ru", "This button is no longer active.")

    # The only language of a text cannot be removed: the question would have no wording at all.
    await coordinator.send("/faq")
    await coordinator.press(content.kb.topic("grants").title["ru"])
    await coordinator.press(t("ru", "➕ New question"))
    await coordinator.press("English")
    await coordinator.send("How do I report on my grant?")
    await coordinator.send("Within a month of the project's end.")
    await coordinator.press(t("ru", "✅ Save"))
    await coordinator.press(t("ru", "✏️ Question"))
    await coordinator.press("English")
    refused = await coordinator.send("-")
    assert refused.text == t(
        "ru", "This is the only language this text is written in; it cannot be removed. Write it in another language first, or remove the whole question."
    )
    assert await scalar(engine, "SELECT count(*) FROM knowledge_revisions") == 1
    answers = await scalar(engine, "SELECT content->'questions'->3->'question'->>'en' FROM knowledge_topics WHERE id = 'grants'")
    assert answers == "How do I report on my grant?"

    await open_answer_editor(coordinator, t, content.kb)
    too_long = await coordinator.send("а" * 3501)
    assert "3501" in too_long.text and "3500" in too_long.text, too_long.text
    assert await scalar(engine, "SELECT count(*) FROM knowledge_revisions") == 1


async def test_the_marathon_answer_offers_the_marathons_button(citizen, t):
    person = await citizen("kk")
    answer = await person.send("марафонға қалай қатысамын")
    label = "🏃 " + t("kk", "Marathon of Good Deeds")
    assert label in [b["text"] for b in answer.last.buttons], answer.last.buttons
    home = await person.press(label, answer.last)
    assert home.sent and home.last.buttons, "the marathon's screen opens, with its buttons"


async def test_the_command_line_exports_the_base_and_imports_it_back(bot, citizen, t, engine, database_url, tmp_path, content):
    """The import runs as a process of its own; the running bot serves what it changed at once."""
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", "knowledge", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)

    folder = tmp_path / "faq"
    exported = await asyncio.to_thread(cli, "export", str(folder))
    assert exported.returncode == 0, exported.stderr
    assert sorted(p.name for p in folder.glob("*.toml")) == sorted(p.name for p in (PROJECT_ROOT / "bot" / "content" / "faq").glob("*.toml"))
    topics = read_folder(folder)
    assert [topic.id for topic in topics] == [topic.id for topic in content.kb.all_topics]

    marathon_file = next(folder.glob("*-marathon.toml"))
    marathon_file.write_text(marathon_file.read_text(encoding="utf-8").replace('en = "Marathon of Good Deeds"', 'en = "The Marathon of Good Deeds"', 1), encoding="utf-8")
    next(folder.glob("*-cis.toml")).unlink()
    imported = await asyncio.to_thread(cli, "import", str(folder))
    assert imported.returncode == 0, imported.stderr
    # The edited topic, the removed one, and the last one, moved up into the removed one's place.
    assert "3 changed" in imported.stdout
    changes = await rows(engine, "SELECT topic_id, change, actor FROM knowledge_revisions ORDER BY id")
    assert {(c["topic_id"], c["change"]) for c in changes} == {("marathon", "import"), ("cis", "import"), ("numbers", "import")}
    assert await scalar(engine, "SELECT content->'title'->>'en' FROM knowledge_topics WHERE id = 'marathon'") == "The Marathon of Good Deeds"
    live = bot.dispatcher["knowledge"]
    await served(lambda: live.current.topic("marathon").title["en"] == "The Marathon of Good Deeds")
    person = await citizen("en")
    topics = await person.tap(t("en", "Ask a question"))
    labels = [b["text"] for b in topics.last.buttons]
    assert "The Marathon of Good Deeds" in labels
    assert live.current.topic("cis") is None, "the removed topic is gone from what people browse"
    assert all(c["actor"].startswith("command line") for c in changes)

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "01-x.toml").write_text('id = "x"\ntitle = { kk = "" }\n', encoding="utf-8")
    refused = await asyncio.to_thread(cli, "import", str(broken))
    assert refused.returncode == 2 and "nothing was changed" in refused.stderr
    assert await scalar(engine, "SELECT count(*) FROM knowledge_topics") == len(content.kb.all_topics) - 1


async def test_a_topics_title_is_edited_and_a_text_changed_meanwhile_is_not_overwritten(operator, content, t, engine):
    first = await operator("national", "en", "Dana", coordinator=True)
    second = await operator("national", "ru", "Айгерим", coordinator=True)
    await first.send("/faq")
    await first.press(content.kb.topic("cis").title["en"])
    await first.press(t("en", "✏️ Title"))
    await first.press("English")
    preview = await first.send("The CIS Volunteers' Forum")
    assert "The CIS Volunteers' Forum" in preview.text
    await first.press(t("en", "✅ Save"))
    assert await scalar(engine, "SELECT content->'title'->>'en' FROM knowledge_topics WHERE id = 'cis'") == "The CIS Volunteers' Forum"

    # Both open the same answer; the second saves first; the first's Save is refused, not lost.
    await open_answer_editor(first, t, content.kb, "en")
    await open_answer_editor(second, t, content.kb, "ru")
    await first.send("Dana's answer.")
    await second.send("Ответ Айгерим.")
    await second.press(t("ru", "✅ Save"))
    refused = await first.press(t("en", "✅ Save"))
    assert refused.answer["show_alert"] and "changed this text while you were writing" in refused.answer["text"]
    assert await scalar(engine, "SELECT content->'questions'->2->'answer'->>'ru' FROM knowledge_topics WHERE id = 'marathon'") == "Ответ Айгерим."


async def test_an_export_never_deletes_other_files_and_a_partly_written_base_goes_out_and_back(engine, database_url, tmp_path, operator, t, content):
    coordinator = await operator("national", "en", "Dana", coordinator=True)
    await coordinator.send("/faq")
    await coordinator.press(t("en", "➕ New topic"))
    await coordinator.press("English")
    await coordinator.send('Volunteer "books"\\')
    await coordinator.press(t("en", "✅ Save"))
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", "knowledge", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)

    (tmp_path / "pyproject.toml").write_text("[project]\n", encoding="utf-8")
    refused = await asyncio.to_thread(cli, "export", str(tmp_path))
    assert refused.returncode == 2 and "export into an empty folder" in refused.stderr
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == "[project]\n"
    folder = tmp_path / "faq"
    assert (await asyncio.to_thread(cli, "export", str(folder))).returncode == 0
    imported = await asyncio.to_thread(cli, "import", str(folder))
    assert imported.returncode == 0 and "0 changed" in imported.stdout, imported.stdout + imported.stderr
    assert await scalar(engine, "SELECT content->'title'->>'en' FROM knowledge_topics WHERE id = 't1'") == 'Volunteer "books"\\'


@pytest.mark.parametrize("tricky", ['a\n"""', 'ends with a quote\n"', 'back\\slash\n\ttab «ёлочки» \x01 bell', "one line \"quoted\" \\ and 😀"])
def test_any_text_goes_to_a_file_and_back_unchanged(tricky, tmp_path):
    topic = Topic("x", {"kk": "Тақырып"}, (Question("x", "q", {"en": "Why?"}, {"en": tricky}, {"ru": ('"a"', "b\\c")}),))
    write_folder([topic], tmp_path)
    back = read_folder(tmp_path, every_language=False)
    assert plain(back[0]) == plain(topic)
