"""Every kind of personal data is kept only as long as /privacy and the README say, and the daily
retention job (a timer) enforces each: old requests, people who stopped writing, abandoned forms,
delivered messages and fired timers, announcements' recipient lists, and the marathon's deeds once
the marathon is long over. Each kind is seeded just inside its age (it survives a run of the job),
then just past it (the next run leaves nothing of it in any column)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import text

from bot.db.engine import create_session_factory
from bot.services import outbox, timers, users
from bot.services.clock import today_in_kazakhstan
from tests.support.database import execute, scalar, traces
from tests.support.scenarios import fill_until_phone, join, log_deed, open_question, run_marathon

KEEP = 365  # RETENTION_DAYS of the test bot (the default)
DRAFT_PHONE = "77019990001"
RECIPIENT = 880_001  # someone an announcement went to


async def run_retention(engine) -> None:
    """Make the retention job's timer due now, wake the workers, and wait until it has fired."""
    fired = await scalar(engine, "SELECT count(*) FROM timers WHERE kind = 'retention' AND done_at IS NOT NULL")
    await execute(engine, "UPDATE timers SET due_at = now() WHERE kind = 'retention' AND done_at IS NULL")
    await execute(engine, "SELECT pg_notify('outbox', '')")
    for _ in range(100):
        if await scalar(engine, "SELECT count(*) FROM timers WHERE kind = 'retention' AND done_at IS NOT NULL") > fired:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the retention job did not run")


async def age(engine, inside: bool, people: dict) -> None:
    """Every kind just inside its age (`inside`) or just past it."""
    hour = timedelta(hours=1) if inside else -timedelta(hours=1)
    day = 0 if inside else 1
    keep, week, month = timedelta(days=KEEP), timedelta(days=7), timedelta(days=30)
    await execute(engine, "UPDATE users SET last_active_on = current_date - CAST(:days AS integer) WHERE telegram_id = ANY(:ids)",
                  days=KEEP + day, ids=[people["silent"], people["staff"]])
    await execute(engine, "UPDATE tickets SET closed_at = now() - CAST(:age AS interval) WHERE status = 'closed'", age=keep - hour)
    await execute(engine, "UPDATE fsm_states SET updated_at = now() - CAST(:age AS interval) WHERE key LIKE :key",
                  age=week - hour, key=f"%:{people['drafting']}:%")
    await execute(engine, "UPDATE outbox SET sent_at = now() - CAST(:age AS interval) WHERE payload ? 'text'", age=week - hour)
    await execute(engine, "UPDATE timers SET done_at = now() - CAST(:age AS interval) WHERE kind IN ('remind', 'ticket_remind')", age=month - hour)
    await execute(engine, "UPDATE announcements SET finished_at = now() - CAST(:age AS interval)", age=keep - hour)
    today = today_in_kazakhstan()
    ends = today - timedelta(days=KEEP + day)
    await execute(engine, "UPDATE marathon_settings SET starts_on = :starts, ends_on = :ends", starts=ends - timedelta(days=90), ends=ends)
    await execute(engine, "UPDATE deeds SET deed_date = :ends", ends=ends)


async def test_the_retention_job_keeps_each_kind_of_personal_data_no_longer_than_stated(
    bot, citizen, operator, engine, content, t, api
):
    # The job's first run after the start waits until everything is seeded.
    await execute(engine, "UPDATE timers SET due_at = now() + interval '1 day' WHERE kind = 'retention' AND done_at IS NULL")
    akmola = await operator("akmola", "ru", "Нұрлан")
    coordinator = await operator("national", "en", "Saule", coordinator=True)
    factory = create_session_factory(engine)

    # Someone who stops writing, with an open request an operator answered.
    silent = await citizen("ru")
    number = await open_question(silent, "ru", "Меня зовут Ерлан Забытов, как стать волонтёром?", t)
    card = await akmola.receive(f"№{number}")
    await akmola.press(t("ru", "✋ Take"), card)
    await akmola.send("Ерлан, ответ для Забытова", reply_to=card)
    await silent.receive("Забытова")
    # Someone who writes again after a long silence, and a member of staff with a citizen's record.
    returning = await citizen("kk")
    async with factory() as session, session.begin():
        await users.give_consent(session, akmola.id, "ru")
    # A closed request.
    asker = await citizen("en")
    closed = await open_question(asker, "en", "A question from Erlan Zakrytov", t)
    card = await akmola.receive(f"№{closed}")
    await akmola.press(t("ru", "✋ Take"), card)
    await akmola.press(t("ru", "✅ Close"), card)
    await akmola.send("Готово")
    await asker.receive("Готово")
    # A help form left at its summary, phone included.
    drafting = await citizen("ru")
    await fill_until_phone(drafting, t, "ru")
    await drafting.share_contact(DRAFT_PHONE)
    # A message delivered, a reminder fired (and a fired T1, which /stats counts).
    async with factory() as session, session.begin():
        await outbox.owe(session, returning.id, "text", {"text": "Сәлем, Ерлан Отправленов"})
        await timers.set_timer(session, "remind", "r1", timedelta(0), {"chat_id": returning.id, "text": "Ерлан Таймеров"})
    await returning.receive("Отправленов")
    await returning.receive("Таймеров")
    await execute(engine, "INSERT INTO timers (kind, key, payload, due_at, done_at) VALUES ('ticket_remind', :key, :payload, now(), now())",
                  key=str(closed), payload=f'{{"ticket": {closed}}}')
    # A finished announcement's recipient list.
    await execute(engine, "INSERT INTO announcements (id, created_by, language, audience, versions, state, finished_at) "
                  "VALUES (1, :by, 'en', '{\"kind\": \"all\"}', '{\"all\": {\"html\": \"News\"}}', 'done', now())", by=coordinator.id)
    await execute(engine, "INSERT INTO announcement_recipients (announcement_id, telegram_id, language, state) VALUES (1, :id, 'kk', 'sent')",
                  id=RECIPIENT)
    # The marathon: a participant's approved deed and one still waiting for review.
    await run_marathon(engine, content.rules)
    participant = await citizen("ru")
    await join(participant, t, "ru", name="Команда Марафоновых")
    await log_deed(participant, t, "ru", "🌳 Посадка деревьев", "12")
    await coordinator.press("✅ Approve", (await coordinator.send("/deeds")).last)
    await log_deed(participant, t, "ru", "🌳 Посадка деревьев", "3")
    async with engine.connect() as conn:
        photos = list((await conn.execute(text("SELECT file_id FROM deed_photos UNION SELECT file_unique_id FROM deed_photos"))).scalars())
    assert len(photos) == 4

    people = {"silent": silent.id, "staff": akmola.id, "drafting": drafting.id}
    needles = ["Забытов", "Zakrytov", DRAFT_PHONE, "Отправленов", "Таймеров", "берег озера", *photos]

    # Just inside every age: the job keeps everything.
    await age(engine, True, people)
    await execute(engine, "UPDATE users SET last_active_on = current_date - CAST(:days AS integer) WHERE telegram_id = :id", days=KEEP, id=returning.id)
    await run_retention(engine)
    found = await traces(engine, needles, silent.id)
    for needle in needles:
        assert any(repr(needle) in place for place in found), f"{needle!r} went too early: {found}"
    assert any("person's id" in place for place in found)
    assert await scalar(engine, "SELECT count(*) FROM announcement_recipients") == 1
    assert await scalar(engine, "SELECT count(*) FROM audit_log") == 0

    # Writing to the bot counts as activity, written down once a day.
    before = await scalar(engine, "SELECT xmin::text FROM users WHERE telegram_id = :id", id=returning.id)
    await returning.send("/help")
    assert await scalar(engine, "SELECT last_active_on = current_date FROM users WHERE telegram_id = :id", id=returning.id)
    changed = await scalar(engine, "SELECT xmin::text FROM users WHERE telegram_id = :id", id=returning.id)
    assert changed != before
    await returning.send("/help")
    await returning.send("/contacts")
    assert await scalar(engine, "SELECT xmin::text FROM users WHERE telegram_id = :id", id=returning.id) == changed, \
        "a second message the same day writes nothing"

    # Just past every age: nothing of it is left anywhere.
    await age(engine, False, people)
    await run_retention(engine)
    assert await traces(engine, needles, silent.id) == []
    assert await traces(engine, [], RECIPIENT) == []
    closed = t("ru", "The citizen has closed request {number}.").format(number=f"№{number}")
    notice = await akmola.receive(closed)
    assert notice.text == closed, \
        "the operator of the silent person's open request is told it was closed"

    async with engine.connect() as conn:
        left = set((await conn.execute(text("SELECT telegram_id FROM users"))).scalars())
        deeds = (await conn.execute(text("SELECT kind, amount, region, deed_date, state, participant_id, description, locality FROM deeds"))).all()
        totals = (await conn.execute(text("SELECT kind, amount, deeds FROM deed_totals"))).all()
        kept_timers = (await conn.execute(text("SELECT kind FROM timers WHERE done_at IS NOT NULL AND kind <> 'retention'"))).scalars().all()
        outbox_left = await conn.scalar(text("SELECT count(*) FROM outbox WHERE sent_at < now() - interval '7 days'"))
    assert left == {returning.id, akmola.id, asker.id, drafting.id, participant.id}, "the staff's record and active people stay"
    assert [(d.kind, int(d.amount), d.region, d.state, d.participant_id, d.description, d.locality) for d in deeds] == [
        ("trees", 12, "akmola", "approved", None, "", "")
    ], "the approved deed's anonymous facts stay; the pending one goes"
    assert [(k, int(a), n) for k, a, n in totals] == [("trees", 12, 1)]
    assert kept_timers == ["ticket_remind"], "the fired time limits /stats counts stay"
    assert outbox_left == 0
    assert await scalar(engine, "SELECT count(*) FROM fsm_states WHERE key LIKE :key", key=f"%:{drafting.id}:%") == 0
    assert await scalar(engine, "SELECT display_name FROM participants WHERE telegram_id = :id", id=participant.id) == "Команда Марафоновых", \
        "a participant who still uses the bot keeps their name in the results"

    audit = (await coordinator.send("/audit")).text
    assert "erased the personal data of requests closed more than 365 days ago: 1" in audit
    assert "erased the data of people who had not written to the bot for more than 365 days: 1" in audit
    assert "erased the descriptions, places and photos of the marathon's deeds, 365 days after it ended: 2" in audit
    # The silent person can come back as a new person.
    again = await silent.send("/start")
    assert again.sent


async def test_the_retention_job_works_through_a_large_backlog_in_batches_a_minute_apart(bot, engine):
    """250 people silent for longer than the period: 100 are erased per firing (each is a /forget),
    and while a batch is full the job comes back in a minute rather than a day."""
    from bot.services.personal_data import PEOPLE_BATCH, RETENTION_SOON

    await execute(
        engine,
        "INSERT INTO users (telegram_id, language, region, consent_version, consent_at, last_active_on) "
        "SELECT id, 'kk', 'akmola', 1, now(), current_date - CAST(:days AS integer) FROM generate_series(900000, 900249) id",
        days=KEEP + 1,
    )
    await execute(engine, "INSERT INTO users (telegram_id, language, region, consent_version, consent_at, last_active_on) "
                          "VALUES (900999, 'ru', 'akmola', 1, now(), current_date)")
    left, next_in = [], []
    for _ in range(3):
        await run_retention(engine)
        left.append(await scalar(engine, "SELECT count(*) FROM users WHERE telegram_id BETWEEN 900000 AND 900249"))
        next_in.append(await scalar(engine, "SELECT due_at - now() FROM timers WHERE kind = 'retention' AND done_at IS NULL"))
    assert left == [250 - PEOPLE_BATCH, 250 - 2 * PEOPLE_BATCH, 0]
    assert all(wait <= RETENTION_SOON for wait in next_in[:2]), "a full batch: back in a minute"
    assert next_in[2] > timedelta(hours=23), "the backlog done, the job is back to once a day"
    assert await scalar(engine, "SELECT count(*) FROM users WHERE telegram_id = 900999") == 1, "who still writes stays"
    erased = await scalar(engine, "SELECT sum((subject->>'people')::int) FROM audit_log WHERE action = 'retention_people'")
    assert erased == 250
