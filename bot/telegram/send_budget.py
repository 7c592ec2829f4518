"""The messages a second the bot may send, shared by people's answers and announcements.

Telegram lets a bot send about 30 messages a second in all and answers 429 beyond. Every message
the bot sends or edits takes a place in the budget before it goes: a person's answer (or anything
else that is not an announcement) as soon as there is one, waiting at most until the oldest place
frees (a fraction of a second) rather than meeting Telegram's flood control; an announcement only
while no answer waits and a place would still be left after it, so a broadcast fills what people's
answers leave of the second and never delays one by more than that.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from contextvars import ContextVar

# Telegram's limit for a bot: "no more than 30 messages per second" (core.telegram.org/bots/faq).
SENDS_PER_SECOND = 30
# A message keeps its place a little longer than a second: Telegram counts it when the request
# arrives, some milliseconds after it is counted here, and requests do not all take as long. With 30
# places that is up to 28.6 messages a second, every second.
WINDOW_SECONDS = 1.05
# Set while a message whose place was taken already is sent (an announcement's): not counted again.
place_taken: ContextVar[bool] = ContextVar("send_budget_place_taken", default=False)


class SendBudget:
    """The messages the bot sent to Telegram in the last `WINDOW_SECONDS`: this process's, counted
    here, and the other processes' (`others`, kept current by `bot/jobs/send_rates.py`)."""

    def __init__(self, per_second: int = SENDS_PER_SECOND, window: float = WINDOW_SECONDS) -> None:
        self.per_second = per_second
        self.window = window
        self.others = 0
        self._sent: deque[float] = deque()
        self._waiting = 0  # places answers are waiting for

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()

    def record(self, count: int = 1) -> None:
        """`count` messages sent without waiting for a place (tests; a process's own figure)."""
        now = time.monotonic()
        self._sent.extend([now] * count)

    def recent(self) -> int:
        self._expire(time.monotonic())
        return len(self._sent)

    def _fits(self, count: int, keep_free: int) -> bool:
        self._expire(time.monotonic())
        used = len(self._sent) + self.others
        # A message of more places than the budget has (an album of ten under a tiny budget) goes
        # when the window is empty.
        return used + count + keep_free <= self.per_second or (used == 0 and not keep_free)

    async def _pause(self) -> None:
        """Until this process's oldest message leaves the window, or the others' figure is renewed."""
        now = time.monotonic()
        until_oldest = self._sent[0] + self.window - now if self._sent else 0.05
        await asyncio.sleep(max(0.002, min(until_oldest, 0.05)))

    async def take(self, count: int = 1) -> None:
        """Places for `count` messages of an answer: at once while the window has them, else as
        soon as it has (announcements wait meanwhile)."""
        if self._fits(count, 0):
            self.record(count)
            return
        self._waiting += count
        try:
            while not self._fits(count, 0):
                await self._pause()
            self.record(count)
        finally:
            self._waiting -= count

    async def take_for_announcement(self, keep_free: int) -> None:
        """A place for one announcement message: only while no answer waits for one and `keep_free`
        places would still be left after it, for answers that come within the second."""
        while self._waiting or not self._fits(1, keep_free):
            await self._pause()
        self.record()
