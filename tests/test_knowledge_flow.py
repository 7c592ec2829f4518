"""The knowledge base as a person uses it: typed questions in any language, topics, pages."""

import pytest

from bot.services.knowledge import KnowledgeBase

QUESTIONS = {
    "kk": "волонтер болу",
    "ru": "как стать волонтёром",
    "en": "how do I become a volunteer",
}


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_a_typed_question_gets_the_answer_in_the_persons_language(citizen, content, language):
    person = await citizen(language)
    start = content.kb.question("become", "start")
    reaction = await person.send(QUESTIONS[language])
    assert reaction.last.text.startswith(start.question[language])
    assert start.answer[language].splitlines()[0] in reaction.last.text


async def test_a_question_in_another_language_is_answered_in_the_persons_own(citizen, content):
    person = await citizen("kk")
    reaction = await person.send("how do i becom a volunter")  # English, with typos
    start = content.kb.question("become", "start")
    assert reaction.last.text.startswith(start.question["kk"])


async def test_related_questions_are_offered_under_the_answer(citizen, content, t):
    person = await citizen("ru")
    # (The bare words "марафон добрых дел" are the menu's marathon button, so a question about it.)
    reaction = await person.send("что такое марафон добрых дел")
    answer = reaction.last
    labels = [b["text"] for b in answer.buttons]
    assert t("ru", "📚 All topics") in labels and t("ru", "⬅️ More on this topic") in labels
    marathon = content.kb.topic("marathon")
    offered = [q.question["ru"] for q in marathon.questions if q.question["ru"] in labels]
    assert offered, "other marathon questions are offered"
    reaction = await person.press(offered[0], answer)
    assert reaction.edited[0].text.startswith(offered[0])


async def test_no_match_says_so_and_offers_the_topics(citizen, content, t):
    person = await citizen("en")
    reaction = await person.send("where can I buy a pizza")
    assert reaction.last.text == t("en", "I did not find an answer to that. Try other words, or choose a topic:")
    assert [b["text"] for b in reaction.last.buttons][:3] == [topic.title["en"] for topic in content.kb.topics[:3]]


async def test_browsing_topics_pages_questions_and_back(citizen, content, t):
    kb: KnowledgeBase = content.kb
    person = await citizen("kk")
    reaction = await person.tap(t("kk", "Ask a question"))
    topics = reaction.last
    first_page = [b["text"] for b in topics.buttons]
    assert first_page[:6] == [topic.title["kk"] for topic in kb.topics[:6]]
    assert "▶" in first_page, "more topics than fit on one page"

    reaction = await person.press("▶", topics)
    second_page = [b["text"] for b in reaction.edited[0].buttons]
    assert second_page[: len(kb.topics) - 6] == [topic.title["kk"] for topic in kb.topics[6:]]
    assert "◀" in second_page and "▶" not in second_page

    await person.press("◀", topics)
    silver = kb.topic("silver")
    reaction = await person.press(silver.title["kk"], topics)
    assert silver.title["kk"] in reaction.edited[0].text
    assert [b["text"] for b in reaction.edited[0].buttons][: len(silver.questions)] == [q.question["kk"] for q in silver.questions]

    question = silver.questions[0]
    reaction = await person.press(question.question["kk"], topics)
    assert reaction.edited[0].text.startswith(question.question["kk"])
    assert question.answer["kk"][:40] in reaction.edited[0].text

    reaction = await person.press(t("kk", "⬅️ More on this topic"), topics)
    assert silver.title["kk"] in reaction.edited[0].text
    reaction = await person.press(t("kk", "📚 All topics"), topics)
    assert [b["text"] for b in reaction.edited[0].buttons][:6] == first_page[:6]


async def test_become_a_volunteer_opens_the_first_answer(citizen, content, t):
    person = await citizen("en")
    reaction = await person.tap(t("en", "Become a volunteer"))
    start = content.kb.question("become", "start")
    assert reaction.last.text.startswith(start.question["en"])
    others = [q.question["en"] for q in content.kb.topic("become").questions[1:]]
    assert [b["text"] for b in reaction.last.buttons][: len(others)] == others


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_every_answer_opens_through_the_buttons(citizen, content, t, language, api):
    """Every topic and answer, opened as a person would: the stand-in refuses whatever Telegram
    would (a text over 4096 characters, bad HTML, callback data over 64 bytes)."""
    api.without_chat_limits("hundreds of answers opened at machine speed; at a person's pace they stay in the limit")
    person = await citizen(language)
    menu = (await person.tap(t(language, "Ask a question"))).last
    for index, topic in enumerate(content.kb.topics):
        if index and index % 6 == 0:
            await person.press("▶", menu)
        await person.press(topic.title[language], menu)
        for question in topic.questions:
            reaction = await person.press(question.question[language], menu)
            assert question.answer[language][:30] in reaction.edited[0].text
            await person.press(t(language, "⬅️ More on this topic"), menu)
        await person.press(t(language, "📚 All topics"), menu)
        if index >= 6:
            await person.press("▶", menu)
