"""A connection that LISTENs on a PostgreSQL channel, for the jobs that NOTIFY wakes (the outbox
worker, the intake's handling)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)


class Listener:
    def __init__(self, engine: AsyncEngine, channel: str, notified: Callable[..., Any]) -> None:
        self.engine = engine
        self.channel = channel
        self.notified = notified
        self._connection: AsyncConnection | None = None

    async def ensure(self) -> None:
        """Listen, or listen again after a database restart took the connection (and with it every
        NOTIFY: the caller's next round catches up on what was missed)."""
        if self._connection is not None:
            driver = (await self._connection.get_raw_connection()).driver_connection
            if not driver.is_closed():
                return
            log.warning("the listening connection was lost; listening again", extra={"channel": self.channel})
            await self.close()
        connection = await self.engine.connect()
        try:
            driver = (await connection.get_raw_connection()).driver_connection
            await driver.add_listener(self.channel, self.notified)
        except BaseException:
            await connection.close()
            raise
        self._connection = connection

    async def close(self) -> None:
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        with contextlib.suppress(Exception):  # the connection may be the one that died
            driver = (await connection.get_raw_connection()).driver_connection
            await driver.remove_listener(self.channel, self.notified)
        with contextlib.suppress(Exception):
            await connection.close()
