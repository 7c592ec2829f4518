"""One database session per update: the one whose transaction took the update out of the intake
(`bot/jobs/intake.py`), which commits it together with the mark that the update was handled.

If a handler fails, what it wrote is undone while the update stays claimed and is marked handled
(the errors router tells the person), and a refusal (`Refusals`, outside) is told after that. The
undoing costs nothing until it is needed: no savepoint is set per update (a round trip each, on
every update, for the rare one that fails). A failed handling's transaction is rolled back whole
and the update claimed again in a new one (`Handling`'s `restart`, given with the update); only a
handler that keeps part of its work whatever follows (`keep_written`) sets a savepoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.storage import PostgresStorage, current_session

SAVEPOINT = "handler"


class _Handling:
    """The current handler's transaction, as far as undoing it goes."""

    __slots__ = ("driver", "savepoint")

    def __init__(self, driver: Any) -> None:
        self.driver = driver  # undone on the driver: every statement is Core (no unit of work to reset)
        self.savepoint = False  # whether `keep_written` set one


_current: ContextVar[_Handling | None] = ContextVar("handler_transaction", default=None)

# Undo the update's transaction and claim it again in a new one; False if another process took it
# meanwhile (it is theirs to handle then). Given by the intake with the update, as `restart`; it
# stores the calls made so far first (the rollback lets the update go).
Restart = Callable[[Any], Awaitable[bool]]


class HandledElsewhere(BaseException):  # noqa: N818 (a BaseException: the errors router must not answer it)
    """The update was undone after a handler failed, and another process claimed it meanwhile: this
    handling ends without a word to the person; theirs answers. The handler's error is its cause."""


class UndoFailed(BaseException):  # noqa: N818 (as above)
    """A handler failed and what it wrote could not be undone (the connection was lost, the reclaim
    met a lock timeout…): the transaction cannot be committed as handled, so the handling fails as a
    whole and the update is tried again. `error` is the undo's; the handler's is the cause."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


async def keep_written(session: AsyncSession) -> None:
    """Keep what the handler wrote so far even if it fails later: for a record that must survive
    whatever follows, e.g. the audit entry of an export, written before the files leave. It commits
    with the update's handling (a kill before then hands the update out again, and its calls to
    Telegram are replayed, not repeated). Never `session.commit()` inside a handler: that would
    mark the update handled before its answer went out."""
    handling = _current.get()
    if handling is None:
        raise RuntimeError("keep_written is for handlers, inside DatabaseSessionMiddleware")
    kept = f"RELEASE SAVEPOINT {SAVEPOINT}; SAVEPOINT {SAVEPOINT}" if handling.savepoint else f"SAVEPOINT {SAVEPOINT}"
    await handling.driver.execute(kept)
    handling.savepoint = True


class DatabaseSessionMiddleware(BaseMiddleware):
    def __init__(self, storage: PostgresStorage) -> None:
        self.storage = storage

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        session: AsyncSession = data["session"]  # given by the intake with the update, and its
        handling = _Handling(data["driver"])  # asyncpg connection
        token = current_session.set(session)
        kept = _current.set(handling)
        try:
            result = await handler(event, data)
            await self.storage.flush(session)
        except Exception as error:
            # What the handler wrote goes; the update stays claimed, to be marked handled.
            await self._undo(handling, data["restart"], error)
            raise
        finally:
            _current.reset(kept)
            current_session.reset(token)
        return result

    @staticmethod
    async def _undo(handling: _Handling, restart: Restart, failure: Exception) -> None:
        try:
            if handling.savepoint:
                await handling.driver.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
                return
            still_ours = await restart(handling.driver)
        except Exception as undoing:
            raise UndoFailed(undoing) from failure
        if not still_ours:
            raise HandledElsewhere from failure
