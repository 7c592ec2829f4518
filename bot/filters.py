"""Who may use which router: people who finished the first set-up, and those who did not."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject

from bot.services.users import Person, needs_consent


def is_onboarded(user: Person | None) -> bool:
    return user is not None and not needs_consent(user) and user.region is not None


class Onboarded(Filter):
    """The person consented and chose a region; `user` comes from ArrivalMiddleware."""

    def __init__(self, expected: bool = True) -> None:
        self.expected = expected

    async def __call__(self, event: TelegramObject, user: Person | None = None, **_: Any) -> bool:
        return is_onboarded(user) is self.expected
