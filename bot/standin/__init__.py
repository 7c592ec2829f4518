"""A stand-in for the Telegram Bot API: the playground's engine and the tests' Telegram. See
`server.py` for what it does like Telegram and why."""

from bot.standin.files import picture
from bot.standin.limits import split_like_an_app
from bot.standin.model import BotApiError, ChatMessage, Person
from bot.standin.server import BotApiServer

__all__ = ["BotApiError", "BotApiServer", "ChatMessage", "Person", "picture", "split_like_an_app"]
