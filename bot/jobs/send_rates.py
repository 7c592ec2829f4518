"""Shares each process's sends a second through PostgreSQL (`bot/services/send_rates.py`), so the
send budget of every process (`SendBudget.others`) counts the whole bot's sends, not its own only.
A few statements a second per process; a figure is at most `EVERY` old."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import send_rates
from bot.telegram.send_budget import SendBudget

log = logging.getLogger(__name__)

EVERY = 0.2


class SendRateSharing:
    def __init__(self, engine: AsyncEngine) -> None:
        self.autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.process = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]
        self._task: asyncio.Task | None = None

    def start(self, budget: SendBudget) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(budget), name="send-rates")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        with contextlib.suppress(Exception):
            async with self.autocommit.connect() as conn:
                await send_rates.withdraw(conn, self.process)

    async def _run(self, budget: SendBudget) -> None:
        while True:
            try:
                async with self.autocommit.connect() as conn:
                    while True:
                        budget.others = await send_rates.publish_and_read(conn, self.process, budget.recent())
                        await asyncio.sleep(EVERY)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database is away: count this process's sends only
                budget.others = 0
                await asyncio.sleep(1.0)
