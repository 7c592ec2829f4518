"""One database session per update: the one whose transaction took the update out of the intake
(`bot/jobs/intake.py`), which commits it together with the mark that the update was handled.

The handlers work inside a savepoint: if one fails, what it wrote is rolled back while the update
stays claimed and is marked handled (the errors router tells the person), and a refusal
(`Refusals`, outside) is told after the rollback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.storage import PostgresStorage, current_session


class DatabaseSessionMiddleware(BaseMiddleware):
    def __init__(self, storage: PostgresStorage) -> None:
        self.storage = storage

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        session: AsyncSession = data["session"]  # given by the intake with the update
        savepoint = await session.begin_nested()
        token = current_session.set(session)
        try:
            result = await handler(event, data)
            await self.storage.flush(session)
        except BaseException:
            if savepoint.is_active:
                await savepoint.rollback()
            raise
        finally:
            current_session.reset(token)
        return result
