"""The knowledge base as data files: one TOML file per topic (`bot/content/faq/NN-<topic>.toml`).
The files seed an empty database; the command line exports the database to files of the same form
and imports them back (`python -m bot knowledge export|import FOLDER`)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from bot.config import SUPPORTED_LANGUAGES
from bot.services.knowledge.model import KnowledgeBaseError, Topic, parse_topic, plain

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "content" / "faq"


FILE_NAME = re.compile(r"^\d{2,}-[a-z0-9-]{1,10}\.toml$")


def read_folder(folder: Path, *, every_language: bool = True) -> list[Topic]:
    """Every `*.toml` in `folder`, in file-name order (the order topics are shown in). The seed files
    must have every language (`every_language`); an export of what coordinators edit may lack one
    where they have not written it yet, and an empty topic."""
    topics = []
    for path in sorted(folder.glob("*.toml")):
        try:
            with path.open("rb") as fp:
                raw = tomllib.load(fp)
        except tomllib.TOMLDecodeError as exc:
            raise KnowledgeBaseError(f"{path.name}: {exc}") from None
        topics.append(parse_topic(raw, path.name, every_language=every_language))
    if not topics:
        raise KnowledgeBaseError(f"no topics in {folder}")
    if len({t.id for t in topics}) != len(topics):
        raise KnowledgeBaseError(f"{folder}: two topics share an id")
    return topics


def write_folder(topics: list[Topic], folder: Path) -> list[Path]:
    """Write one file per topic, numbered in order; other `*.toml` files in `folder` go, so that the
    folder reads back as exactly these topics."""
    folder.mkdir(parents=True, exist_ok=True)
    foreign = sorted(p.name for p in folder.iterdir() if not FILE_NAME.match(p.name))
    if foreign:  # never delete what is not an exported topic ("export ." in the repository)
        raise KnowledgeBaseError(f"{folder} holds other files ({', '.join(foreign[:3])}…): export into an empty folder")
    written = []
    for position, topic in enumerate(topics, start=1):
        path = folder / f"{position:02d}-{topic.id}.toml"
        path.write_text(topic_toml(topic), encoding="utf-8")
        written.append(path)
    for stale in set(folder.glob("*.toml")) - set(written):
        stale.unlink()
    return written


def _string(text: str) -> str:
    if "\n" not in text:
        return json.dumps(text, ensure_ascii=False)  # JSON's escapes are TOML's basic-string escapes
    # A multi-line string keeps the answer readable line by line; inside it, a backslash, every
    # quote and every control character but the line break are escaped, so any text reads back.
    body = "".join(
        "\\\\" if char == "\\" else '\\"' if char == '"' else char if char in "\n\t" or ord(char) >= 32 and char != "\x7f"
        else f"\\u{ord(char):04x}"
        for char in text
    )
    return f'"""{body}"""'


def _texts(texts: dict[str, Any]) -> str:
    return "".join(f"{lang} = {_string(texts.get(lang, ''))}\n" for lang in SUPPORTED_LANGUAGES)


def topic_toml(topic: Topic) -> str:
    raw = plain(topic)
    parts = [f"id = {_string(raw['id'])}\n\n[title]\n{_texts(raw['title'])}"]
    for question in raw["questions"]:
        head = f"\n[[questions]]\nid = {_string(question['id'])}\n"
        if question.get("action"):
            head += f"action = {_string(question['action'])}\n"
        keywords = "".join(
            f"{lang} = [{', '.join(_string(w) for w in question['keywords'][lang])}]\n" for lang in SUPPORTED_LANGUAGES
        )
        parts.append(
            head
            + f"\n[questions.question]\n{_texts(question['question'])}"
            + f"\n[questions.answer]\n{_texts(question['answer'])}"
            + f"\n[questions.keywords]\n{keywords}"
        )
    return "".join(parts)
