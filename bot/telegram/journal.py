"""The record of the Bot API calls made while handling one stored update (`bot/jobs/intake.py`).

While an update is handled, every call and Telegram's answer go to that update's `CallJournal`
(the session, `bot/telegram/session.py`, writes them); when the same update is handled again because
its first handling never committed, the calls it already made are answered from the journal instead
of being made twice. Only a call in flight at a kill (carried out by Telegram, its answer not yet
recorded) can be made again, as with the outbox's messages: a call is recorded before the next one
goes out, and the last one only if the handling has not committed soon after it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any

import orjson

# Calls made outside the journal: Telegram itself refuses to carry them out twice.
UNJOURNALED = frozenset({"answerCallbackQuery"})
# A call is recorded at the latest this long after it was made, if its update's handling has not
# committed by then (`CallJournal`).
RECORD_AFTER = 0.05


class CallJournal:
    """The Bot API calls made while handling one stored update, in order, with Telegram's answers.

    `earlier` are the calls of the attempts before this one. While this attempt makes the same calls
    in the same order (the handlers are deterministic given the same stored state), each is answered
    from there; from the first call that differs on, every call goes to Telegram.

    Each call Telegram carried out is passed to `record` (which stores it where a crash does not
    lose it) before the next call goes out, or `RECORD_AFTER` seconds after it was made if the
    handling has not ended by then; a handling that commits first needs no record at all (its
    commit says the update was handled). So an update answered with one call, most of them, costs
    no record: a round trip per call was a fifth of the bot's throughput (`bench/README.md`). What
    this leaves: a kill in the moments between an update's last call and its commit (at most
    `RECORD_AFTER`) makes the next attempt repeat that last call, as a kill between a call and its
    record always could."""

    def __init__(
        self, update_id: int, earlier: list[tuple[str, str]],
        record: Callable[[int, int, str, str], Awaitable[None]] | None = None,
    ) -> None:
        self.update_id = update_id
        # A press's answer is not journaled (`TelegramSession._answer_press`); records made before
        # that was so would make this attempt's calls seem to differ from the first one.
        earlier = [call for call in earlier if call[0] not in UNJOURNALED]
        self.calls = list(earlier)  # what Telegram carried out so far, this attempt's included
        self.recorded = 0  # records this attempt wrote (the handling's commit deletes them)
        self._replayable = len(earlier)
        self._next = 0
        self._record = record
        self._unrecorded: deque[tuple[int, str, str]] = deque()
        self._recording = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._late: asyncio.Task[None] | None = None
        # An earlier attempt's records that this attempt no longer follows are replaced as soon as
        # a call is made: left there, a kill would let the next attempt replay them.
        self._at_once = False
        self._settled = False  # the handling is committing: nothing more is recorded
        self._unrecorded_made: set[str] = set()  # calls made that are not journaled (a press's answer)

    @property
    def replayed(self) -> int:
        return min(self._next, self._replayable)

    def replay(self, method: str) -> str | None:
        """Telegram's earlier answer to this call, if this is the call made at this point before."""
        if self._next < self._replayable and self.calls[self._next][0] == method:
            self._next += 1
            return self.calls[self._next - 1][1]
        # Diverged (or past the end): the earlier attempt's later calls are not this attempt's.
        if self._next < self._replayable:
            self._at_once = True
        self._replayable = 0
        del self.calls[self._next:]
        return None

    async def made(self, method: str, answer: str) -> None:
        seq = self._next
        self._next += 1
        self.calls.append((method, answer))
        if self._record is None:
            return
        self._unrecorded.append((seq, method, answer))
        if self._at_once:
            await self.record_now()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(RECORD_AFTER, self._record_late)

    def note_unrecorded(self, method: str) -> None:
        """A call made outside the journal (neither replayed nor recorded), for `carried_out`."""
        self._unrecorded_made.add(method)

    def carried_out(self, method: str) -> bool:
        """Whether this handling has made (or replayed) a call of `method` so far, answered or
        refused for good."""
        return method in self._unrecorded_made or any(name == method for name, _ in self.calls[:self._next])

    @property
    def behind(self) -> bool:
        """Whether a call made is not stored yet (waiting, or being written)."""
        return bool(self._unrecorded) or self._recording.locked()

    async def record_now(self) -> None:
        """Store the calls not stored yet, in order: before the next call goes out, and before a
        failed handling lets the update go (another process may take it at once)."""
        self._cancel_timer()
        async with self._recording:
            while self._unrecorded and not self._settled:
                seq, method, answer = self._unrecorded.popleft()
                await self._record(self.update_id, seq, method, answer)  # type: ignore[misc]
                self.recorded += 1

    async def settle(self) -> None:
        """The handling is about to commit: what is unrecorded stays so (the commit covers it); a
        record being written is waited for, so that the commit's deletion of the records sees it."""
        self._cancel_timer()
        self._settled = True
        async with self._recording:
            pass

    async def unsettle(self) -> None:
        """The commit failed after all: store what was left unrecorded, before the update goes."""
        self._settled = False
        await self.record_now()

    def _record_late(self) -> None:
        self._timer = None
        self._late = asyncio.create_task(self.record_now(), name=f"record-calls-{self.update_id}")

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


# Telegram's answers that say a call was refused for good (not a flood wait or its own trouble).
REFUSALS = frozenset({HTTPStatus.BAD_REQUEST, HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND})


def status_of(answer: str) -> int:
    """The HTTP status Telegram gave with a recorded answer: its `error_code` if it refused."""
    if '"ok":true' in answer[:20].replace(" ", ""):
        return HTTPStatus.OK
    return int(orjson.loads(answer).get("error_code") or HTTPStatus.OK)


current_journal: ContextVar[CallJournal | None] = ContextVar("call_journal", default=None)
# Telegram's answer text of the call in flight in this task, for the journal.
call_answer: ContextVar[list[str] | None] = ContextVar("call_answer", default=None)


def called_while_handling(method: str) -> bool:
    """Whether the update being handled has already had a call of `method` (one without a chat,
    such as answerCallbackQuery) carried out or refused."""
    journal = current_journal.get()
    return journal is not None and journal.carried_out(method)


def journal_calls(journal: CallJournal | None) -> Any:
    """Make the calls of the current task (and the tasks it starts) go through `journal`; returns
    the token to reset it with."""
    return current_journal.set(journal)


def stop_journal(token: Any) -> None:
    current_journal.reset(token)
