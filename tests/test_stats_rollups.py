"""The statistics' per-day rollups (migration 0028) always add up to what a full scan of the deeds
and the people counts, whatever changed them: the bot's own flows (joining, logging, approving,
correcting, rejecting, /forget), the retention job's deletions, a coordinator's SQL, a rolled-back
transaction; before their compaction, after it, and with change rows written while it ran."""

from __future__ import annotations

import random

from sqlalchemy import text

from bot.services import statistics
from tests.support.scenarios import join, log_deed, run_marathon
from tests.support.statistics import NOVEMBER, Expected, check_collected, seed, seeded_month

# What the rollups must say, counted from the rows themselves.
DEEDS_SCANNED = """
    SELECT deed_date, region, kind, state, count(*) AS deeds, sum(amount) AS amount
    FROM deeds GROUP BY 1, 2, 3, 4
"""
DEEDS_ROLLED_UP = """
    SELECT deed_date, region, kind, state, sum(deeds) AS deeds, sum(amount) AS amount
    FROM stats_deed_days GROUP BY 1, 2, 3, 4 HAVING sum(deeds) <> 0 OR sum(amount) <> 0
"""
PEOPLE_SCANNED = """
    SELECT ((created_at AT TIME ZONE 'UTC') + interval '5 hours')::date AS day, region, language, count(*) AS people
    FROM users GROUP BY 1, 2, 3
"""
PEOPLE_ROLLED_UP = """
    SELECT day, region, language, sum(people) AS people
    FROM stats_people_days GROUP BY 1, 2, 3 HAVING sum(people) <> 0
"""


async def rows(engine, sql: str) -> list[tuple]:
    async with engine.connect() as conn:
        return sorted((await conn.execute(text(sql))).all(), key=repr)


async def assert_rollups_add_up(engine) -> None:
    deeds = await rows(engine, DEEDS_SCANNED)
    people = await rows(engine, PEOPLE_SCANNED)
    assert deeds and people
    assert await rows(engine, DEEDS_ROLLED_UP) == deeds
    assert await rows(engine, PEOPLE_ROLLED_UP) == people


async def change_rows(engine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text(
            "SELECT (SELECT count(*) FROM stats_deed_days WHERE NOT compacted)"
            " + (SELECT count(*) FROM stats_people_days WHERE NOT compacted)"
        ))


async def test_the_rollups_add_up_to_the_rows_whatever_changed_them(citizen, operator, engine, content, t, settled):
    # The bot's own flows: people join, log deeds; a reviewer approves, corrects, rejects.
    await run_marathon(engine, content.rules)
    aigerim, dmitry = await citizen("kk"), await citizen("ru")
    await join(aigerim, t, "kk", name="Айгерім")
    await join(dmitry, t, "ru", name=None)
    trees, litter = content.rules.kind("trees"), content.rules.kind("litter")
    await log_deed(aigerim, t, "kk", trees.name["kk"], "30")
    await log_deed(aigerim, t, "kk", litter.name["kk"], "900")
    await log_deed(dmitry, t, "ru", trees.name["ru"], "12")
    akmola = await operator("akmola", "en", "Nurlan")
    card = (await akmola.send("/deeds")).last
    approved = await akmola.press("✅ Approve", card)
    await akmola.press("✏️ Correct the amount", approved.last)
    await akmola.send("450")
    card = akmola.api.chat(akmola.id)[-1]
    await akmola.press("❌ Reject", card)
    await akmola.press("The photos do not show this deed.")
    await settled()
    await assert_rollups_add_up(engine)
    # A month of requests, deeds and people written with SQL (after the reviews, which take the
    # oldest deed waiting: the seeded ones' participants are nobody Telegram knows).
    await seed(engine, seeded_month(random.Random(11)))
    await assert_rollups_add_up(engine)

    # Someone moves to another region, another leaves (/forget): the people they were move or go.
    late = await citizen("en")
    asked = await late.send("/forget")
    await late.press("🗑", asked.last)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET region = 'almaty', language = 'en' WHERE telegram_id = :id"), {"id": dmitry.id})
        # Touching a counted column without changing it writes nothing (the trigger's condition).
        before = await conn.scalar(text("SELECT count(*) FROM stats_deed_days"))
        await conn.execute(text("UPDATE deeds SET state = state, amount = amount"))
        assert await conn.scalar(text("SELECT count(*) FROM stats_deed_days")) == before
        # A coordinator's SQL and the retention job's deletions.
        await conn.execute(text("UPDATE deeds SET deed_date = deed_date - 1, region = 'astana' WHERE id IN (SELECT id FROM deeds ORDER BY id LIMIT 25)"))
        await conn.execute(text("DELETE FROM deeds WHERE id IN (SELECT id FROM deeds ORDER BY id DESC LIMIT 10)"))
        await conn.execute(text("DELETE FROM users WHERE telegram_id IN (SELECT telegram_id FROM users ORDER BY telegram_id LIMIT 5)"))
    # A transaction that rolls back leaves nothing behind in the rollups either.
    async with engine.connect() as conn:
        await conn.execute(text("DELETE FROM deeds"))
        await conn.rollback()
    await assert_rollups_add_up(engine)
    assert await change_rows(engine) > 20

    # Compacted: one row per key, the same sums. Change rows written while a compaction runs (its
    # snapshot does not see them) stay for the next one.
    async with engine.connect() as writer, engine.begin() as compactor:
        await writer.execute(text("UPDATE deeds SET state = 'approved' WHERE id = (SELECT min(id) FROM deeds WHERE state = 'pending')"))
        await statistics.compact(compactor)
        await writer.commit()
    assert await change_rows(engine) == 2, "the approval's −1 and +1, written during the compaction"
    await assert_rollups_add_up(engine)
    async with engine.connect() as conn:
        duplicates = await conn.scalar(text(
            "SELECT count(*) FROM (SELECT 1 FROM stats_deed_days WHERE compacted GROUP BY deed_date, region, kind, state HAVING count(*) > 1) AS d"
        ))
        assert duplicates == 0

    # The compaction's timer: due, it fires in the bot, folds the rest, and sets itself again.
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE timers SET due_at = now() WHERE kind = :kind AND done_at IS NULL"), {"kind": statistics.COMPACT_TIMER})
    await settled()
    assert await change_rows(engine) == 0
    await assert_rollups_add_up(engine)
    async with engine.connect() as conn:
        pending = await conn.scalar(text(
            "SELECT due_at - now() FROM timers WHERE kind = :kind AND done_at IS NULL"
        ), {"kind": statistics.COMPACT_TIMER})
    assert statistics.COMPACT_EVERY * 0.9 < pending <= statistics.COMPACT_EVERY


async def test_the_seeded_month_reads_the_same_before_and_after_compaction(engine):
    """`collect` from change rows only, and from compacted rows, against the figures computed here."""
    from bot.db.engine import create_session_factory

    month = seeded_month(random.Random(5))
    await seed(engine, month)
    expected = Expected.of(month, NOVEMBER)
    sessions = create_session_factory(engine)
    async with sessions() as session:
        check_collected(await statistics.collect(session, NOVEMBER, None), expected)
    async with engine.begin() as conn:
        await statistics.compact(conn)
    assert await change_rows(engine) == 0
    async with sessions() as session:
        check_collected(await statistics.collect(session, NOVEMBER, None), expected)
        check_collected(await statistics.collect(session, NOVEMBER, "akmola"), Expected.of(month, NOVEMBER, "akmola"))
