"""Statements on the path of many updates, run on the update's own asyncpg connection.

The intake claims every update on a connection of SQLAlchemy's pool and hands its asyncpg
connection down (`session.info`, set by the claim): a Core statement compiled here once to asyncpg's
SQL runs on it directly, in the update's transaction, past SQLAlchemy's execution layer (~100 µs of
the bot's CPU a statement, against a round trip's ~60). The parameters go through the statement's
own bind processors (JSONB is serialised as SQLAlchemy would). The outbox's deliveries hand theirs
down too (`begin_on_driver`), and the intake's store runs on its autocommit connection's
(`Statement.scalar_on`). Elsewhere (a timer, a job, a command line) the same statement runs through
the session as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

T = TypeVar("T")

DRIVER = "driver"  # the key of `session.info` under which the claim leaves the asyncpg connection

_DIALECT = asyncpg_dialect()


def hand_down(session: AsyncSession, driver: Any) -> None:
    """The session's transaction runs on `driver`: statements of this module may use it."""
    session.info[DRIVER] = driver


async def pooled(session: AsyncSession) -> Any:
    """The session's pooled connection (SQLAlchemy's "fairy"): its `driver_connection` is asyncpg's."""
    return await (await session.connection()).get_raw_connection()


async def begin(fairy: Any) -> None:
    """Begin the transaction through SQLAlchemy's asyncpg adapter, which then commits or rolls it
    back with the session: the adapter begins lazily, with the first statement it runs itself, and
    a statement run on the driver first would otherwise run outside any transaction. Run it
    `uncancelled`. A BEGIN that failed (the connection lost, say) leaves the connection in a state
    nobody knows, and out of SQLAlchemy's sight, which would hand it out again: it is discarded."""
    adapted = fairy.dbapi_connection
    if adapted._transaction is None:
        await discarded_on_failure(fairy, adapted._start_transaction())


async def discarded_on_failure(fairy: Any, step: Awaitable[T]) -> T:
    """`step`, run on `fairy`'s connection out of SQLAlchemy's sight: if it fails (the connection
    lost, say), SQLAlchemy would not know and would hand the connection out again, so it is
    discarded, as SQLAlchemy discards one whose statement met a lost connection."""
    try:
        return await step
    except Exception as error:
        fairy.invalidate(error)
        raise


async def begin_on_driver(session: AsyncSession) -> None:
    """Begin the session's transaction and hand its asyncpg connection down to this module's
    statements (a job's transaction on the path of many messages, as the intake's claim does for
    an update's), for that one transaction: the session is not to go on after it ends."""
    fairy = await pooled(session)
    await uncancelled(begin(fairy))
    hand_down(session, fairy.driver_connection)


async def uncancelled(step: Awaitable[T]) -> T:
    """`step`, finished even if the caller is cancelled meanwhile (a stop), before the cancellation
    goes on. Run on the driver, out of SQLAlchemy's sight: cancelled half-way, the BEGIN would have
    started a transaction the adapter never learned of (so the session's rollback skipped it and the
    pooled connection went back still in it), and a statement would leave asyncpg mid-way."""
    running = asyncio.ensure_future(step)
    cancelled = False
    while not running.done():
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            cancelled = True  # again, if cancelled again: the step finishes all the same
        except Exception:
            break  # the step's own failure, raised below
    if cancelled:
        raise asyncio.CancelledError
    return running.result()


def driver_of(session: AsyncSession) -> Any | None:
    return session.info.get(DRIVER)


class Statement:
    """A Core statement, compiled once to asyncpg's SQL and its parameters' order.

    On the driver it raises asyncpg's own errors, not SQLAlchemy's: a statement whose caller catches
    SQLAlchemy's `IntegrityError` (a race settled in a savepoint) stays with the session."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        compiled = statement.compile(dialect=_DIALECT)
        if compiled.insert_prefetch or compiled.update_prefetch:  # (Python-side column defaults)
            raise ValueError("a statement whose columns take defaults computed in Python runs through the session")
        self.sql = str(compiled)
        self.names = tuple(compiled.positiontup or ())
        processors, values = {}, {}
        for name in self.names:
            bind = compiled.binds[name]
            processor = bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
            if processor is not None:
                processors[name] = processor
            if not bind.required:  # a value the statement holds (a literal, None included)
                values[name] = bind.effective_value
        self.processors, self.values = processors, values

    def _arguments(self, params: Mapping[str, Any]) -> list[Any]:
        processors, values = self.processors, self.values
        arguments = []
        for name in self.names:
            value = params[name] if name in params or name not in values else values[name]
            arguments.append(processors[name](value) if name in processors else value)
        return arguments

    async def execute(self, session: AsyncSession, params: Mapping[str, Any]) -> None:
        driver = driver_of(session)
        if driver is None:
            await session.execute(self.statement, params)
        else:
            await driver.execute(self.sql, *self._arguments(params))

    async def fetchrow(self, session: AsyncSession, params: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The first row (by column name), or None."""
        driver = driver_of(session)
        if driver is None:
            return (await session.execute(self.statement, params)).mappings().first()
        return await driver.fetchrow(self.sql, *self._arguments(params))

    async def fetch(self, session: AsyncSession, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """Every row (by column name)."""
        driver = driver_of(session)
        if driver is None:
            return list((await session.execute(self.statement, params)).mappings())
        return await driver.fetch(self.sql, *self._arguments(params))

    async def scalar(self, session: AsyncSession, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or None if there is no row."""
        driver = driver_of(session)
        if driver is None:
            return (await session.execute(self.statement, params)).scalar()
        return await self.scalar_on(driver, params)

    async def scalar_on(self, driver: Any, params: Mapping[str, Any]) -> Any:
        """`scalar`, on an asyncpg connection the caller holds (outside any session)."""
        return await driver.fetchval(self.sql, *self._arguments(params))
