"""The messages a second the bot may send, shared by people's answers and announcements."""

from __future__ import annotations

import asyncio
import time
from collections import deque

# Telegram lets a bot send about 30 messages a second in all; beyond, it answers 429 for a while.
SENDS_PER_SECOND = 29


class SendBudget:
    """The messages the bot sent to Telegram in the last second: this process's, counted here, and
    the other processes' (`others`, kept current by `bot/jobs/send_rates.py`). Announcements send
    only while there is room under `SENDS_PER_SECOND` beside what people are answered, so a
    broadcast never pushes a person's answer into Telegram's flood control."""

    def __init__(self, per_second: int = SENDS_PER_SECOND) -> None:
        self.per_second = per_second
        self.others = 0
        self._sent: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - 1.0:
            self._sent.popleft()

    def record(self) -> None:
        self._sent.append(time.monotonic())

    def recent(self) -> int:
        self._expire(time.monotonic())
        return len(self._sent)

    async def room(self, keep_free: int) -> None:
        """Wait until fewer than `per_second - keep_free` messages went out in the last second."""
        while True:
            now = time.monotonic()
            self._expire(now)
            if len(self._sent) + self.others < self.per_second - keep_free:
                return
            # Until this process's oldest send leaves the window, or the others' figure is renewed.
            await asyncio.sleep(max(0.005, min(self._sent[0] + 1.0 - now if self._sent else 0.05, 0.05)))
