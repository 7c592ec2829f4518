"""The messages a second the bot may send, shared by people's answers and announcements.

Telegram lets a bot send about 30 messages a second in all and answers 429 beyond. Every message
the bot sends or edits takes a place in the budget before it goes: a person's answer (or anything
else that is not an announcement) as soon as there is one, waiting at most until the oldest place
frees (a fraction of a second) rather than meeting Telegram's flood control; an announcement only
while no answer waits and a place would still be left after it, so a broadcast fills what people's
answers leave of the second and never delays one by more than that.

A place is held from the moment it is taken until a second after Telegram's answer came back.
Telegram counted the message when the request arrived, somewhere between the two, so its second
is over by then whatever the network did; and no more than that, so the bot can use ~29 of the 30.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from contextvars import ContextVar

# Telegram's limit for a bot: "no more than 30 messages per second" (core.telegram.org/bots/faq).
SENDS_PER_SECOND = 30
# How long after Telegram's answer a place stays taken (its second, and a hair for the clocks).
WINDOW_SECONDS = 1.005
# Places an announcement leaves free for an answer that comes within the second (answers waiting for
# a place go first anyway): it is sent while 28 of the 30 are taken at most.
ANNOUNCEMENT_KEEPS_FREE = 1
# Set while an announcement's message is sent: it takes its place as an announcement's.
announcing: ContextVar[bool] = ContextVar("send_budget_announcing", default=False)


class SendBudget:
    """The places taken: this process's messages in flight and answered within `WINDOW_SECONDS`,
    and the other processes' (`others`, kept current by `bot/jobs/send_rates.py`)."""

    def __init__(self, per_second: int = SENDS_PER_SECOND, window: float = WINDOW_SECONDS) -> None:
        self.per_second = per_second
        self.window = window
        self.others = 0
        self._in_flight = 0
        self._sent: deque[float] = deque()  # when each answered message frees its place, in order
        self._waiting = 0  # places answers are waiting for

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now:
            self._sent.popleft()

    def record(self, count: int = 1) -> None:
        """`count` messages sent and answered just now."""
        frees_at = time.monotonic() + self.window
        self._sent.extend([frees_at] * count)

    def release(self, count: int = 1) -> None:
        """Telegram answered (or the request failed) `count` messages whose places were taken."""
        self._in_flight = max(0, self._in_flight - count)
        self.record(count)

    def recent(self) -> int:
        self._expire(time.monotonic())
        return len(self._sent) + self._in_flight

    def _fits(self, count: int, keep_free: int) -> bool:
        used = self.recent() + self.others
        # A message of more places than the budget has (an album of ten under a tiny budget) goes
        # when the window is empty.
        return used + count + keep_free <= self.per_second or (used == 0 and not keep_free)

    async def _pause(self) -> None:
        """Until this process's oldest place frees, an answer comes, or the others' figure is renewed."""
        until_oldest = self._sent[0] - time.monotonic() if self._sent else 0.05
        await asyncio.sleep(max(0.002, min(until_oldest, 0.05)))

    async def take(self, count: int = 1) -> None:
        """Places for `count` messages of an answer: at once while the window has them, else as
        soon as it has (announcements wait meanwhile)."""
        if self._fits(count, 0):
            self._in_flight += count
            return
        self._waiting += count
        try:
            while not self._fits(count, 0):
                await self._pause()
            self._in_flight += count
        finally:
            self._waiting -= count

    async def take_for_announcement(self, keep_free: int = ANNOUNCEMENT_KEEPS_FREE) -> None:
        """A place for one announcement message: only while no answer waits for one and `keep_free`
        places would still be left after it, for answers that come within the second."""
        while self._waiting or not self._fits(1, keep_free):
            await self._pause()
        self._in_flight += 1
