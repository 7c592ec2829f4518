"""Personal data under control: /forget leaves no trace of the person in any table while the
anonymous counts stay; a coordinator's full record of a ticket and erasure on someone's behalf are
recorded in the audit log; the retention job erases old tickets' personal data."""

from __future__ import annotations

import asyncio
import io

from openpyxl import load_workbook
from sqlalchemy import text
from tests.support.bot import run_bot
from tests.support.database import scalar, traces
from tests.support.scenarios import fill_until_phone, join, log_deed, open_question, run_marathon


PHONE = "77011234567"


async def test_forget_leaves_no_trace_of_the_person_and_the_counts_stay(citizen, operator, engine, content, t, api, settled):
    await run_marathon(engine, content.rules)
    person = await citizen("ru")
    akmola = await operator("akmola", "ru", "Нұрлан")
    coordinator = await operator("national", "en", "Сәуле", coordinator=True)

    # A question with a photo, answered, closed with a resolution, rated with a comment.
    first = await open_question(person, "ru", "Меня зовут Маржан Секретова, как стать волонтёром?", t)
    card = await akmola.receive(f"№{first}")
    await akmola.press(t("ru", "✋ Take"), card)
    await person.send_photo(caption="Мой паспорт Секретова")
    await akmola.receive("Мой паспорт")
    await akmola.send("Маржан, ответ для Секретовой: регистрация на Qazvolunteer.kz", reply_to=card)
    await person.receive("Секретовой")
    await akmola.press(t("ru", "✅ Close"), card)
    await akmola.send("Секретова получила ответ")
    closed = await person.receive("Секретова получила ответ")
    await person.press("4 ⭐", closed)
    await person.send("Спасибо, Секретова довольна")

    # A request for help with a phone and a location, still open when they leave.
    await fill_until_phone(person, t, "ru")
    summary = (await person.share_contact(PHONE)).last
    await person.press(t("ru", "✅ Send"), summary)
    second = await scalar(engine, "SELECT max(id) FROM tickets")
    help_card = await akmola.receive(f"№{second}")
    await akmola.press(t("ru", "✋ Take"), help_card)
    await person.send_location()

    # The marathon: a name, an approved deed and one still waiting.
    await join(person, t, "ru", name="Секретова и партнёры")
    await log_deed(person, t, "ru", "🌳 Посадка деревьев", "12")
    await coordinator.press("✅ Approve", (await coordinator.send("/deeds")).last)
    await log_deed(person, t, "ru", "🌳 Посадка деревьев", "3")

    async with engine.connect() as conn:
        file_ids = list((await conn.execute(text(
            "SELECT file_id FROM ticket_messages WHERE file_id IS NOT NULL "
            "UNION SELECT file_id FROM deed_photos UNION SELECT file_unique_id FROM deed_photos"
        ))).scalars())
    needles = ["Секретов", "Маржан", PHONE, "Кокшетау", "берег озера", str(person.id), *file_ids]
    assert len(file_ids) >= 3
    before = await traces(engine, needles, person.id)
    assert len(before) > 10, "the scenario stored the person's data in many places"

    asked = await person.send("/forget")
    assert "обезличенн" in asked.text
    done = await person.press("🗑")
    assert t("ru", "Your data has been deleted and your consent withdrawn.") in done.edited[0].text

    await settled()  # (what the bot said while handling the erasure is forgotten a second after it)
    assert await traces(engine, needles, person.id) == []
    # The open request was closed and its operator told.
    closed = t("ru", "The citizen has closed request {number}.").format(number=f"№{second}")
    notice = await akmola.receive(closed)
    assert notice.text == closed

    # What stays is anonymous and the figures are still true.
    async with engine.connect() as conn:
        tickets = (await conn.execute(text("SELECT region, kind, category, status, rating, citizen_id, erased_at FROM tickets ORDER BY id"))).all()
        messages = await conn.scalar(text("SELECT count(*) FROM ticket_messages"))
        deeds = (await conn.execute(text("SELECT kind, amount, state, participant_id FROM deeds"))).all()
        totals = (await conn.execute(text("SELECT kind, amount, deeds FROM deed_totals WHERE deeds > 0"))).all()
    assert [(r.region, r.kind, r.status, r.rating, r.citizen_id) for r in tickets] == [
        ("akmola", "question", "closed", 4, None), ("akmola", "help", "closed", None, None)
    ]
    assert all(r.erased_at is not None for r in tickets) and messages >= 5
    assert [(k, int(a), s, p) for k, a, s, p in deeds] == [("trees", 12, "approved", None)], "the pending deed went"
    assert [(k, int(a), n) for k, a, n in totals] == [("trees", 12, 1)]
    results = await coordinator.send("/tickets_export")
    assert "Requests: 2" in results.sent[0].caption

    # They can come back as a new person.
    again = await person.send("/start")
    assert again.sent


async def test_a_coordinators_full_record_and_erasure_are_in_the_audit_log(
    citizen, operator, engine, t, api, tmp_path, database_url
):
    person = await citizen("en")
    akmola = await operator("akmola", "en", "Nurlan")
    regional = await operator("almaty", "en")
    coordinator = await operator("national", "en", "Saule", coordinator=True)
    number = await open_question(person, "en", "My name is Dana Privatova, can I volunteer at 16?", t)
    card = await akmola.receive(f"№{number}")
    await akmola.press("✋ Take", card)
    await akmola.send("Yes, Dana, with your parents' consent.", reply_to=card)

    assert "empty" in (await coordinator.send("/audit")).text
    assert "/ticket_record 12" in (await coordinator.send("/ticket_record twelve")).text
    assert "There is no request №999" in (await coordinator.send("/ticket_record 999")).text
    # Not for a regional operator: no file, no record.
    refused = await regional.send(f"/ticket_record {number}")
    assert not any(m.document for m in refused.sent)

    record = await coordinator.send(f"/ticket_record {number}")
    workbook_message = record.sent[0]
    assert "with personal data" in workbook_message.caption
    book = load_workbook(io.BytesIO(api.files[workbook_message.document["file_id"]].content))
    fields = {row[0]: row[1] for row in book["ticket"].iter_rows(min_row=2, values_only=True)}
    assert fields["citizen_id"] == person.id and fields["region"] == "akmola"
    said = [row[4] for row in book["messages"].iter_rows(min_row=2, values_only=True)]
    assert "My name is Dana Privatova, can I volunteer at 16?" in said and "Yes, Dana, with your parents' consent." in said
    conversation = api.files[record.sent[1].document["file_id"]].content.decode("utf-8-sig")
    assert "Dana Privatova" in conversation

    # The same from the command line, recorded under the name of whoever ran it.

    url = database_url.replace("+asyncpg", "")
    written = run_bot(tmp_path, "tickets", "record", str(number), "--format", "csv", "--out", str(tmp_path / "r.csv"), DATABASE_URL=url)
    assert written.returncode == 0, written.stderr
    assert "Dana Privatova" in (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    missing = run_bot(tmp_path, "tickets", "record", "999", "--out", str(tmp_path / "x.xlsx"), DATABASE_URL=url)
    assert missing.returncode == 2 and "There is no request №999" in missing.stderr

    asked = await coordinator.send(f"/erase {number}")
    assert "Do it only at their request" in asked.text
    assert "Nothing was erased" in (await coordinator.press("Cancel")).edited[0].text
    assert await scalar(engine, "SELECT citizen_id FROM tickets WHERE id = :n", n=number) == person.id

    await coordinator.send(f"/erase {number}")
    erased = await coordinator.press("Yes, erase")
    assert f"request №{number}. 1 request is now anonymous." in erased.edited[0].text
    assert await traces(engine, ["Privatova", str(person.id)], person.id) == []
    again = await coordinator.send(f"/erase {number}")
    assert "already erased" in (await coordinator.press("Yes, erase", again.last)).edited[0].text

    log = (await coordinator.send("/audit")).text
    lines = [line for line in log.splitlines() if "·" in line]
    assert "Saule" in lines[0] and f"erased the data of the citizen of request №{number}" in lines[0]
    assert "command line" in lines[1] and f"exported the full record of request №{number}" in lines[1]
    assert "Saule" in lines[2] and f"exported the full record of request №{number}" in lines[2]
    assert str(coordinator.id) in lines[0]
    async with engine.connect() as conn:
        entries = (await conn.execute(text("SELECT actor_id, action, subject FROM audit_log ORDER BY id"))).all()
    assert [(a, b) for a, b, _ in entries] == [
        (coordinator.id, "ticket_record"), (None, "ticket_record"), (coordinator.id, "erase_person")
    ]
    assert all(str(person.id) not in str(subject) for _, _, subject in entries)


async def test_the_retention_job_erases_old_requests_personal_data(bot, citizen, operator, engine, t):
    person = await citizen("kk")
    akmola = await operator("akmola", "kk")
    numbers = []
    for question in ("Ескі сұрақ: Асан Оспанов", "Жаңа сұрақ: Асан Оспанов"):
        await open_question(person, "kk", question, t)
        number = await scalar(engine, "SELECT max(id) FROM tickets")
        card = await akmola.receive(f"№{number}")
        await akmola.press(t("kk", "✋ Take"), card)
        await akmola.press(t("kk", "✅ Close"), card)
        await akmola.send("Жауап берілді")
        await person.receive("Жауап берілді")
        numbers.append(number)
    old, recent = numbers
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE tickets SET closed_at = now() - interval '40 days' WHERE id = :id"), {"id": old})
    bot.settings = bot.settings.model_copy(update={"retention_days": 30})
    await bot.restart()  # the job runs soon after the start, then daily

    async def erased() -> bool:
        return await scalar(engine, "SELECT erased_at IS NOT NULL FROM tickets WHERE id = :id", id=old)

    for _ in range(100):
        if await erased():
            break
        await asyncio.sleep(0.2)
    assert await erased()
    texts = await scalar(engine, "SELECT string_agg(coalesce(text, ''), '|') FROM ticket_messages WHERE ticket_id = :id", id=old)
    assert "Оспанов" not in texts
    assert await scalar(engine, "SELECT citizen_id FROM tickets WHERE id = :id", id=old) is None
    assert await scalar(engine, "SELECT citizen_id FROM tickets WHERE id = :id", id=recent) == person.id
    assert "Оспанов" in await scalar(engine, "SELECT string_agg(text, '|') FROM ticket_messages WHERE ticket_id = :id", id=recent)
    assert await scalar(engine, "SELECT due_at > now() + interval '23 hours' FROM timers WHERE kind = 'retention' AND done_at IS NULL")
    assert await scalar(engine, "SELECT subject ->> 'tickets' FROM audit_log WHERE action = 'retention'") == "1"
    # The person is still a user and sees the request that is left.
    mine = await person.tap(t("kk", "My requests"))
    assert f"№{recent}" in mine.text
