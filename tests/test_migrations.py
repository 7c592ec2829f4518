"""Migrations are the schema: they apply to an empty database, reverse cleanly, and match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.db.migrate import alembic_config
from bot.db.models import Base


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
