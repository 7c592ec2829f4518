"""The outbox: what the bot owes people is written with the change that causes it and delivered by
the worker that runs beside polling: after commit only, in order, once, through 429s, network
trouble, blocked people and restarts, and by several processes at once without doubles."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text

from bot.app import build_worker
from bot.db.engine import create_session_factory
from bot.jobs.outbox import LANES, POLL_SECONDS
from bot.services.outbox import owe
from tests.support.bot import TEST_TOKEN
from tests.support.people import Person


def received(api, person) -> list[str]:
    return [m.text for m in api.chat(person.id) if m.from_bot]


async def owed_in_one_transaction(engine, *messages: tuple[int, str]) -> None:
    async with create_session_factory(engine)() as session, session.begin():
        for chat_id, message in messages:
            await owe(session, chat_id, "text", {"text": message})


async def outbox_rows(engine) -> list[dict]:
    """The outbox once no row is pending any more (a row is marked with its batch's commit, a moment
    after Telegram has the message); after 5 s, as it is."""
    for _ in range(100):
        async with engine.connect() as conn:
            rows = [dict(r) for r in (await conn.execute(text("SELECT * FROM outbox ORDER BY id"))).mappings()]
        if all(r["sent_at"] is not None or r["failed"] is not None for r in rows):
            break
        await asyncio.sleep(0.05)
    return rows


async def test_owed_messages_go_out_after_commit_in_order_and_never_after_a_rollback(api, bot, engine, people):
    citizen = people("ru", started=True)
    async with create_session_factory(engine)() as session:
        await owe(session, citizen.id, "text", {"text": "rolled back"})
        await session.rollback()
    committed = time.monotonic()
    await owed_in_one_transaction(engine, *[(citizen.id, f"<b>Заявка №{n}</b> принята") for n in range(1, 6)])

    await api.wait_for(lambda: len(received(api, citizen)) == 5)
    # Woken by the commit's NOTIFY, not by the worker's look every POLL_SECONDS (a slow machine
    # takes longer, but not half of that).
    assert time.monotonic() - committed < POLL_SECONDS / 2
    assert received(api, citizen) == [f"Заявка №{n} принята" for n in range(1, 6)]  # HTML rendered, in order
    assert api.chat(citizen.id)[0].entities[0]["type"] == "bold"
    rows = await outbox_rows(engine)
    assert len(rows) == 5 and all(r["sent_at"] is not None and r["failed"] is None for r in rows)


async def test_a_flood_limit_and_a_server_error_delay_a_message_but_it_arrives_once(api, bot, engine, people, settled):
    first, second = people("kk", started=True), people("en", started=True)
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3, chat_id=first.id)
    started = time.monotonic()
    await owed_in_one_transaction(engine, (first.id, "after the flood limit"), (first.id, "and the next one"))
    await api.wait_for(lambda: len(received(api, first)) == 2, 10)
    assert time.monotonic() - started >= 3.0  # Telegram's retry_after, not the 1-second backoff

    api.fail_next("sendMessage", 502, "Bad Gateway", chat_id=second.id)
    started = time.monotonic()
    await owed_in_one_transaction(engine, (second.id, "after a bad gateway"))
    await api.wait_for(lambda: received(api, second), 10)
    assert time.monotonic() - started >= 1.0  # the first backoff
    await settled()
    assert received(api, first) == ["after the flood limit", "and the next one"]  # in order, once
    assert received(api, second) == ["after a bad gateway"]
    assert [r["attempts"] for r in await outbox_rows(engine)] == [1, 0, 1]


async def test_a_person_who_blocked_the_bot_is_not_retried(api, bot, engine, people, settled):
    citizen = people("ru", started=True)
    api.block(citizen.id)
    await owed_in_one_transaction(engine, (citizen.id, "never seen"), (citizen.id, "nor this"))
    await api.wait_for(lambda: sum(1 for c in api.calls if c.method == "sendMessage" and not c.ok) == 2)
    await settled()
    assert [r["failed"] for r in await outbox_rows(engine)] == ["blocked", "blocked"]
    assert sum(1 for c in api.calls if c.method == "sendMessage") == 2  # one try each, no retries


async def test_what_was_owed_while_the_bot_was_down_goes_out_once_after_the_start(api, bot, engine, people, settled):
    citizen = people("kk", started=True)
    await bot.stop()
    await owed_in_one_transaction(engine, *[(citizen.id, f"хабарлама {n}") for n in range(3)])
    await bot.start()
    await api.wait_for(lambda: len(received(api, citizen)) == 3)
    await settled()
    assert received(api, citizen) == ["хабарлама 0", "хабарлама 1", "хабарлама 2"]


async def test_two_processes_delivering_at_once_send_each_message_once_and_in_order(api, bot, engine, people, settled):
    citizens = [people("ru", started=True) for _ in range(10)]
    second = build_worker(bot.settings, engine, create_session_factory(engine), bot.content, bot.i18n)  # as a second bot process would
    await second.start(bot.bot)
    try:
        await owed_in_one_transaction(engine, *[(c.id, f"{c.id}: {n}") for n in range(5) for c in citizens])
        await api.wait_for(lambda: sum(len(received(api, c)) for c in citizens) == 50, 15)
        await settled()
    finally:
        await second.stop()
    for citizen in citizens:
        assert received(api, citizen) == [f"{citizen.id}: {n}" for n in range(5)]


async def test_a_killed_bot_loses_nothing_it_owed(api, engine, tmp_path):
    """SIGKILL while delivering: after a restart every owed message arrives, in order; only the
    messages in flight at the kill (sent, not yet marked) can arrive twice."""
    import os
    import signal
    import subprocess
    import sys

    from bot.config import PROJECT_ROOT

    # People of the stand-in only: the bot here is the process started below, not the test's own.
    citizens = [Person(api, 5000 + n, "Test", "ru", started=True) for n in range(20)]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "BOT_TOKEN": TEST_TOKEN, "TELEGRAM_API_URL": api.url,
           "DATABASE_URL": engine.url.render_as_string(hide_password=False), "LOG_LEVEL": "WARNING"}

    def start_bot() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                                stdout=subprocess.DEVNULL, stderr=(tmp_path / "bot.log").open("ab"))

    await owed_in_one_transaction(engine, *[(c.id, f"{c.id}: {n}") for n in range(10) for c in citizens])
    process = start_bot()
    try:
        await api.wait_for(lambda: sum(len(received(api, c)) for c in citizens) >= 40, 60)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        at_kill = sum(len(received(api, c)) for c in citizens)
        assert at_kill < 200, "the kill came too late to interrupt anything"
        process = start_bot()
        await api.wait_for(lambda: all(len(set(received(api, c))) == 10 for c in citizens), 60)
        rows = await outbox_rows(engine)  # once the last batch has committed
    finally:
        process.terminate()
        process.wait(10)
    duplicates = 0
    for citizen in citizens:
        messages = received(api, citizen)
        assert list(dict.fromkeys(messages)) == [f"{citizen.id}: {n}" for n in range(10)]  # none lost, in order
        duplicates += len(messages) - 10
    assert duplicates <= LANES  # at most the message each lane had in flight
    assert len(rows) == 200 and all(r["sent_at"] is not None for r in rows)


async def test_a_message_that_keeps_failing_oddly_is_given_up_after_an_hour_and_the_chat_goes_on(api, bot, engine, people):
    """An answer that is neither Telegram's success nor its refusal (a proxy's HTML page): the
    message is tried again with a growing pause, the chat's later messages wait behind it (order),
    and after MAX_ATTEMPTS (about an hour) it is given up and the chat's queue moves on."""
    from bot.jobs.outbox import MAX_ATTEMPTS

    citizen = people("ru", started=True)
    # Garbled until the test says otherwise: however soon the worker tries again (a loaded machine
    # can hold the test back past the first pause), no attempt before the last one gets through.
    api.garble_next("sendMessage", citizen.id, times=MAX_ATTEMPTS)
    await owed_in_one_transaction(engine, (citizen.id, "первое"), (citizen.id, "второе"))
    await api.wait_for(lambda: any(c.error and c.chat_id == citizen.id for c in api.calls) or None)
    # Once a failed attempt has been put off, its next try is held back (here, an hour), so that
    # the test, not the worker's clock, decides when the last attempt comes.
    frozen = []
    for _ in range(250):
        async with engine.begin() as conn:
            frozen = (await conn.execute(text(
                "UPDATE outbox SET not_before = now() + interval '1 hour' WHERE id = (SELECT min(id) FROM outbox)"
                " AND attempts >= 1 AND not_before > now() AND failed IS NULL RETURNING attempts"
            ))).all()
        if frozen:
            break
        await asyncio.sleep(0.02)
    assert frozen, "tried again later"
    assert received(api, citizen) == [], "the second waits behind the first"

    # An hour of failures later: the last attempt is due now, and fails as the others did.
    api.garble_next("sendMessage", citizen.id, times=1)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE outbox SET attempts = :n, not_before = now() WHERE id = (SELECT min(id) FROM outbox)"),
                           {"n": MAX_ATTEMPTS - 1})
        await conn.execute(text("SELECT pg_notify('outbox', '')"))
    await api.wait_for(lambda: received(api, citizen) == ["второе"] or None, 10)
    rows = await outbox_rows(engine)
    assert [(r["failed"], r["sent_at"] is not None) for r in rows] == [("gave up after repeated errors", False), (None, True)]
