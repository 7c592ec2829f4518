"""One database session per update: the one whose transaction took the update out of the intake
(`bot/jobs/intake.py`), which commits it together with the mark that the update was handled.

The handlers work inside a savepoint: if one fails, what it wrote is rolled back while the update
stays claimed and is marked handled (the errors router tells the person), and a refusal
(`Refusals`, outside) is told after the rollback."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.storage import PostgresStorage, current_session

# The driver connection of the current handler's savepoint. The savepoint is set on the driver: the
# intake's claim has begun the transaction, every statement is Core (no unit of work whose state a
# rollback would have to reset), and it costs one round trip and no release (the commit does).
_savepoint: ContextVar[Any] = ContextVar("handler_savepoint", default=None)
SAVEPOINT = "handler"


async def keep_written(session: AsyncSession) -> None:
    """Keep what the handler wrote so far even if it fails later: for a record that must survive
    whatever follows, e.g. the audit entry of an export, written before the files leave. It commits
    with the update's handling (a kill before then hands the update out again, and its calls to
    Telegram are replayed, not repeated). Never `session.commit()` inside a handler: that would
    mark the update handled before its answer went out."""
    driver = _savepoint.get()
    if driver is None:
        raise RuntimeError("keep_written is for handlers, inside DatabaseSessionMiddleware")
    await driver.execute(f"RELEASE SAVEPOINT {SAVEPOINT}; SAVEPOINT {SAVEPOINT}")


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
        driver = (await (await session.connection()).get_raw_connection()).driver_connection
        await driver.execute(f"SAVEPOINT {SAVEPOINT}")
        token = current_session.set(session)
        kept = _savepoint.set(driver)
        try:
            result = await handler(event, data)
            await self.storage.flush(session)
        except BaseException:
            # What the handler wrote goes; the update stays claimed, to be marked handled. (If the
            # connection is lost, this fails too, and the update is handed out again.)
            with contextlib.suppress(Exception):
                await driver.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
            raise
        finally:
            _savepoint.reset(kept)
            current_session.reset(token)
        return result
