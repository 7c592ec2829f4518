"""What the people who run the bot see: `/healthz`, `/metrics`, and a send budget shared by every
process."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.jobs.send_rates import SendRateSharing
from bot.telegram.send_budget import SendBudget
from tests.support.bot import RunningBot, free_port, metric
from tests.support.scenarios import answers, distinct_questions, set_up


async def test_health_and_metrics_in_polling_mode(api, engine, content, i18n):
    port = free_port()
    running = RunningBot(api, engine, content, i18n, metrics_listen=f"127.0.0.1:{port}")
    await running.start()
    try:
        people = await set_up(engine, api)
        question = distinct_questions(content.kb)[0]
        async with aiohttp.ClientSession() as client:
            async with client.get(f"http://127.0.0.1:{port}/metrics") as response:
                before = await response.text()
            for person in people[:3]:
                await api.send_text(person.id, question.question["ru"])
            await api.wait_for(lambda: all(answers(api, p) for p in people[:3]), 10)
            await asyncio.sleep(0.2)  # the last commit
            async with client.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
                after = await response.text()
            async with client.get(f"http://127.0.0.1:{port}/healthz") as response:
                health = await response.json()
                assert response.status == 200
        received = "bot_updates_received_total"
        assert metric(after, received, kind="message") - metric(before, received, kind="message") == 3
        assert metric(after, "bot_updates_handled_total", kind="message") - metric(before, "bot_updates_handled_total", kind="message") == 3
        assert metric(after, "bot_update_handling_seconds_count", kind="message") >= 3
        for gauge in ("bot_intake_waiting", "bot_intake_oldest_waiting_seconds", "bot_outbox_pending",
                      "bot_outbox_oldest_pending_seconds", "bot_timers_overdue"):
            assert re.search(f"^{gauge} ", after, re.MULTILINE), gauge
        assert metric(after, "bot_intake_waiting") == 0
        assert "bot_announcement_messages_sent_total" in after and "bot_telegram_flood_waits_total" in after
        assert "process_resident_memory_bytes" in after  # the process's own figures
        assert health == {"ok": True, "database": "ok", "intake": {"waiting": 0, "oldest_seconds": 0.0, "state": "ok"},
                          "outbox": {"overdue_seconds": 0.0, "state": "ok"}}
    finally:
        await running.stop()


async def test_a_pooled_connection_the_database_ended_fails_one_store_not_every_one_after(api, engine, content, i18n, settled):
    """A connection the server ended while it sat in the pool (an idle timeout, a proxy, an
    administrator's pg_terminate_backend) fails the store of the update that gets it; that store
    is tried again on a working connection, so the poller fails once, and the question is answered.
    (Handed out again, the dead connection failed every store until something else took it.)"""
    port = free_port()
    running = RunningBot(api, engine, content, i18n, metrics_listen=f"127.0.0.1:{port}")
    await running.start()
    try:
        people = await set_up(engine, api)
        questions = distinct_questions(content.kb)
        await api.send_text(people[0].id, questions[0].question["ru"])
        await api.wait_for(lambda: answers(api, people[0]) or None, 10)
        await settled()

        async with aiohttp.ClientSession() as client:
            async def failures() -> float:
                async with client.get(f"http://127.0.0.1:{port}/metrics") as response:
                    exposition = await response.text()
                return sum(metric(exposition, "bot_polling_failures_total", reason=r) for r in ("database", "error"))

            before = await failures()  # (the scrape reads the database: before the connection is ended)
            # The pool hands out the connection returned last: the one whose server side is ended here.
            doomed = await (await engine.connect()).execution_options(isolation_level="AUTOCOMMIT")
            pid = (await doomed.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with engine.connect() as admin:
                assert (await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()
            await doomed.close()

            await api.send_text(people[1].id, questions[1].question["ru"])
            await api.wait_for(lambda: answers(api, people[1]) or None, 15)
            assert await failures() - before <= 1, "the poller was handed the dead connection again"
    finally:
        await running.stop()


async def test_the_send_budget_counts_every_processs_sends(engine: AsyncEngine):
    """What one process sends leaves less room for another's announcements."""
    answering, announcing = SendBudget(), SendBudget()
    one, other = SendRateSharing(engine), SendRateSharing(engine)
    one.start(answering)
    other.start(announcing)
    try:
        answered_at = time.monotonic()
        for _ in range(22):
            answering.record()  # answers going out from the first process
        async with asyncio.timeout(2):
            while announcing.others < 22:
                await asyncio.sleep(0.02)
        # 30 places, one kept free for answers: with 22 gone elsewhere, the announcer may send 7 more.
        for _ in range(7):
            await asyncio.wait_for(announcing.take_for_announcement(1), 0.1)

        async def next_place() -> float:
            await announcing.take_for_announcement(1)
            return time.monotonic()

        # It goes on only once the answers' second has passed (and the figure was renewed).
        place_at = await asyncio.wait_for(next_place(), 5)
        assert place_at - answered_at >= 1.0, "the announcer took places the other process's answers had used"
    finally:
        await one.stop()
        await other.stop()
