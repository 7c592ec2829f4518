"""The operator's desk, seeing the office: coordinators are alerted when nobody on duty can take a
new request, and again while it waits."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from bot.views.callbacks import DeskView
from tests.support.database import ticket_row
from tests.support.scenarios import open_question, taken_question


async def test_nobody_on_duty_alerts_the_coordinators_at_once_and_again_until_someone_comes(
    bot, citizen, operator, engine, t, settled
):
    bot.settings = bot.settings.model_copy(update={"ticket_nobody_on_duty_repeat_minutes": 0.03})
    await bot.restart()
    akmola_coord = await operator("akmola", "ru", "Сәуле", coordinator=True)
    national_coord = await operator("national", "en", "Marina", coordinator=True)
    almaty_coord = await operator("almaty", "en", "Asel", coordinator=True)
    for person in (akmola_coord, national_coord, almaty_coord):
        await person.send("/duty")  # everyone off duty: nobody can take a request
    aigerim = await citizen("kk")
    number = await open_question(aigerim, "kk", "Кім жауап береді?", t)

    alert = await akmola_coord.receive(f"№{number}")
    assert alert.text.startswith("🚨") and f"/ticket_{number}" in alert.text
    assert (await national_coord.receive(f"№{number}")).text.startswith("🚨")
    assert (await akmola_coord.receive(f"№{number}")).text.startswith("🚨"), "and again while it waits"
    assert not [m for m in almaty_coord.received() if f"№{number}" in (m.text or "")], "another region is not disturbed"

    # The Akmola coordinator comes on duty: the next round gives them the card instead of an alert.
    await akmola_coord.send("/duty")
    card = await akmola_coord.api.wait_for(
        lambda: next((m for m in akmola_coord.api.chat(akmola_coord.id)
                      if m.from_bot and f"№{number}" in (m.text or "") and m.buttons), None)
    )
    assert t("ru", "✋ Take") in [b["text"] for b in card.buttons]
    await asyncio.sleep(0.5)  # a round and more: no alert after the card
    await settled()
    after_card = [m for m in akmola_coord.api.chat(akmola_coord.id) if m.message_id > card.message_id and (m.text or "").startswith("🚨")]
    assert after_card == []
    async with engine.connect() as conn:
        pending = await conn.scalar(
            text("SELECT count(*) FROM timers WHERE kind = 'ticket_nobody_on_duty' AND done_at IS NULL")
        )
    assert pending == 0


async def test_the_desk_shows_each_ones_load_and_a_coordinator_gives_a_request_to_someone_else(citizen, operator, engine, t, settled):
    coordinator = await operator("akmola", "en", "Saule", coordinator=True)
    nurlan, dana = await operator("akmola", "en", "Nurlan"), await operator("akmola", "en", "Dana")
    asel = await operator("almaty", "en", "Asel")
    almaty_coord = await operator("almaty", "en", "Almaty coordinator", coordinator=True)
    aigerim, dmitry = await citizen("kk"), await citizen("ru")
    first = await taken_question(aigerim, nurlan, "kk", "en", t, "Бірінші сұрақ")
    await aigerim.send("Жауап күтіп отырмын")
    await nurlan.receive("Жауап күтіп отырмын")
    second = await open_question(dmitry, "ru", "Второй вопрос", t)
    await settled()

    desk = await coordinator.send("/desk")
    assert t("en", "{office}: {count}, the oldest waits").format(office="Akmola Region", count=1) in desk.text
    assert f"/ticket_{second}" in desk.text
    assert t("en", "{duty} {name} ({office}): in work {held}").format(duty="🟢", name="Nurlan", office="Akmola Region", held=1) in desk.text
    assert t("en", "a citizen waits for an answer").split("{")[0] in desk.text
    assert t("en", "{duty} {name} ({office}): in work {held}").format(duty="🟢", name="Dana", office="Akmola Region", held=0) in desk.text
    assert "Asel" not in desk.text, "a regional coordinator sees their own office"

    held = await coordinator.press("👤 Nurlan: 1", desk.last)
    picked = await coordinator.press(f"№{first}", held.edited[0])
    people = [b["text"] for b in picked.edited[0].buttons]
    assert people[0] == "Dana (Akmola Region)" and not any(p.startswith("Nurlan") or p.startswith("Asel") for p in people)
    given = await coordinator.press("Dana (Akmola Region)", picked.edited[0])
    assert given.edited[0].text == t("en", "✅ Request №{number} is now with {name}: they have its card and conversation.").format(number=first, name="Dana")
    await dana.receive(t("en", "👤 {name} gave you request №{number}: its card and conversation follow.").format(name="Saule", number=first))
    await dana.receive("Жауап күтіп отырмын")
    assert (await ticket_row(engine, first))["operator_id"] == dana.id
    await dana.send("Сәлеметсіз бе! Көмектесемін.")
    await aigerim.receive("Көмектесемін")
    history = await dana.send(f"/ticket {first}")
    shown = await dana.press(t("en", "📜 History"), history.last)
    assert t("en", "{name} gave it to {operator}").format(name="Saule", operator="Dana") in shown.text

    # A waiting request given to an operator is taken: the citizen is told.
    back = await coordinator.send("/desk")
    waiting = await coordinator.press(t("en", "🟡 Waiting: {count}").format(count=1), back.last)
    picked = await coordinator.press(f"№{second}", waiting.edited[0])
    await coordinator.press("Nurlan (Akmola Region)", picked.edited[0])
    await dmitry.receive(f"№{second}")
    await settled()  # its card to Nurlan goes through the outbox: out before his /desk below
    assert (await ticket_row(engine, second))["status"] == "taken"

    # Refused: another office's coordinator, an operator, a target who cannot take it.
    forged = DeskView(action="to", ticket=first, operator=asel.id).pack()
    before = await ticket_row(engine, first)
    almaty_desk = await almaty_coord.send("/desk")
    assert f"№{first}" not in almaty_desk.text and "Nurlan" not in almaty_desk.text
    told = await almaty_coord.press_forged(almaty_desk.last, forged)
    no_such = await almaty_coord.press_forged(almaty_desk.last, DeskView(action="pick", ticket=first + 1000).pack())
    assert told.answer["text"] == no_such.answer["text"] == t("en", "There is no such request among those of your front-office."), \
        "another office's number reads as one that does not exist"
    told = await coordinator.press_forged(back.last, forged)
    assert told.answer["text"] == t("en", "That operator cannot take request №{number} now: they are off duty, or of another front-office.").format(number=first)
    assert (await nurlan.send("/desk")).text == t("en", "Your role does not allow this. Ask a coordinator of the national front-office.")
    assert await ticket_row(engine, first) == before


async def test_out_of_hours_nobody_on_duty_is_expected_and_the_first_alert_waits_for_the_opening(bot, citizen, operator, engine, content, t, settled):
    from datetime import UTC, datetime, time, timedelta

    from bot.app import Content
    from bot.services.directory import Directory, ServiceHours

    today = datetime.now(UTC).astimezone(ServiceHours(frozenset({1}), time(9), time(18), 5).zone).isoweekday()
    closed_today = Directory.load()
    closed_today.service_hours = ServiceHours(frozenset(set(range(1, 8)) - {today}), time(9), time(18), 5)
    bot.content = Content(kb=content.kb, directory=closed_today)
    await bot.restart()
    coordinator = await operator("akmola", "en", "Saule", coordinator=True)
    await coordinator.send("/duty")  # off duty: nobody can take a request
    emma = await citizen("en")
    number = await open_question(emma, "en", "Anyone there at night?", t)
    await settled()
    assert not [m for m in coordinator.received() if f"№{number}" in (m.text or "")], "no alert while the office is closed"
    async with engine.connect() as conn:
        due = await conn.scalar(text(
            "SELECT due_at FROM timers WHERE kind = 'ticket_nobody_on_duty' AND key = :k AND done_at IS NULL"
        ), {"k": str(number)})
    opens = closed_today.service_hours.zone
    at = (due + timedelta(seconds=5)).astimezone(opens).time().replace(second=0, microsecond=0)
    assert at == time(9), "the first alert is due when the office opens"
