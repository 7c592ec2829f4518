"""aiogram FSM storage over the `fsm_states` table, so a conversation survives a restart and is
shared by every replica.

Inside an update the storage writes through that update's database session (`current_session`,
set by the session middleware): a state change commits together with what the handler stored, or
not at all, and needs no second pooled connection, which under load would deadlock against the
sessions holding the pool. Outside one (a restart's clean-up, a job), each call is one
autocommitted statement on its own connection."""

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


_SELECT_STATE = select(_table.c.state).where(_table.c.key == bindparam("key"))
_SELECT_DATA = select(_table.c.data).where(_table.c.key == bindparam("key"))
_UPSERT_STATE = _upsert("state")
_UPSERT_DATA = _upsert("data")
_MERGE_DATA = _upsert("data", merge=True).returning(_table.c.data)
_DELETE = delete(_table).where(_table.c.key == bindparam("key"))
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
        """What this update already read or wrote for `key` (state and data are read by several
        middlewares and the handler of one update; each read was a round trip)."""
        session = current_session.get()
        if session is None:
            return None
        return session.info.setdefault("fsm", {}).setdefault(key, {})

    def remember(self, key: str, state: str | None, data: dict[str, Any]) -> None:
        """Prime this update's memo with a state and data read together with the person."""
        memo = self._memo(key)
        if memo is not None:
            memo.update(state=state, data=dict(data))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        name, params = _state_name(state), {"key": self.key_builder.build(key)}
        memo = self._memo(params["key"])
        if memo is not None and name is None and memo.get("state", "?") is None and memo.get("data") == {}:
            return  # nothing is stored for this key: clearing it again costs nothing
        async with self._connection() as conn:
            if name is None and memo is not None and memo.get("data") == {}:
                # Forget keys that hold nothing: the table holds only live conversations.
                await conn.execute(_DELETE, params)
            else:
                await conn.execute(_UPSERT_STATE, {**params, "value": name})
                if name is None:
                    await conn.execute(_DELETE_IF_EMPTY, params)
        if memo is not None:
            memo["state"] = name

    async def get_state(self, key: StorageKey) -> str | None:
        built = self.key_builder.build(key)
        memo = self._memo(built)
        if memo is not None and "state" in memo:
            return memo["state"]
        async with self._connection() as conn:
            state = await conn.scalar(_SELECT_STATE, {"key": built})
        if memo is not None:
            memo["state"] = state
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        built = self.key_builder.build(key)
        memo = self._memo(built)
        if memo is not None and not data and memo.get("state", "?") is None:
            # No state and no data: the key holds nothing, so it is not stored at all.
            if memo.get("data") != {}:
                async with self._connection() as conn:
                    await conn.execute(_DELETE, {"key": built})
            memo["data"] = {}
            return
        async with self._connection() as conn:
            await conn.execute(_UPSERT_DATA, {"key": built, "value": dict(data)})
        if memo is not None:
            memo["data"] = dict(data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        built = self.key_builder.build(key)
        memo = self._memo(built)
        if memo is not None and "data" in memo:
            return dict(memo["data"])
        async with self._connection() as conn:
            data = dict(await conn.scalar(_SELECT_DATA, {"key": built}) or {})
        if memo is not None:
            memo["data"] = data
        return dict(data)

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        # One statement instead of aiogram's default read-then-write: merge on the server.
        built = self.key_builder.build(key)
        async with self._connection() as conn:
            merged = dict(await conn.scalar(_MERGE_DATA, {"key": built, "value": dict(data)}))
        if (memo := self._memo(built)) is not None:
            memo["data"] = merged
        return dict(merged)

    async def close(self) -> None:
        # The engine belongs to the application, which disposes of it.
        return None
