"""Timers: set with the change that needs them, fired once at their time by the worker beside
polling, even across a restart and with two processes; cancelled or moved by their cause."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy import text

from bot.app import build_worker
from bot.db.engine import create_session_factory
from bot.services.timers import cancel_timer, set_timer


def received(api, person) -> list[str]:
    return [m.text for m in api.chat(person.id) if m.from_bot]


async def remind(engine, person, key: str, after: float, message: str) -> None:
    async with create_session_factory(engine)() as session, session.begin():
        await set_timer(session, "remind", key, timedelta(seconds=after), {"chat_id": person.id, "text": message})


async def timers_left(engine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text("SELECT count(*) FROM timers WHERE done_at IS NULL AND kind NOT IN ('retention', 'stats_compact')"))


async def test_a_timer_fires_once_at_its_time(api, bot, engine, people, settled):
    operator = people("kk", started=True)
    started = time.monotonic()
    await remind(engine, operator, "ticket:12", 1.0, "№12 өтінішті әлі ешкім алған жоқ")
    await api.wait_for(lambda: received(api, operator), 10)
    assert time.monotonic() - started >= 1.0  # not before its time
    await settled()
    assert received(api, operator) == ["№12 өтінішті әлі ешкім алған жоқ"]
    assert await timers_left(engine) == 0


async def test_a_cancelled_timer_never_fires_and_a_timer_set_again_moves(api, bot, engine, people, settled):
    operator = people("ru", started=True)
    await remind(engine, operator, "ticket:1", 0.5, "cancelled")
    async with create_session_factory(engine)() as session, session.begin():
        assert await cancel_timer(session, "remind", "ticket:1")
        assert not await cancel_timer(session, "remind", "ticket:1")
    await remind(engine, operator, "ticket:2", 0.5, "first time")
    moved = time.monotonic()
    await remind(engine, operator, "ticket:2", 1.5, "moved")  # the same kind and key: one timer
    await api.wait_for(lambda: received(api, operator), 10)
    assert time.monotonic() - moved >= 1.5  # at the new time, not the old one
    await settled()
    assert received(api, operator) == ["moved"]


async def test_a_sooner_timer_set_while_the_worker_waits_for_a_later_one_fires_at_its_own_time(api, bot, engine, people, settled):
    """The worker sleeps until the next timer is due; one set meanwhile for sooner wakes it (the
    commit's NOTIFY), rather than waiting behind the later one."""
    operator = people("en", started=True)
    await remind(engine, operator, "ticket:30", 4.0, "later")
    await settled()
    await asyncio.sleep(0.5)  # the worker has looked, and sleeps until the later one
    set_at = time.monotonic()
    await remind(engine, operator, "ticket:31", 0.3, "sooner")
    await api.wait_for(lambda: received(api, operator), 10)
    assert received(api, operator) == ["sooner"]
    assert time.monotonic() - set_at < 3.0, "woken for the sooner timer, not at the later one's time"
    await api.wait_for(lambda: len(received(api, operator)) == 2 or None, 10)
    assert received(api, operator) == ["sooner", "later"]


async def test_timers_due_while_the_bot_was_down_fire_once_after_the_start(api, bot, engine, people, settled):
    operator = people("en", started=True)
    await bot.stop()
    await remind(engine, operator, "ticket:7", 0, "not taken within T1")  # due at once, while nobody runs
    await bot.start()
    await api.wait_for(lambda: received(api, operator), 10)
    await settled()
    assert received(api, operator) == ["not taken within T1"]


async def test_two_processes_fire_each_timer_once(api, bot, engine, people, settled):
    operators = [people("ru", started=True) for _ in range(10)]
    second = build_worker(bot.settings, engine, create_session_factory(engine), bot.content, bot.i18n)  # as a second bot process would
    await second.start(bot.bot)
    try:
        for n, operator in enumerate(operators):
            await remind(engine, operator, f"ticket:{n}", 0.3, f"reminder {n}")
        await api.wait_for(lambda: all(received(api, o) for o in operators), 10)
        await settled()
    finally:
        await second.stop()
    assert [received(api, o) for o in operators] == [[f"reminder {n}"] for n in range(10)]
