"""Migrations are the schema: they apply to an empty database, reverse cleanly, and match the models."""

import json

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.db.migrate import alembic_config
from bot.db.models import Base
from tests.support.bot import RunningBot
from tests.support.scenarios import join, log_deed, onboard, run_marathon


async def test_migrations_round_trip_and_match_the_models(engine, database_url):
    import asyncio

    from alembic import command

    scratch = "qv_migrations_check"
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}"'))
        await conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    url = make_url(database_url).set(database=scratch).render_as_string(hide_password=False)
    config = alembic_config(url)
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.downgrade, config, "base")
    await asyncio.to_thread(command.upgrade, config, "head")

    scratch_engine = create_async_engine(url)
    async with scratch_engine.connect() as conn:
        diff = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata))
    await scratch_engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


async def test_the_latest_migrations_go_down_and_up_again_with_data_in_the_tables(api, content, i18n, database_url):
    """A deploy rolled back and forward again keeps what people sent: the bot's own flows fill a
    database, the migrations since 0016 are undone one by one and redone, and every row of the
    tables that lived through it is still there, unchanged (a column added since may be empty)."""
    import asyncio

    from alembic import command

    from bot.db.engine import create_engine
    from tests.support.people import Person

    scratch = "qv_migrations_with_data"
    admin = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}"'))
        await conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    await admin.dispose()
    url = make_url(database_url).set(database=scratch).render_as_string(hide_password=False)
    config = alembic_config(url)
    await asyncio.to_thread(command.upgrade, config, "head")
    engine = create_engine(url)
    t = lambda language, msgid: i18n.gettext(msgid, locale=language)  # noqa: E731
    try:
        running = RunningBot(api, engine, content, i18n)
        await running.start()
        from bot.db.engine import create_session_factory
        from bot.services.operators import add_operator

        async with create_session_factory(engine)() as session, session.begin():
            await add_operator(session, content.directory, 500_001, "Нұрлан", "akmola", language="ru")
        akmola = Person(api, 500_001, "Нұрлан", "ru", started=True)
        citizen = Person(api, 1001, "Дана", "ru")
        await onboard(citizen, "ru")
        await citizen.tap(t("ru", "Ask an operator"))
        await citizen.send("Как стать волонтёром?")
        card = await akmola.receive("Как стать волонтёром?")
        await akmola.press(t("ru", "✋ Take"), card)
        await akmola.send("Напишите нам в офис", reply_to=akmola.api.chat(akmola.id)[-1])
        await citizen.receive("Напишите нам в офис")
        await run_marathon(engine, content.rules)
        await join(citizen, t, "ru")
        await log_deed(citizen, t, "ru", content.rules.kind("trees").name["ru"], "5", photos=2)
        await running.stop()

        async def snapshot() -> dict[str, list]:
            async with engine.connect() as conn:
                tables = (await conn.execute(text(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                    # Tables created since 0016: the downgrade drops them (the knowledge base is then
                    # seeded from the data files again; the statistics' rollups are counted from the
                    # rows again, compacted: `test_stats_rollups` checks them against the rows).
                    " AND table_name NOT IN ('alembic_version', 'intake', 'intake_calls', 'send_rates', 'blocks',"
                    " 'knowledge_topics', 'knowledge_revisions', 'knowledge_gaps', 'knowledge_days', 'days_off', 'office_details',"
                    " 'saved_replies', 'ticket_message_copies',"
                    " 'stats_deed_days', 'stats_people_days', 'stats_ticket_days', 'stats_ticket_category_days', 'stats_ticket_kb_days', 'stats_ticket_times')"
                ))).scalars().all()
                return {
                    table: sorted((await conn.execute(text(f"SELECT row_to_json(r)::text FROM {table} r"))).scalars().all())
                    for table in tables
                }

        before = await snapshot()
        filled = [table for table, rows in before.items() if rows]
        assert {"users", "operators", "tickets", "ticket_messages", "outbox", "participants", "deeds", "deed_photos"} <= set(filled)
        await engine.dispose()
        await asyncio.to_thread(command.downgrade, config, "0016")
        await asyncio.to_thread(command.upgrade, config, "head")
        after = await snapshot()
    finally:
        await engine.dispose()
    added_since = {
        "users": {"slowed_until", "repeat_told_until"}, "announcements": {"progress_shown"},
        # (0032, 0034: a photo logged before has none, as after a rollback)
        "deed_photos": {"fingerprint", "as_file", "taken_on"},
    }

    def kept(table: str, rows: list[str]) -> list[str]:
        """The rows without the columns added since 0016 (a downgrade drops them)."""
        dropped = added_since.get(table, set())
        return sorted(json.dumps({k: v for k, v in json.loads(r).items() if k not in dropped}, sort_keys=True) for r in rows)

    for table, rows in before.items():
        assert kept(table, after[table]) == kept(table, rows), table
