"""Reading the database behind the bot's back, to check what it stored (and what it no longer
holds)."""

from __future__ import annotations

from sqlalchemy import text


async def ticket_row(engine, ticket_id: int) -> dict:
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM tickets WHERE id = :id"), {"id": ticket_id})).mappings().one()
    return dict(row)


async def count(engine, table: str) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text(f"SELECT count(*) FROM {table}"))


async def every_column(engine, types: tuple[str, ...]) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND data_type = ANY(:types) AND table_name <> 'alembic_version'"
            ),
            {"types": list(types)},
        )
        return [tuple(row) for row in rows.all()]


async def traces(engine, needles: list[str], telegram_id: int) -> list[str]:
    """Every place in the database where one of `needles` appears in a text or JSON column, or
    `telegram_id` in a number column."""
    found = []
    async with engine.connect() as conn:
        for table, column in await every_column(engine, ("text", "character varying", "jsonb")):
            for needle in needles:
                hits = await conn.scalar(
                    text(f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS text) ILIKE :needle'),
                    {"needle": f"%{needle}%"},
                )
                if hits:
                    found.append(f"{table}.{column} holds {needle!r}")
        for table, column in await every_column(engine, ("bigint",)):
            hits = await conn.scalar(text(f'SELECT count(*) FROM "{table}" WHERE "{column}" = :id'), {"id": telegram_id})
            if hits:
                found.append(f"{table}.{column} holds the person's id")
    return found


async def scalar(engine, sql: str, **params):
    async with engine.connect() as conn:
        return await conn.scalar(text(sql), params)


async def rows(engine, sql: str, **params) -> list[dict]:
    async with engine.connect() as conn:
        return [dict(row) for row in (await conn.execute(text(sql), params)).mappings()]


async def execute(engine, sql: str, **params) -> None:
    """A change behind the bot's back (ageing rows, making a timer due), committed."""
    async with engine.begin() as conn:
        await conn.execute(text(sql), params)


async def ticket_messages(engine, ticket_id: int, author: str) -> list[dict]:
    """The stored messages of a ticket by one side (`citizen` or `operator`), oldest first."""
    return await rows(
        engine, "SELECT * FROM ticket_messages WHERE ticket_id = :id AND author = :author ORDER BY id", id=ticket_id, author=author
    )


async def tickets_of(engine, citizen_id: int) -> list[dict]:
    return await rows(engine, "SELECT * FROM tickets WHERE citizen_id = :id ORDER BY id", id=citizen_id)


async def blocks(engine) -> list[dict]:
    return await rows(engine, "SELECT * FROM blocks ORDER BY telegram_id")
