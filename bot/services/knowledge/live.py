"""The knowledge base as this process serves it: read from the database at start (seeded from the
data files if empty), and read again whenever a change commits in any process (a NOTIFY on
`store.CHANNEL`), so an edit takes effect everywhere at once. A notification missed while the
listening connection was down is caught by comparing the base's version every `CHECK_EVERY`."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db.listener import Listener
from bot.services.knowledge import store
from bot.services.knowledge.search import KnowledgeBase

log = logging.getLogger(__name__)

CHECK_EVERY = 30.0  # seconds


class LiveKnowledge:
    def __init__(self, seed: KnowledgeBase) -> None:
        # Until `start` has read the database: the data files (the playground's first screen, tools).
        self.current = seed
        self._seed = seed
        self._version = -1
        self._wanted = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._listener: Listener | None = None
        self._session_factory: async_sessionmaker[AsyncSession] | None = None

    async def start(self, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        async with session_factory() as session, session.begin():
            if await store.seed(session, list(self._seed.all_topics)):
                log.info("the knowledge base was empty: seeded from the data files")
        self._listener = Listener(engine, store.CHANNEL, self._notified)
        await self._listener.ensure()
        await self.reload()
        self._task = asyncio.create_task(self._run(), name="knowledge-reload")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._listener is not None:
            await self._listener.close()

    def _notified(self, *_: object) -> None:
        self._wanted.set()

    async def reload(self, *, unless_unchanged: bool = False) -> None:
        assert self._session_factory is not None
        async with self._session_factory() as session, session.begin():
            version = await store.version(session)
            if unless_unchanged and version == self._version:
                return
            loaded = await store.load(session)
        self.current, self._version = loaded, version

    async def _run(self) -> None:
        while True:
            notified = True
            try:
                await asyncio.wait_for(self._wanted.wait(), CHECK_EVERY)
            except TimeoutError:
                notified = False
            self._wanted.clear()
            try:
                assert self._listener is not None
                await self._listener.ensure()
                await self.reload(unless_unchanged=not notified)
            except Exception:  # the database away for a moment: the base in memory serves meanwhile
                log.warning("could not read the knowledge base again; retrying", exc_info=True)
                await asyncio.sleep(1)
                self._wanted.set()
