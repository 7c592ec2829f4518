"""The knowledge base's search: the right answer from a question typed in any of the three languages,
typos included.

How the search works (a small fuzzy BM25-like scorer; the whole base is a few hundred words, so it
lives in memory and answers in well under a millisecond):

* Text is folded (`bot/services/spellings.py`): lower case, Kazakh letters as their nearest Russian
  ones (people often type Kazakh on a Russian keyboard: "кайырымдылык" for "қайырымдылық"),
  punctuation away. A word typed in Latin letters also stands for its Kazakh (2021 alphabet, with
  or without marks) and Russian readings ("otinis" ~ "өтініш", "volonterom" ~ "волонтёром"), and a
  question that finds nothing is tried once more as if typed with the other keyboard layout on.
* Every question is a document made of its question texts and keywords in all three languages
  (full weight), its topic's titles (half weight) and its answers (a third).
* Each query word is matched against the vocabulary with `rapidfuzz`: an edit-similarity for
  typos, and a shared-stem rule for inflections ("волонтёром" ~ "волонтер", "болу" ~ "болуға").
* A document's score is the idf-weighted share of the query's words it matches, between 0 and 1.
  A query none of whose words the base knows scores 0, so "pizza delivery" finds nothing.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.services.knowledge.model import KnowledgeBaseError, Question, Topic
from bot.services.spellings import fold, kazakh_stem, latin_readings, other_layout

# A query must match at least this share of its (weighted) words to count as an answer.
MIN_SCORE = 0.5
# Other matches are offered only when close to the best one.
RELATED_SHARE = 0.6

_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)

# Words that carry no meaning for the search, already folded.
_STOPWORDS = frozenset(
    fold(
    """
    how do does did i me my a an the to is are am be what where which who when can could should
    would of in on at for and or about please tell want need it this that with from there any you
    your we our get
    как что где кто когда мне меня мой моя я а и в во на о об про для это то же ли бы у к с со по
    ну хочу хотел хотела подскажите пожалуйста какой какая какие каков можно нужно ли есть ваш вы
    мы нам нас его ее их или там тут делать делает делают сделать
    калай не кайда кашан кім мен маган менин бизге биз ма ме ба бе па пе та те жане ушин туралы
    деген керек кандай ол бул осы сиз сизге
    """
    ).split()
)
# A reading of a Latin word, or of a phrase in the other layout, counts a little less than the
# word as typed: "bar" is the English word before it is Kazakh "бар".
REREAD_SIMILARITY = 0.95


def is_stopword(word: str) -> bool:
    return fold(word) in _STOPWORDS


def words(text: str) -> list[str]:
    return [w for w in _WORD_RE.findall(fold(text)) if len(w) > 1 and w not in _STOPWORDS]


def query_terms(text: str) -> list[tuple[str, ...]]:
    """Each meaningful word of a question with the folded forms it may stand for (itself first)."""
    terms: dict[tuple[str, ...], None] = {}
    for word in _WORD_RE.findall(fold(text)):
        forms = (word, *(r for r in latin_readings(word) if r != word))
        if len(word) > 1 and not any(form in _STOPWORDS for form in forms):
            terms[forms] = None
    return list(terms)


@dataclass(frozen=True, slots=True)
class SearchHit:
    question: Question
    score: float


class KnowledgeBase:
    def __init__(self, topics: list[Topic]) -> None:
        ids = [t.id for t in topics]
        if len(set(ids)) != len(ids):
            raise KnowledgeBaseError("two topics share an id")
        # Every topic, for the coordinators' editor; people see those with at least one question.
        self.all_topics: tuple[Topic, ...] = tuple(topics)
        self.topics: tuple[Topic, ...] = tuple(t for t in topics if t.questions)
        self._by_id = {t.id: t for t in topics}
        self._build_index()

    @classmethod
    def load(cls, folder: Path | None = None) -> KnowledgeBase:
        """The base as the data files in `folder` (the seed in bot/content/faq/ by default) hold it."""
        from bot.services.knowledge.files import DEFAULT_FOLDER, read_folder

        return cls(read_folder(folder or DEFAULT_FOLDER))

    def knows(self, word: str) -> bool:
        """Whether `word` (as typed) is a word of the base's texts."""
        return fold(word) in self._postings

    def topic(self, topic_id: str) -> Topic | None:
        return self._by_id.get(topic_id)

    def question(self, topic_id: str, question_id: str) -> Question | None:
        topic = self._by_id.get(topic_id)
        return topic.question(question_id) if topic else None

    # --- search -------------------------------------------------------------------------------

    def _build_index(self) -> None:
        self._docs: list[Question] = [q for t in self.topics for q in t.questions]
        # word -> {doc index: field weight}
        postings: dict[str, dict[int, float]] = defaultdict(dict)
        for index, (topic, question) in enumerate(
            (t, q) for t in self.topics for q in t.questions
        ):
            fields = [
                (1.0, list(question.question.values())
                 + [k for ks in question.keywords.values() for k in ks]),
                (0.5, list(topic.title.values())),
                (0.34, list(question.answer.values())),
            ]
            for weight, texts in fields:
                for text in texts:
                    for word in words(text):
                        if postings[word].get(index, 0.0) < weight:
                            postings[word][index] = weight
        count = len(self._docs)
        # The words of each question's own wording, per language: to prefer, among equally good
        # matches, the question the query says most completely ("how to become a volunteer" is
        # "How do I become a volunteer?" before "How can an older person become a volunteer?").
        self._question_words = [
            [frozenset(words(text)) for text in q.question.values()] for q in self._docs
        ]
        self._postings = dict(postings)
        self._vocabulary = sorted(self._postings)
        self._by_stem: dict[str, list[str]] = defaultdict(list)
        for word in self._vocabulary:
            self._by_stem[kazakh_stem(word) or word].append(word)
        self._max_idf = math.log(1 + count)
        # People ask the same words again and again; matching a word against the vocabulary is
        # the costly part of a search, and its result depends on the word alone.
        self._similar_words = lru_cache(maxsize=8192)(self._match_word)

    def _words_starting_with(self, prefix: str) -> list[str]:
        start = bisect.bisect_left(self._vocabulary, prefix)
        end = bisect.bisect_left(self._vocabulary, prefix + "\uffff")
        return self._vocabulary[start:end]

    def _match_word(self, word: str) -> tuple[tuple[str, float], ...]:
        """Vocabulary words close to `word`, with a similarity in 0..1."""
        found = {word: 1.0} if word in self._postings else {}
        # Typos: one wrong letter in a short word, about two in a long one; a short word may not
        # lose or gain more than a letter ("погода" is not "года").
        if len(word) > 3:
            # A four-letter word may also have one letter wrong ("yeer" for "year"; ratio 75).
            cutoff = 75 if len(word) == 4 else 85 if len(word) <= 5 else 80 if len(word) <= 7 else 75
            for candidate, score, _ in process.extract(
                word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff, limit=8
            ):
                if len(word) <= 7 and abs(len(candidate) - len(word)) > 1:
                    continue
                if len(word) == 4 and score < 85 and len(candidate) != 4:
                    continue
                found[candidate] = max(found.get(candidate, 0.0), score / 100)
        # Shared stem: inflected forms of one word ("волонтер", "волонтером", "волонтерлер").
        if len(word) >= 4:
            for prefix_length in range(max(4, math.ceil(len(word) / 2)), len(word)):
                candidate = word[:prefix_length]
                if candidate in self._postings:  # a shorter known word the query word extends
                    found[candidate] = max(found.get(candidate, 0.0), 0.95)
            stem = word[: max(4, math.ceil(len(word) * 0.7))]
            for candidate in self._words_starting_with(stem):
                similarity = 0.95 if candidate.startswith(word) and len(word) * 2 >= len(candidate) else 0.85
                found[candidate] = max(found.get(candidate, 0.0), similarity)
        # The same Kazakh stem under other suffixes ("тіркелемін" ~ "тіркелу", "болғым" ~ "болу").
        for candidate in self._by_stem.get(kazakh_stem(word) or word, ()):
            found.setdefault(candidate, 0.8)
        return tuple(found.items())

    def candidates(self, query: str, limit: int = 5) -> list[Question]:
        """The questions nearest to `query` even when none is near enough to be its answer: for a
        coordinator choosing which question a new way of asking belongs to."""
        terms = query_terms(query)
        if not terms:
            return []
        scores: dict[int, float] = defaultdict(float)
        for forms in terms:
            best_per_doc: dict[int, float] = {}
            for form in forms:
                for match, similarity in self._similar_words(form):
                    for doc, field_weight in self._postings[match].items():
                        best_per_doc[doc] = max(best_per_doc.get(doc, 0.0), similarity * field_weight)
            weight = math.log(1 + len(self._docs) / len(best_per_doc)) if best_per_doc else 0.0
            for doc, value in best_per_doc.items():
                scores[doc] += value * weight
        return [self._docs[doc] for doc in sorted(scores, key=lambda d: (-scores[d], d))[:limit]]

    def search(self, query: str, limit: int = 4) -> list[SearchHit]:
        """Best answers first; empty when nothing matches well enough."""
        hits = self._search(query, limit, 1.0)
        if not hits and (retyped := other_layout(query)):
            hits = self._search(retyped, limit, REREAD_SIMILARITY)
        return hits

    def _search(self, query: str, limit: int, reread: float) -> list[SearchHit]:
        terms = query_terms(query)
        if not terms:
            return []
        count = len(self._docs)
        scores: dict[int, float] = defaultdict(float)
        total_weight = 0.0
        matched_words: set[str] = set()
        for forms in terms:
            # The query word stands for all its close forms (and its readings) at once: its
            # postings are the union of theirs, so a rare inflection does not outweigh the common one.
            best_per_doc: dict[int, float] = {}
            for index, form in enumerate(forms):
                form_similarity = reread if index == 0 else reread * REREAD_SIMILARITY
                for match, similarity in self._similar_words(form):
                    matched_words.add(match)
                    for doc, field_weight in self._postings[match].items():
                        value = form_similarity * similarity * field_weight
                        if value > best_per_doc.get(doc, 0.0):
                            best_per_doc[doc] = value
            # An unknown word weighs like the rarest one: the base does not know what it means.
            weight = math.log(1 + count / len(best_per_doc)) if best_per_doc else self._max_idf
            total_weight += weight
            for doc, value in best_per_doc.items():
                scores[doc] += value * weight
        def precision(doc: int) -> float:
            return max((len(ws & matched_words) / len(ws) for ws in self._question_words[doc] if ws), default=0.0)

        coverage = {doc: score / total_weight for doc, score in scores.items()}
        best = max(coverage.values(), default=0.0)
        # The tie-break adds at most 0.25: only questions that close to the best can be reordered.
        contenders = [doc for doc, value in coverage.items() if value >= max(MIN_SCORE, best * RELATED_SHARE) - 0.25]
        ranked = [
            SearchHit(self._docs[doc], coverage[doc])
            for doc in sorted(contenders, key=lambda doc: (-(coverage[doc] + 0.25 * precision(doc)), doc))
        ]
        if not ranked or ranked[0].score < MIN_SCORE:
            return []
        return [h for h in ranked[:limit] if h.score >= max(MIN_SCORE, ranked[0].score * RELATED_SHARE)]
