"""The call-centre's knowledge base: topics of questions and answers in kk/ru/en that coordinators
keep in the bot (`store`), seeded from and exported to data files (`files`), and a search that
finds an answer however a question is typed (`search`)."""

from bot.services.knowledge.model import (
    MAX_ANSWER_LENGTH,
    KnowledgeBaseError,
    Question,
    Shown,
    Topic,
    parse_topic,
    pick,
    plain,
)
from bot.services.knowledge.search import KnowledgeBase, SearchHit

__all__ = [
    "MAX_ANSWER_LENGTH", "KnowledgeBase", "KnowledgeBaseError", "Question", "SearchHit", "Shown", "Topic",
    "parse_topic", "pick", "plain",
]
