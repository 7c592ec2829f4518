"""aiogram FSM storage over the `fsm_states` table, so a conversation survives a restart and is
shared by every replica.

Inside an update (the session middleware sets `current_session`) the storage works on a memo kept
in that session: reads come from it (the person's state and data are read together with the person
before the handlers run), and writes are collected there and stored by `flush()` as one statement
just before the update commits, or not at all if the handler fails. A state change thus commits
with what the handler stored, costs one statement however often a handler touches the state, and
needs no connection of its own (which under load would deadlock against the sessions holding the
pool). Outside an update (a job, a clean-up) each call is one autocommitted statement."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy import bindparam, delete, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from bot.db.driver import Statement
from bot.db.models import FsmState

_table = FsmState.__table__

# Built once: constructing and cache-keying a statement per call was a visible share of the CPU
# of an update.
def _upsert(column: str, merge: bool = False):
    stmt = insert(_table).values(
        {"key": bindparam("key"), column: bindparam("value", type_=_table.c[column].type)}
    )
    new_value = _table.c[column].op("||")(stmt.excluded[column]) if merge else stmt.excluded[column]
    return stmt.on_conflict_do_update(
        index_elements=[_table.c.key], set_={column: new_value, "updated_at": func.now()}
    )


_SELECT_ROW = select(_table.c.state, _table.c.data).where(_table.c.key == bindparam("key"))
_row = insert(_table).values(
    key=bindparam("key"), state=bindparam("state", type_=_table.c.state.type),
    data=bindparam("data", type_=_table.c.data.type),
)
_UPSERT_ROW = _row.on_conflict_do_update(
    index_elements=[_table.c.key],
    set_={"state": _row.excluded.state, "data": _row.excluded.data, "updated_at": func.now()},
)
_SELECT_STATE = select(_table.c.state).where(_table.c.key == bindparam("key"))
_SELECT_DATA = select(_table.c.data).where(_table.c.key == bindparam("key"))
_UPSERT_STATE = _upsert("state")
_UPSERT_DATA = _upsert("data")
_MERGE_DATA = _upsert("data", merge=True).returning(_table.c.data)
_DELETE = delete(_table).where(_table.c.key == bindparam("key"))
# Flushed by most updates that change a conversation: on the update's own connection.
_UPSERT_ROW_ON_DRIVER = Statement(_UPSERT_ROW)
_DELETE_ON_DRIVER = Statement(_DELETE)
_DELETE_IF_EMPTY = delete(_table).where(
    _table.c.key == bindparam("key"), _table.c.state.is_(None), _table.c.data == literal({}, JSONB)
)

# The session of the update being handled, if any (see the module's docstring).
current_session: ContextVar[AsyncSession | None] = ContextVar("current_session", default=None)


def _state_name(state: StateType) -> str | None:
    return state.state if isinstance(state, State) else state


class PostgresStorage(BaseStorage):
    def __init__(self, engine: AsyncEngine, key_builder: KeyBuilder | None = None) -> None:
        self.engine = engine
        # Outside an update each call is a single statement: no BEGIN/COMMIT round trips.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection | AsyncSession]:
        session = current_session.get()
        if session is not None:
            yield session
            return
        async with self._autocommit.connect() as conn:
            yield conn

    @staticmethod
    def _memo(key: str) -> dict[str, Any] | None:
        session = current_session.get()
        if session is None:
            return None
        return session.info.setdefault("fsm", {}).setdefault(key, {})

    def remember(self, key: str, state: str | None, data: dict[str, Any]) -> None:
        """Prime this update's memo with what was read together with the person."""
        memo = self._memo(key)
        if memo is not None:
            memo.update(state=state, data=dict(data), stored=state is not None or bool(data))

    async def _load(self, key: str, memo: dict[str, Any]) -> None:
        if "state" not in memo:
            async with self._connection() as conn:
                row = (await conn.execute(_SELECT_ROW, {"key": key})).first()
            memo.update(state=row.state if row else None, data=dict(row.data or {}) if row else {}, stored=row is not None)

    async def flush(self, session: AsyncSession) -> None:
        """Store this update's changes, one statement per changed conversation (usually one)."""
        for key, memo in session.info.get("fsm", {}).items():
            if not memo.get("dirty"):
                continue
            empty = memo["state"] is None and not memo["data"]
            if empty and not memo.get("stored"):
                continue
            params = {"key": key} if empty else {"key": key, "state": memo["state"], "data": memo["data"]}
            if session.in_transaction():
                await (_DELETE_ON_DRIVER if empty else _UPSERT_ROW_ON_DRIVER).execute(session, params)
            else:
                # The update wrote nothing else: no transaction needed for one statement.
                async with self._autocommit.connect() as conn:
                    await conn.execute(_DELETE if empty else _UPSERT_ROW, params)
            memo.update(dirty=False, stored=not empty)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        built, name = self.key_builder.build(key), _state_name(state)
        memo = self._memo(built)
        if memo is None:
            async with self._connection() as conn:
                await conn.execute(_UPSERT_STATE, {"key": built, "value": name})
                if name is None:
                    await conn.execute(_DELETE_IF_EMPTY, {"key": built})
            return
        await self._load(built, memo)
        memo.update(state=name, dirty=True)

    async def get_state(self, key: StorageKey) -> str | None:
        built = self.key_builder.build(key)
        memo = self._memo(built)
        if memo is None:
            async with self._connection() as conn:
                return await conn.scalar(_SELECT_STATE, {"key": built})
        await self._load(built, memo)
        return memo["state"]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        built = self.key_builder.build(key)
        memo = self._memo(built)
        if memo is None:
            async with self._connection() as conn:
                await conn.execute(_UPSERT_DATA, {"key": built, "value": dict(data)})
            return
        await self._load(built, memo)
        memo.update(data=dict(data), dirty=True)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        built = self.key_builder.build(key)
        memo = self._memo(built)
        if memo is None:
            async with self._connection() as conn:
                return dict(await conn.scalar(_SELECT_DATA, {"key": built}) or {})
        await self._load(built, memo)
        return dict(memo["data"])

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        built = self.key_builder.build(key)
        memo = self._memo(built)
        if memo is None:
            # One statement instead of aiogram's default read-then-write: merge on the server.
            async with self._connection() as conn:
                return dict(await conn.scalar(_MERGE_DATA, {"key": built, "value": dict(data)}))
        await self._load(built, memo)
        memo.update(data={**memo["data"], **data}, dirty=True)
        return dict(memo["data"])

    async def close(self) -> None:
        # The engine belongs to the application, which disposes of it.
        return None
