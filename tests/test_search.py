"""Unit tests of the knowledge-base search and of the data files' validation."""

from pathlib import Path

import pytest

from bot.services.knowledge import KnowledgeBase, KnowledgeBaseError


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def best(kb: KnowledgeBase, query: str) -> str | None:
    hits = kb.search(query)
    return f"{hits[0].question.topic_id}/{hits[0].question.id}" if hits else None


@pytest.mark.parametrize(
    "query",
    [
        "как стать волонтёром",
        "Как стать волонтером?",
        "как стать волантером",  # a typo
        "как стат валонтером",  # two typos
        "волонтер болу",
        "Қалай волонтер болуға болады?",
        "калай волонтер болуга болады",  # Kazakh typed on a Russian keyboard
        "how do I become a volunteer",
        "how do i becom a volunter",  # two typos
        "become a volunteer",
    ],
)
def test_becoming_a_volunteer_is_found_in_every_language(kb, query):
    assert best(kb, query) == "become/start"


@pytest.mark.parametrize(
    ("query", "topic"),
    [
        ("серебряные волонтёры", "silver"),
        ("күміс волонтер", "silver"),
        ("silver volunteers", "silver"),
        ("марафон добрых дел", "marathon"),
        ("игі істер марафоны", "marathon"),
        ("marathon of good deeds", "marathon"),
        ("малые гранты", "grants"),
        ("шағын грант", "grants"),
        ("small grants", "grants"),
        ("премия волонтёр года", "award"),
        ("Жыл волонтері сыйлығы", "award"),
        ("volunteer of the year award", "award"),
        ("волонтёры ООН", "intl"),
        ("UN volunteers", "intl"),
        ("форум волонтёров СНГ", "cis"),
        ("CIS volunteers forum", "cis"),
        ("международный год волонтёров 2026", "ivy2026"),
        ("international year of volunteers", "ivy2026"),
        ("что делает фронт-офис", "offices"),
        ("колл центр", "offices"),
        ("сколько волонтёров в Казахстане", "numbers"),
        ("волонтерлік ұйым", "orgs"),
        ("как найти проект на qazvolunteer", "become"),
    ],
)
def test_topics_are_found(kb, query, topic):
    hits = kb.search(query)
    assert hits, f"nothing found for {query!r}"
    assert hits[0].question.topic_id == topic


@pytest.mark.parametrize("query", ["купить пиццу", "pizza delivery", "погода в алматы", "привет", "сәлем", "?!", "", "а и в"])
def test_unrelated_questions_find_nothing(kb, query):
    assert kb.search(query) == []


def test_related_answers_are_close_to_the_best(kb):
    hits = kb.search("марафон добрых дел")
    assert 1 <= len(hits) <= 4
    assert all(hit.score >= hits[0].score * 0.6 for hit in hits)
    assert len({(h.question.topic_id, h.question.id) for h in hits}) == len(hits)


def write_topic(folder: Path, body: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "01-x.toml").write_text(body, encoding="utf-8")


GOOD_TOPIC = """
id = "x"
title = { kk = "Тақырып", ru = "Тема", en = "Topic" }
[[questions]]
id = "q"
question = { kk = "Сұрақ?", ru = "Вопрос?", en = "Question?" }
answer = { kk = "Жауап", ru = "Ответ", en = "Answer" }
"""


def test_a_valid_topic_loads(tmp_path):
    write_topic(tmp_path, GOOD_TOPIC)
    kb = KnowledgeBase.load(tmp_path)
    assert kb.question("x", "q").answer["kk"] == "Жауап"


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (GOOD_TOPIC.replace('en = "Answer"', 'en = ""'), "answer.en"),
        (GOOD_TOPIC.replace('id = "x"', 'id = "Bad Slug!"'), "'id'"),
        (GOOD_TOPIC.replace(', en = "Topic"', ""), "title.en"),
        (GOOD_TOPIC + '[[questions]]\nid = "q"\nquestion = { kk = "a", ru = "b", en = "c" }\nanswer = { kk = "a", ru = "b", en = "c" }\n', "used twice"),
        (GOOD_TOPIC.replace('answer = { kk = "Жауап"', 'answer = { kk = "' + "ж" * 3600 + '"'), "over 3500"),
        ("id = ", "01-x.toml"),
    ],
)
def test_a_broken_file_is_refused_with_its_place(tmp_path, broken, message):
    write_topic(tmp_path, broken)
    with pytest.raises(KnowledgeBaseError, match=message):
        KnowledgeBase.load(tmp_path)
