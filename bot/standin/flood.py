"""Telegram's flood control: 30 sends and edits a second to all chats, and each chat's own bucket."""

from __future__ import annotations

import math
import time

from bot.standin.limits import CHAT_BURST, CHAT_RATE
from bot.standin.model import BotApiError


class FloodControl:
    """Answers 429 with `retry_after` the way Telegram does."""

    def flood_control(self, per_second: int | None) -> None:
        """Answer 429 (retry after 1 s) to sends and edits beyond `per_second` in any second (to all
        chats together; Telegram's own is TELEGRAM_RATE, on by default); None turns that off. Each
        chat's own limit stays (see `_check_flood`)."""
        self.flood_limit = per_second
        self._flood_window.clear()
        self._flood_cause = "flood control the test set"

    def without_chat_limits(self, why: str) -> None:
        """Turn each chat's own flood limit off, saying `why` (a test that acts far faster than a
        person can, whose point is not the pace)."""
        assert why, "say why"
        self.chat_rates = False

    def _check_flood(self, method: str, chat_id: int | None) -> None:
        if not method.lower().startswith(("send", "edit")):
            return
        now = time.monotonic()
        if self.chat_rates and chat_id is not None:
            # Telegram: "avoid sending more than one message per second" to a chat, "short bursts
            # that go over this limit" allowed: a bucket of CHAT_BURST, refilled at CHAT_RATE.
            left, at = self._chat_buckets.get(chat_id, (float(CHAT_BURST), now))
            left = min(float(CHAT_BURST), left + (now - at) * CHAT_RATE)
            if left < 1.0:
                wait = math.ceil((1.0 - left) / CHAT_RATE)
                raise BotApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait,
                                  caused="Telegram's flood control of one chat (at Telegram's rates)")
            self._chat_buckets[chat_id] = (left - 1.0, now)
        if self.flood_limit is None:
            return
        while self._flood_window and self._flood_window[0] <= now - 1.0:
            self._flood_window.popleft()
        if len(self._flood_window) >= self.flood_limit:
            raise BotApiError(429, "Too Many Requests: retry after 1", retry_after=1, caused=self._flood_cause)
        self._flood_window.append(now)
