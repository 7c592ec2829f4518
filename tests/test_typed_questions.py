"""The knowledge base finds the right topic from questions as people actually type them: with
typos, Kazakh in Russian letters or in the Latin alphabet, Russian in Latin letters, the wrong
keyboard layout, and questions it has no answer to (tests/data/typed_questions.toml)."""

import tomllib

import pytest

from bot.config import PROJECT_ROOT, SUPPORTED_LANGUAGES
from bot.services.knowledge import KnowledgeBase

TYPED_QUESTIONS = PROJECT_ROOT / "tests" / "data" / "typed_questions.toml"
REQUIRED_SHARE = 0.90


def typed_questions() -> dict[str, list[tuple[str, str]]]:
    with TYPED_QUESTIONS.open("rb") as fp:
        return {language: [tuple(pair) for pair in pairs] for language, pairs in tomllib.load(fp).items()}


def found_topic(kb: KnowledgeBase, query: str) -> str:
    hits = kb.search(query)
    return hits[0].question.topic_id if hits else ""


def test_the_set_covers_each_language_with_questions_that_should_find_nothing():
    questions = typed_questions()
    assert set(questions) == set(SUPPORTED_LANGUAGES)
    for language, pairs in questions.items():
        assert len(pairs) >= 50, language
        assert sum(1 for _, topic in pairs if not topic) >= 5, language
    kb = KnowledgeBase.load()
    topics = {topic for pairs in questions.values() for _, topic in pairs if topic}
    assert topics <= {t.id for t in kb.topics}, topics - {t.id for t in kb.topics}


def test_nine_in_ten_typed_questions_find_their_topic(capsys):
    kb = KnowledgeBase.load()
    misses, lines, total, on_topic = [], [], 0, 0
    for language, pairs in typed_questions().items():
        hits = 0
        for query, expected in pairs:
            got = found_topic(kb, query)
            if got == expected:
                hits += 1
            else:
                misses.append(f"  [{language}] {query!r}: expected {expected or 'nothing'}, found {got or 'nothing'}")
        lines.append(f"{language} {hits}/{len(pairs)} ({hits / len(pairs):.0%})")
        total += len(pairs)
        on_topic += hits
    share = on_topic / total
    report = f"typed questions on topic: {on_topic}/{total} ({share:.1%}); " + ", ".join(lines)
    with capsys.disabled():
        print("\n" + report)
    assert share >= REQUIRED_SHARE, report + "\nmisses:\n" + "\n".join(misses)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_questions_that_should_find_nothing_find_nothing(language):
    # A wrong answer is worse than "I don't know, ask an operator": none of these may find a topic.
    kb = KnowledgeBase.load()
    wrong = [(query, found_topic(kb, query)) for query, topic in typed_questions()[language] if not topic and found_topic(kb, query)]
    assert not wrong, wrong
