"""The statistics' per-day rollups (migrations 0028, 0029) always add up to what a full scan of the
deeds, the people, the requests and their fired time limits counts, whatever changed them: the
bot's own flows (joining, logging, approving, correcting, rejecting, asking, taking, answering,
closing, rating, a time limit firing, /forget), the retention job's deletions, a coordinator's SQL,
timers written many to a statement, a rolled-back transaction; before their compaction, after it,
and with change rows written while it ran."""

from __future__ import annotations

import random

from sqlalchemy import text

from bot.services import statistics
from tests.support.scenarios import join, log_deed, run_marathon, taken_question
from tests.support.statistics import NOVEMBER, Expected, check_collected, seed, seeded_month

# What the rollups must say, counted from the rows themselves.
# Each deed, request… counts in its region's rows and in the rows of every region ('*').
EACH_AND_ALL = "CROSS JOIN LATERAL (VALUES (t.region), ('*')) AS r (region)"
DEEDS_SCANNED = f"""
    SELECT deed_date, r.region, kind, count(*), count(*) FILTER (WHERE state = 'pending'),
           count(*) FILTER (WHERE state = 'approved'), count(*) FILTER (WHERE state = 'rejected'),
           coalesce(sum(amount) FILTER (WHERE state = 'approved'), 0)
    FROM deeds AS t {EACH_AND_ALL} GROUP BY 1, 2, 3
"""
DEEDS_ROLLED_UP = """
    SELECT deed_date, region, kind, sum(deeds), sum(pending), sum(approved), sum(rejected), sum(approved_amount)
    FROM stats_deed_days GROUP BY 1, 2, 3 HAVING sum(deeds) <> 0
"""
PEOPLE_SCANNED = """
    SELECT ((created_at AT TIME ZONE 'UTC') + interval '5 hours')::date AS day, region, count(*),
           count(*) FILTER (WHERE language = 'kk'), count(*) FILTER (WHERE language = 'ru'), count(*) FILTER (WHERE language = 'en')
    FROM users GROUP BY 1, 2
"""
PEOPLE_ROLLED_UP = """
    SELECT day, region, sum(people), sum(kk), sum(ru), sum(en) FROM stats_people_days GROUP BY 1, 2 HAVING sum(people) <> 0
"""
ASTANA_DAY = "((t.created_at AT TIME ZONE 'UTC') + interval '5 hours')::date"
FIRED = "EXISTS (SELECT 1 FROM timers WHERE key = t.id::text AND kind = '{}' AND done_at IS NOT NULL)"
TICKETS_SCANNED = f"""
    SELECT {ASTANA_DAY} AS day, region, count(*), count(*) FILTER (WHERE status = 'new'), count(*) FILTER (WHERE status = 'taken'),
           count(*) FILTER (WHERE status = 'closed'), count(first_answer_at), count(closed_at), count(escalated_at),
           count(*) FILTER (WHERE {FIRED.format("ticket_remind")}), count(*) FILTER (WHERE {FIRED.format("ticket_unanswered")}),
           count(*) FILTER (WHERE details ->> 'via' = 'knowledge'),
           {", ".join(f"count(*) FILTER (WHERE rating = {n})" for n in range(1, 6))}
    FROM tickets AS t GROUP BY 1, 2
"""
TICKETS_ROLLED_UP = f"""
    SELECT day, region, sum(tickets), sum(status_new), sum(status_taken), sum(status_closed), sum(answered), sum(closed),
           sum(escalated), sum(reminded), sum(overdue), sum(via_knowledge), {", ".join(f"sum(stars_{n})" for n in range(1, 6))}
    FROM stats_ticket_days GROUP BY 1, 2 HAVING sum(tickets) <> 0
"""
CATEGORIES_SCANNED = f"SELECT {ASTANA_DAY} AS day, r.region, category, count(*) FROM tickets AS t {EACH_AND_ALL} GROUP BY 1, 2, 3"
CATEGORIES_ROLLED_UP = "SELECT day, region, category, sum(tickets) FROM stats_ticket_category_days GROUP BY 1, 2, 3 HAVING sum(tickets) <> 0"
ENTRIES_SCANNED = f"""
    SELECT {ASTANA_DAY} AS day, r.region, coalesce(details ->> 'kb', ''), count(*)
    FROM tickets AS t {EACH_AND_ALL} WHERE details ->> 'via' = 'knowledge' GROUP BY 1, 2, 3
"""
ENTRIES_ROLLED_UP = "SELECT day, region, entry, sum(tickets) FROM stats_ticket_kb_days GROUP BY 1, 2, 3 HAVING sum(tickets) <> 0"
TIMES_SCANNED = f"""
    SELECT day, region, measure, bucket, count(*) FROM (
        SELECT {ASTANA_DAY} AS day, r.region, m.measure, stats_time_bucket(m.seconds) AS bucket
        FROM tickets AS t
        CROSS JOIN LATERAL (VALUES ('answer', date_part('epoch', t.first_answer_at - t.created_at)),
                                   ('close', date_part('epoch', t.closed_at - t.created_at))) AS m (measure, seconds)
        {EACH_AND_ALL}
        WHERE m.seconds IS NOT NULL
    ) AS each_time GROUP BY 1, 2, 3, 4
"""
TIMES_ROLLED_UP = "SELECT day, region, measure, bucket, sum(tickets) FROM stats_ticket_times GROUP BY 1, 2, 3, 4 HAVING sum(tickets) <> 0"
CHECKED = [(DEEDS_SCANNED, DEEDS_ROLLED_UP), (PEOPLE_SCANNED, PEOPLE_ROLLED_UP), (TICKETS_SCANNED, TICKETS_ROLLED_UP),
           (CATEGORIES_SCANNED, CATEGORIES_ROLLED_UP), (ENTRIES_SCANNED, ENTRIES_ROLLED_UP), (TIMES_SCANNED, TIMES_ROLLED_UP)]
ROLLUPS = tuple(statistics._ROLLUPS)


async def rows(engine, sql: str) -> list[tuple]:
    async with engine.connect() as conn:
        return sorted((await conn.execute(text(sql))).all(), key=repr)


async def assert_rollups_add_up(engine, everything_counted: bool = True) -> None:
    for scanned, rolled_up in CHECKED:
        expected = await rows(engine, scanned)
        assert expected or not everything_counted, f"nothing to check: {scanned}"
        assert await rows(engine, rolled_up) == expected, rolled_up


async def change_rows(engine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text("SELECT " + " + ".join(f"(SELECT count(*) FROM {table} WHERE NOT compacted)" for table in ROLLUPS)))


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
    await settled()  # the participants' notices are out before the next taps, whose answers the helpers read
    # Requests: asked, taken, answered, closed, rated; one left waiting until its T1 reminder fires.
    desk = await operator("akmola", "en", "Saule")
    number = await taken_question(dmitry, desk, "ru", "en", t, "Как стать волонтёром?")
    await desk.send("Напишите нам в офис", reply_to=desk.api.chat(desk.id)[-1])
    await dmitry.receive("Напишите нам в офис")
    await desk.send(f"/ticket {number}")
    await desk.press(t("en", "✅ Close"))
    await desk.send("Рассказали о регистрации")
    await dmitry.receive("Рассказали о регистрации")
    await dmitry.press("4 ⭐")
    await aigerim.tap(t("kk", "Ask an operator"))
    await aigerim.send("Көмек керек")
    await desk.receive("Көмек керек")
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE timers SET due_at = now() WHERE kind = 'ticket_remind' AND done_at IS NULL"))
    await settled()
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT sum(reminded) FROM stats_ticket_days")) == 1
    await assert_rollups_add_up(engine, everything_counted=False)
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
        # Requests changed by SQL; timers many to a statement: two fired limits of one request
        # written together count it once, and taking one of two away still leaves it counted.
        await conn.execute(text("UPDATE tickets SET rating = 5, status = 'closed', closed_at = coalesce(closed_at, now()) WHERE id IN (SELECT id FROM tickets ORDER BY id LIMIT 7)"))
        await conn.execute(text("UPDATE tickets SET details = details || '{\"via\": \"knowledge\", \"kb\": \"become/start\"}' WHERE id IN (SELECT id FROM tickets ORDER BY id DESC LIMIT 3)"))
        await conn.execute(text(
            "INSERT INTO timers (kind, key, payload, due_at, done_at) SELECT 'ticket_unanswered', id::text, '{}', now(), now()"
            " FROM tickets, generate_series(1, 2) WHERE id IN (SELECT id FROM tickets ORDER BY id LIMIT 4)"
        ))
        await conn.execute(text(
            "DELETE FROM timers WHERE id IN (SELECT min(id) FROM timers WHERE kind = 'ticket_unanswered' AND done_at IS NOT NULL GROUP BY key)"
        ))
        await conn.execute(text("UPDATE timers SET done_at = NULL, due_at = now() + interval '1 day' WHERE id IN"
                                " (SELECT id FROM timers WHERE kind = 'ticket_remind' AND done_at IS NOT NULL ORDER BY id LIMIT 3)"))
        await conn.execute(text("DELETE FROM tickets WHERE id IN (SELECT id FROM tickets ORDER BY id DESC LIMIT 6)"))
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
    assert await change_rows(engine) == 4, "the approval's −1 and +1 (its region's and every region's), written during the compaction"
    await assert_rollups_add_up(engine)
    async with engine.connect() as conn:
        for table, (key, _) in statistics._ROLLUPS.items():
            duplicates = await conn.scalar(text(
                f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE compacted GROUP BY {', '.join(key)} HAVING count(*) > 1) AS d"
            ))
            assert duplicates == 0, table

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
        for region in ("akmola", "astana"):
            check_collected(await statistics.collect(session, NOVEMBER, region), Expected.of(month, NOVEMBER, region))
