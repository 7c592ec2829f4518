"""Memory over a soak at a human pace: our bot and the bare echo bot side by side (at the same
time), each polling a stand-in of its own in this one process, for `--minutes`.

    .venv/bin/python bench/bench_soak.py [--minutes 30] [--people 60] [--sample-seconds 30] [--warmup-minutes 5]

* Each bot gets `--people` simulated people at once; each goes through `bench_questions.py`'s
  scenario (ours: /start, language, consent, region, three knowledge-base questions; echo: 7 texts)
  again and again, waiting 0.5-1.5 s (uniform) before every step, as a new person each lap, so
  onboarding keeps happening and our bot's database grows as in life. The people start within
  the first 7 s (one lap's length), so the load is steady from then on.
* Every `--sample-seconds`: each bot process's RSS (its children included; the bot starts none),
  the embedded PostgreSQL's memory apart (the sum of PSS over the postmaster and its backends:
  their RSS would count the shared buffers once per backend), the database's size, the harness's
  own RSS, the updates answered so far, each bot's p50/p99 over the interval and our bot's CPU.
  Each bot's RSS is also sampled every second for its peak.
* At the end: a table (minute, RSS of each, updates/s, ...) and a JSON summary, for each bot (and
  PostgreSQL, and the harness): the peak, the RSS after the warm-up (the first sample at
  `--warmup-minutes`) and at the last sample, the growth between the two, and the least-squares
  slope in MB per hour over the samples from the warm-up on; updates answered; errors (a step with
  no answer in 30 s, ...).

The stand-in keeps every chat, call and button press; people done over a minute ago are taken out
of it and its call list is emptied at each sample, so the harness stays flat too (it is reported).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import itertools
import json
import random
import statistics
import time

import asyncpg
import psutil

from bench_questions import (ECHO, OURS, PeakRss, bot_env, echo_scenario, embedded_database, our_scenario, percentile,
                             running_bot)

MB = 2**20


async def human_pause() -> None:
    await asyncio.sleep(random.uniform(0.5, 1.5))


class Tally:
    """What the scenario appends each step's latency to: counts them all, keeps the interval's."""

    def __init__(self) -> None:
        self.count = 0
        self.interval: list[float] = []

    def append(self, ms: float) -> None:
        self.count += 1
        self.interval.append(ms)

    def __len__(self) -> int:
        return self.count

    def take(self) -> list[float]:
        taken, self.interval = self.interval, []
        return taken


class Crowd:
    """One bot's people, each a new person every lap until the deadline."""

    def __init__(self, name: str, running: tuple, scenario, first_id: int) -> None:
        self.name = name
        self.api, self.replies, self.process = running
        self.scenario = scenario
        self.rss = PeakRss(self.process.pid, every=1.0)
        self.cpu = psutil.Process(self.process.pid)
        self.tally = Tally()
        self.errors: collections.Counter[str] = collections.Counter()
        self.first_errors: list[str] = []
        self._ids = itertools.count(first_id)
        self._finished: collections.deque[tuple[float, int]] = collections.deque()

    async def person(self, deadline: float, spread: float) -> None:
        await asyncio.sleep(random.uniform(0, spread))
        while time.monotonic() < deadline:
            chat_id = next(self._ids)
            self.api.add_person(chat_id, f"P{chat_id}", "ru")
            try:
                await self.scenario(self.api, self.replies, chat_id, human_pause, self.tally)
            except Exception as error:  # no answer within 30 s, a button that is not there
                self.errors[type(error).__name__] += 1
                if len(self.first_errors) < 5:
                    self.first_errors.append(f"{type(error).__name__}: {error}"[:200])
                self.replies.waiters.pop(chat_id, None)
            self._finished.append((time.monotonic(), chat_id))

    def forget_finished(self) -> None:
        """Takes people done over a minute ago, and their button presses, out of the stand-in."""
        api = self.api
        cutoff = time.monotonic() - 60
        while self._finished and self._finished[0][0] < cutoff:
            _, chat_id = self._finished.popleft()
            api.people.pop(chat_id, None)
            api.messages.pop(chat_id, None)
            api._message_ids.pop(chat_id, None)
        for query_id in [q for q, when in api._query_times.items() if when < cutoff]:
            api._query_times.pop(query_id, None)
            api._query_chats.pop(query_id, None)
            api.callback_answers.pop(query_id, None)
        api.calls.clear()
        api.handled_updates.clear()


def postgres_pss(postmaster: psutil.Process) -> int:
    total = 0
    for member in [postmaster, *postmaster.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += member.memory_full_info().pss
    return total


def slope_per_hour(rows: list[dict], key: str) -> float | None:
    """Least squares over `rows` (the samples from the warm-up on), MB per hour."""
    if len(rows) < 2:
        return None
    slope, _ = statistics.linear_regression([r["t_s"] for r in rows], [r[key] for r in rows])
    return round(slope * 3600, 1)


async def soak(args: argparse.Namespace) -> None:
    with embedded_database() as server:
        database_url = server.get_uri("postgres")
        env = bot_env(database_url)
        postmaster = psutil.Process(server.get_pid())
        harness = psutil.Process()
        watcher = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        async with running_bot("qazvolunteer", OURS, env) as ours_running, running_bot("echo", ECHO, env) as echo_running:
            ours = Crowd("ours", ours_running, our_scenario, 10_000_000)
            echo = Crowd("echo", echo_running, echo_scenario, 10_000_000)
            crowds = (ours, echo)
            started = time.monotonic()
            length = args.minutes * 60
            people = [asyncio.create_task(crowd.person(started + length, args.spread))
                      for crowd in crowds for _ in range(args.people)]
            rows: list[dict] = []
            previous = {crowd.name: (0.0, 0, sum(crowd.cpu.cpu_times()[:2])) for crowd in crowds}
            async with ours.rss, echo.rss:
                times = [min(k * args.sample_seconds, length) for k in range(int(-(-length // args.sample_seconds)) + 1)]
                for t_s in times:
                    await asyncio.sleep(max(0.0, started + t_s - time.monotonic()))
                    row: dict = {"t_s": round(time.monotonic() - started, 1)}
                    for crowd in crowds:
                        was_t, was_count, was_cpu = previous[crowd.name]
                        count, cpu = crowd.tally.count, sum(crowd.cpu.cpu_times()[:2])
                        interval = crowd.tally.take()
                        seconds = max(row["t_s"] - was_t, 1e-9)
                        row[f"{crowd.name}_rss_mb"] = round(crowd.rss.sample() / MB, 1)
                        row[f"{crowd.name}_updates"] = count
                        row[f"{crowd.name}_updates_per_s"] = round((count - was_count) / seconds, 1) if t_s else 0.0
                        row[f"{crowd.name}_p50_ms"] = round(percentile(interval, 0.5), 1) if interval else None
                        row[f"{crowd.name}_p99_ms"] = round(percentile(interval, 0.99), 1) if interval else None
                        row[f"{crowd.name}_cpu_ms_per_update"] = (
                            round((cpu - was_cpu) * 1000 / (count - was_count), 2) if count > was_count else None)
                        row[f"{crowd.name}_errors"] = sum(crowd.errors.values())
                        previous[crowd.name] = (row["t_s"], count, cpu)
                        crowd.forget_finished()
                        if crowd.process.poll() is not None:
                            crowd.errors["process exited"] += 1
                    row["postgres_pss_mb"] = round(postgres_pss(postmaster) / MB, 1)
                    row["database_mb"] = round(await watcher.fetchval("SELECT pg_database_size(current_database())") / MB, 1)
                    row["harness_rss_mb"] = round(harness.memory_info().rss / MB, 1)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    if any(crowd.process.poll() is not None for crowd in crowds):
                        break
            # The laps under way at the deadline finish (a lap is ~7 s; a step waits 30 s at most).
            if people:
                await asyncio.wait(people, timeout=60)
            for task in people:
                task.cancel()
            await asyncio.gather(*people, return_exceptions=True)
        await watcher.close()

    print(f"\n{'minute':>6} {'ours RSS MB':>11} {'echo RSS MB':>11} {'ours upd/s':>10} {'echo upd/s':>10} "
          f"{'ours p50/p99 ms':>15} {'PG PSS MB':>9} {'DB MB':>6} {'harness MB':>10}")
    for row in rows:
        p50_p99 = f"{row['ours_p50_ms']}/{row['ours_p99_ms']}" if row["ours_p50_ms"] is not None else "-"
        print(f"{row['t_s'] / 60:>6.1f} {row['ours_rss_mb']:>11} {row['echo_rss_mb']:>11} {row['ours_updates_per_s']:>10} "
              f"{row['echo_updates_per_s']:>10} {p50_p99:>15} {row['postgres_pss_mb']:>9} {row['database_mb']:>6} "
              f"{row['harness_rss_mb']:>10}")

    # After the warm-up: the first sample at `--warmup-minutes` or later (the last one if the run
    # was shorter); the growth and the slope are from there to the end.
    settled = [r for r in rows if r["t_s"] >= args.warmup_minutes * 60 - 1] or rows[-1:]

    def memory(key: str, peak: float | None = None) -> dict:
        return {
            "peak_mb": peak if peak is not None else max(r[key] for r in rows),
            "after_warmup_mb": settled[0][key], "at_end_mb": rows[-1][key],
            "growth_mb": round(rows[-1][key] - settled[0][key], 1),
            "slope_mb_per_hour": slope_per_hour(settled, key),
        }

    summary = {
        "minutes": args.minutes, "people_per_bot": args.people, "side_by_side": True,
        "last_sample_s": rows[-1]["t_s"], "warmup_sample_s": settled[0]["t_s"], "samples_after_warmup": len(settled),
    }
    for crowd in crowds:
        summary[crowd.name] = {
            **memory(f"{crowd.name}_rss_mb", crowd.rss.peak_mb),
            "updates": crowd.tally.count,  # with the laps that finished after the last sample
            "updates_per_s": round(rows[-1][f"{crowd.name}_updates"] / rows[-1]["t_s"], 1),
            "errors": dict(crowd.errors), "first_errors": crowd.first_errors,
        }
    summary["postgres_pss"] = memory("postgres_pss_mb")
    summary["database_mb"] = {"after_warmup": settled[0]["database_mb"], "at_end": rows[-1]["database_mb"]}
    summary["harness_rss"] = memory("harness_rss_mb")
    print("\n" + json.dumps(summary))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--people", type=int, default=60, help="people at once, for each bot")
    parser.add_argument("--sample-seconds", type=float, default=30)
    parser.add_argument("--spread", type=float, default=7.0, help="the people start within this many seconds")
    parser.add_argument("--warmup-minutes", type=float, default=5,
                        help="growth and slope are measured from the first sample at this minute on")
    asyncio.run(soak(parser.parse_args()))


if __name__ == "__main__":
    main()
