"""Who may use which router (people who finished the first set-up, and those who did not), and
what kind of text a message holds.

Every filter here is a coroutine: aiogram runs a synchronous filter, its magic `F` filters included,
in a worker thread for each message it checks, which costs more than the check itself."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject

from bot.services.users import Person, needs_consent


def is_onboarded(user: Person | None) -> bool:
    return user is not None and not needs_consent(user) and user.region is not None


class Onboarded(Filter):
    """The person consented and chose a region; `user` comes from ArrivalMiddleware."""

    def __init__(self, expected: bool = True) -> None:
        self.expected = expected

    async def __call__(self, event: TelegramObject, user: Person | None = None, **_: Any) -> bool:
        return is_onboarded(user) is self.expected


class TypedText(Filter):
    """A message with text that is not a command: a question in the person's own words."""

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and not message.text.startswith("/")


class TypedCommand(Filter):
    """A message whose text starts with a slash, known command or not."""

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and message.text.startswith("/")
