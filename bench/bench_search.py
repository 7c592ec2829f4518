"""The knowledge-base search on questions as people type them (tests/data/typed_questions.toml):
time per query, cold (each word matched against the vocabulary for the first time) and warm (the
word matches cached, as in a running bot), and the share of questions that find their topic.

    .venv/bin/python bench/bench_search.py [--rounds 20]

A pure function of the text, so there is no echo bot beside it: its cost is to be read against a
message's whole handling (bench_questions.py: ~2.5 ms of bot CPU per update).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.services.knowledge import KnowledgeBase

TYPED_QUESTIONS = ROOT / "tests" / "data" / "typed_questions.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="warm passes over the whole set")
    args = parser.parse_args()
    with TYPED_QUESTIONS.open("rb") as fp:
        questions = [(language, query, topic) for language, pairs in tomllib.load(fp).items() for query, topic in pairs]

    started = time.perf_counter()
    kb = KnowledgeBase.load()
    load_ms = (time.perf_counter() - started) * 1000

    cold, on_topic = [], 0
    for _, query, topic in questions:
        started = time.perf_counter()
        hits = kb.search(query)
        cold.append((time.perf_counter() - started) * 1e6)
        on_topic += (hits[0].question.topic_id if hits else "") == topic
    warm = []
    for _ in range(args.rounds):
        for _, query, _ in questions:
            started = time.perf_counter()
            kb.search(query)
            warm.append((time.perf_counter() - started) * 1e6)

    def summary(samples: list[float]) -> dict[str, float]:
        ordered = sorted(samples)
        return {
            "p50_us": round(statistics.median(ordered), 1),
            "p95_us": round(ordered[int(len(ordered) * 0.95) - 1], 1),
            "max_us": round(ordered[-1], 1),
            "mean_us": round(statistics.fmean(ordered), 1),
        }

    print(json.dumps({
        "questions": len(questions),
        "on_topic": on_topic,
        "share_on_topic": round(on_topic / len(questions), 3),
        "load_and_index_ms": round(load_ms, 1),
        "cold": summary(cold),
        "warm": summary(warm),
    }))


if __name__ == "__main__":
    main()
