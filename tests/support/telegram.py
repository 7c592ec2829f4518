"""The Bot API stand-in as the tests use it: Telegram's behaviour (`bot/standin/`) plus the faults a
test injects and the strictness a test is held to.

Faults: a call refused as the test says (`fail_next`: a 429 with `retry_after`, a 403, a 500…), a
proxy's HTML page instead of JSON (`garble_next`), an answer lost after the call was carried out, as
after a network timeout (`lose_answers`), a connection dropped at a given call, as when the bot's
process dies there (`interrupt`).

Strictness (`loose_ends`, checked after every test): a call Telegram refused that the test did not
expect (`expect_refusal` says which and why), and a button press the bot never answered
(`allow_unanswered_presses` says why a test may leave one).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.standin import BotApiServer
from bot.standin.model import BotApiError, Call


GARBLED = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"


@dataclass
class ExpectedRefusal:
    method: str
    containing: str
    why: str


@dataclass
class Fault:
    method: str
    error: BotApiError
    times: int
    chat_id: int | None = None


class FaultyBotApi(BotApiServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._faults: list[Fault] = []
        self._expected_refusals: list[ExpectedRefusal] = []
        self._unanswered_allowed: str | None = None
        self._garbled: dict[tuple[str, int], int] = {}  # (method, chat) -> answers still to garble
        self._lost_answers: dict[tuple[str, int], int] = {}  # (method, chat) -> answers still to lose
        self._interrupts: dict[tuple[str, int], Callable[[dict[str, Any]], bool]] = {}

    def fail_next(
        self, method: str, code: int, description: str, retry_after: int | None = None, times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next `times` calls of `method` (to `chat_id`, or any chat) fail with this error
        (e.g. 429, retry_after=1)."""
        self._faults.append(Fault(method, BotApiError(code, description, retry_after), times, chat_id))

    def garble_next(self, method: str, chat_id: int, times: int = 1) -> None:
        """The next `times` calls of `method` to `chat_id` are not carried out and answered with a
        proxy's HTML error page instead of the Bot API's JSON (a broken hop between the bot and
        Telegram): neither a success nor one of Telegram's refusals."""
        self._garbled[(method, chat_id)] = times

    def _garbles(self, method: str, chat_id: int | None) -> bool:
        key = (method, chat_id or 0)
        if self._garbled.get(key, 0) <= 0:
            return False
        self._garbled[key] -= 1
        return True

    def lose_answers(self, method: str, chat_id: int, times: int = 1) -> None:
        """The next `times` calls of `method` to `chat_id` are carried out (the person gets the
        message, the call is recorded) but the connection breaks before the answer reaches the bot,
        as when a network timeout hits after Telegram got the request: the bot cannot tell whether
        it was delivered."""
        self._lost_answers[(method, chat_id)] = times

    def interrupt(self, method: str, chat_id: int, when: Callable[[dict[str, Any]], bool]) -> None:
        """Calls of `method` to `chat_id` for which `when(params)` is true (it may, say, kill the
        bot's process) are not carried out: the connection is dropped unanswered, as when a process
        dies at that call."""
        self._interrupts[(method, chat_id)] = when

    def _interrupted(self, method: str, params: dict[str, Any]) -> bool:
        when = self._interrupts.get((method, self._chat_of(params) or 0))
        return when is not None and when(params)

    def _loses_answer(self, method: str, chat_id: int | None) -> bool:
        key = (method, chat_id or 0)
        left = self._lost_answers.get(key, 0)
        if left <= 0:
            return False
        self._lost_answers[key] = left - 1
        return True

    def expect_refusal(self, method: str, containing: str, why: str) -> None:
        """The test knows the bot will make a call of `method` ("*": any) that Telegram refuses with
        a description containing `containing`, and says `why` that is right. Any other refusal is a
        loose end (`loose_ends`)."""
        self._expected_refusals.append(ExpectedRefusal(method, containing, why))

    def _declared_refusal(self, method: str, description: str) -> str | None:
        for expected in self._expected_refusals:
            if expected.method in (method, "*") and expected.containing in description:
                return expected.why
        return None

    def allow_unanswered_presses(self, why: str) -> None:
        """The test leaves button presses the bot never answers (it stops the bot before it could,
        say), and says why."""
        self._unanswered_allowed = why

    def loose_ends(self) -> list[str]:
        """What a test must not leave behind: calls Telegram refused that nobody expected, and
        button presses never answered (Telegram shows a spinner on the button until then)."""
        problems = [
            f"{call.method} to {call.chat_id} refused: {call.error}" for call in self.calls
            if not call.ok and call.expected is None
        ]
        if self._unanswered_allowed is None:
            problems += [
                f"the press {query_id} in chat {self._query_chats.get(query_id)} was never answered"
                for query_id, answer in self.callback_answers.items() if answer is None
            ]
        return problems

    def _raise_injected_fault(self, method: str, chat_id: int | None) -> None:
        for fault in self._faults:
            if fault.method == method and fault.times > 0 and fault.chat_id in (None, chat_id):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                raise BotApiError(fault.error.code, fault.error.description, fault.error.retry_after, caused="a fault the test injected")

    # --- the stand-in's hooks ---------------------------------------------------------------------

    def _injected(self, method: str, params: dict[str, Any], request: web.Request) -> web.Response | None:
        chat_id = self._chat_of(params)
        if self._interrupted(method, params) and request.transport is not None:
            request.transport.abort()
            raise web.HTTPInternalServerError  # unsent: the connection is gone
        if self._garbles(method, chat_id):
            self.calls.append(Call(method, params, False, "502 Bad Gateway (HTML)", time.monotonic(),
                                   expected="a garbled answer the test injected"))
            return web.Response(status=502, text=GARBLED, content_type="text/html")
        self._raise_injected_fault(method, chat_id)
        return None

    def _refusal_expected(self, method: str, description: str) -> str | None:
        return self._declared_refusal(method, description)

    def _answer_lost(self, method: str, params: dict[str, Any]) -> bool:
        return self._loses_answer(method, self._chat_of(params))
