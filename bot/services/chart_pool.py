"""Charts drawn in worker processes, side by side, each handed back as soon as it and those before it
are done.

matplotlib holds the GIL while it lays out and draws, so in a thread it takes the bot's own core:
three national charts took ~0.4-0.55 s one after the other, and the event loop shared that core
meanwhile. Two worker processes draw on both cores at once, and the first chart goes out while the
others are still being drawn.

The workers are started (spawned: a fork of the bot would copy its event loop, threads and
connections) when someone opens /stats, so they are ready by the time the period is chosen, and are
let go after `IDLE_SECONDS` without a drawing: ~60 MB each that a bot without /stats does not pay.
A worker checks every second that the bot is still there and exits when it is not, so a killed bot
leaves no orphans drawing for nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

log = logging.getLogger(__name__)

WORKERS = 2
IDLE_SECONDS = 600.0

Drawing = Callable[[], bytes]  # picklable: a module-level function with its arguments (functools.partial)


def _watch_parent(parent: int) -> None:
    """In a worker: exit once the bot that started it is gone (a SIGKILL leaves no goodbye)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _ready() -> None:
    """Nothing to do: submitted to start a worker, which imports matplotlib on its first drawing."""
    importlib.import_module("bot.services.charts")  # matplotlib: the slow part of a first drawing


class ChartPool:
    def __init__(self, workers: int = WORKERS, idle_seconds: float = IDLE_SECONDS) -> None:
        self.workers = workers
        self.idle_seconds = idle_seconds
        self._executor: ProcessPoolExecutor | None = None
        self._last_used = 0.0
        self._idle_check: asyncio.TimerHandle | None = None

    def warm_up(self) -> None:
        """Start the workers now, without waiting for them: a drawing is probably coming."""
        executor = self._started()
        for _ in range(self.workers):
            executor.submit(_ready)

    def draw(self, drawings: Sequence[Drawing], costs: Sequence[int] | None = None) -> list[asyncio.Task[bytes]]:
        """Start every drawing now, the costliest first (each worker takes the next one as soon as it
        is free, so the slowest never waits for a worker behind the quick ones); the pictures, in the
        order given, each ready as soon as it is drawn. Cancel the tasks left over if they are not
        wanted after all."""
        order = sorted(range(len(drawings)), key=lambda index: -(costs[index] if costs else 0))
        executor = self._started()
        try:
            submitted = {index: executor.submit(drawings[index]) for index in order}
        except BrokenProcessPool:  # a worker died while idle: new ones
            self._let_go(broken=executor)
            executor = self._started()
            submitted = {index: executor.submit(drawings[index]) for index in order}
        return [asyncio.create_task(self._picture(drawing, executor, submitted[index]))
                for index, drawing in enumerate(drawings)]

    async def _picture(self, drawing: Drawing, executor: ProcessPoolExecutor, submitted: Future[bytes]) -> bytes:
        try:
            return await asyncio.wrap_future(submitted)
        except BrokenProcessPool:
            # A worker died (memory, a kill): drawn again, once, in new workers.
            log.warning("a chart worker died; drawing again in new workers")
            self._let_go(broken=executor)
            return await asyncio.wrap_future(self._started().submit(drawing))
        finally:
            self._last_used = time.monotonic()

    def close(self) -> None:
        if self._idle_check is not None:
            self._idle_check.cancel()
            self._idle_check = None
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    # --- the workers ----------------------------------------------------------------------------

    def _started(self) -> ProcessPoolExecutor:
        self._last_used = time.monotonic()
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_watch_parent, initargs=(os.getpid(),),
            )
            self._schedule_idle_check(self.idle_seconds)
        return self._executor

    def _schedule_idle_check(self, delay: float) -> None:
        if self._idle_check is not None:
            self._idle_check.cancel()
        with contextlib.suppress(RuntimeError):  # (no running loop: a drawing outside the bot)
            self._idle_check = asyncio.get_running_loop().call_later(delay, self._check_idle)

    def _check_idle(self) -> None:
        self._idle_check = None
        if self._executor is None:
            return
        idle = time.monotonic() - self._last_used
        if idle >= self.idle_seconds:
            self._let_go()
        else:
            self._schedule_idle_check(self.idle_seconds - idle)

    def _let_go(self, broken: ProcessPoolExecutor | None = None) -> None:
        """Let the workers go (idle; or broken, if `broken` is still the current pool and not one
        another drawing has started since). Drawings already given to them finish."""
        executor = self._executor
        if executor is None or (broken is not None and broken is not executor):
            return
        self._executor = None
        executor.shutdown(wait=False)
