"""Charts drawn in worker processes, side by side, each handed back as soon as it is drawn.

matplotlib holds the GIL while it lays out and draws, so in a thread it takes the bot's own core:
three national charts took ~0.45-0.55 s one after the other, and the event loop shared that core
meanwhile. Two worker processes draw on both cores at once, and the first chart goes out while the
others are still being drawn.

The workers are started (spawned: a fork of the bot would copy its event loop, threads and
connections) when someone opens /stats, so they are ready by the time the period is chosen, and are
let go after `IDLE_SECONDS` without a drawing: ~75 MB each (~50 MB their own) that a bot without
/stats does not pay. A worker that dies (out of memory, a kill) is replaced, and what it was drawing
is drawn again, once. A worker checks every second that the bot is still there and exits when it is
not, so a killed bot leaves no orphans; it ignores SIGINT and SIGTERM, which a terminal or a
container's stop send to the whole process group: the bot lets it go itself as it stops, after the
drawings in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

log = logging.getLogger(__name__)

WORKERS = 2
IDLE_SECONDS = 600.0
# Charts are drawn with the CPU the bot's own work leaves: a report's three charts take both cores
# for a few tenths of a second, and at the default priority the text of that very report, and
# everyone else's answers meanwhile, waited behind them (the report's text came 20-30 ms later).
WORKER_NICENESS = 10

Drawing = Callable[[], bytes]  # picklable: a module-level function with its arguments (functools.partial)


class ChartPoolClosed(RuntimeError):
    """The bot is stopping: no new drawings."""


def _start_worker(parent: int) -> None:
    """In a worker, first: exit once the bot that started it is gone (a SIGKILL leaves no goodbye),
    and leave the stop signals to the bot."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # (a platform without priorities: drawn at the bot's)
        os.nice(WORKER_NICENESS)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


_warmed = False  # in a worker: whether it has drawn its first chart


def _warm() -> None:
    """Submitted to start a worker: it loads matplotlib and draws once, the slow part of a first
    chart. Submitted again at every /stats (a submit is what tells whether the workers are still
    alive), it then returns at once: drawing again would take the cores from the report itself."""
    global _warmed
    if _warmed:
        return
    from bot.services import charts

    charts.warm_up()
    _warmed = True


class ChartPool:
    def __init__(self, workers: int = WORKERS, idle_seconds: float = IDLE_SECONDS) -> None:
        self.workers = workers
        self.idle_seconds = idle_seconds
        self._executor: ProcessPoolExecutor | None = None
        self._last_used = 0.0
        self._idle_check: asyncio.TimerHandle | None = None
        self._closed = False

    def warm_up(self) -> None:
        """Start the workers now, without waiting for them: a drawing is probably coming. Best
        effort: whatever goes wrong here shows again, and is dealt with, when the drawing comes."""
        try:
            for _ in range(self.workers):
                self._submit(_warm)
        except Exception:
            log.warning("could not start the chart workers ahead of a drawing", exc_info=True)

    def draw(self, drawings: Sequence[Drawing], costs: Sequence[int] | None = None) -> list[asyncio.Task[bytes]]:
        """Start every drawing now, the costliest first (each worker takes the next one as soon as it
        is free, so the slowest never waits for a worker behind the quick ones); the pictures, in the
        order given, each ready as soon as it is drawn. Cancel the tasks left over if they are not
        wanted after all."""
        if not drawings:
            return []
        order = sorted(range(len(drawings)), key=lambda index: -(costs[index] if costs else 0))
        # Each task submits its drawing as it starts, and tasks start in the order they are created.
        started = {index: asyncio.create_task(self._picture(drawings[index])) for index in order}
        return [started[index] for index in range(len(drawings))]

    async def _picture(self, drawing: Drawing) -> bytes:
        """The drawing's picture; what goes wrong (no workers to be had, the drawing's own error)
        is raised to whoever awaits it, for that chart alone."""
        executor, future = self._submit(drawing)
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            # A worker died while drawing (memory, a kill): drawn again, once, in new workers.
            log.warning("a chart worker died; drawing again in new workers")
            self._let_go(broken=executor)
            return await asyncio.wrap_future(self._submit(drawing)[1])
        finally:
            self._last_used = time.monotonic()

    def close(self) -> None:
        self._closed = True
        if self._idle_check is not None:
            self._idle_check.cancel()
            self._idle_check = None
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    # --- the workers ----------------------------------------------------------------------------

    def _submit(self, drawing: Callable[[], object]) -> tuple[ProcessPoolExecutor, Future]:
        """Give the drawing to the workers; if they are broken (one died while idle), to new ones."""
        executor = self._started()
        try:
            return executor, executor.submit(drawing)
        except BrokenProcessPool:
            self._let_go(broken=executor)
            executor = self._started()
            return executor, executor.submit(drawing)

    def _started(self) -> ProcessPoolExecutor:
        if self._closed:
            raise ChartPoolClosed("the bot is stopping")
        self._last_used = time.monotonic()
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(os.getpid(),),
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
