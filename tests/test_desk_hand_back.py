"""The operator's desk, letting go of a request: ↩️ Hand back to the queue with a note, and going
off duty with requests in hand (keep them, or hand them back)."""

from __future__ import annotations

from sqlalchemy import text

from bot.views.callbacks import DutyChoice, TicketAction
from tests.support.database import ticket_row
from tests.support.scenarios import taken_question


async def on_duty(engine, person) -> bool:
    async with engine.connect() as conn:
        return await conn.scalar(text("SELECT on_duty FROM operators WHERE telegram_id = :i"), {"i": person.id})


async def test_a_request_handed_back_with_a_note_goes_to_the_colleagues_on_duty(citizen, operator, engine, t, settled):
    nurlan = await operator("akmola", "en", "Nurlan")
    dana = await operator("akmola", "kk", "Дана")
    dmitry = await citizen("ru")
    number = await taken_question(dmitry, nurlan, "ru", "en", t, "Нужна помощь с продуктами")
    dana.received()  # (Dana's card of the new request came before Nurlan took it)
    await dana.receive(f"№{number}")
    card = (await nurlan.send(f"/ticket {number}")).last

    # Called off first: nothing changes.
    await nurlan.press(t("en", "↩️ Hand back to the queue"), card)
    await nurlan.press(t("en", "✖️ Cancel"))
    assert (await ticket_row(engine, number))["operator_id"] == nurlan.id

    prompt = await nurlan.press(t("en", "↩️ Hand back to the queue"), card)
    assert t("en", "Write a note for whoever takes it") in prompt.text
    too_long = await nurlan.send("x" * 501)
    assert t("en", "Please write the note as text, up to {limit} characters.").format(limit=500) in too_long.text
    before = nurlan.api.chat(nurlan.id)[-1].message_id
    done = await nurlan.send("Called twice, no answer; she needs groceries on Friday.")
    assert done.text == t("en", "↩️ Request {number} is back in the queue of {office}.").format(
        number=f"№{number}", office="Akmola Region"
    )
    row = await ticket_row(engine, number)
    assert row["status"] == "new" and row["operator_id"] is None

    # Dana gets a new card; Nurlan's own card shows it waiting, and he gets no new one.
    fresh = await dana.receive(f"№{number}")
    assert [b["text"] for b in fresh.buttons] == [t("kk", "✋ Take"), t("kk", "↪️ Transfer")]
    await nurlan.api.wait_for(lambda: t("en", "🟡 Waiting for an operator") in nurlan.api.message(nurlan.id, card.message_id).text)
    await settled()
    take = t("en", "✋ Take")
    assert not [m for m in nurlan.api.chat(nurlan.id) if m.message_id > before and any(b["text"] == take for b in m.buttons)]

    # His plain messages no longer reach the citizen.
    await nurlan.send("Are you there?")
    assert not any("Are you there?" in (m.text or "") for m in dmitry.api.chat(dmitry.id))

    await dana.press(t("kk", "✋ Take"), fresh)
    history = await dana.press(t("kk", "📜 History"), fresh)
    assert t("kk", "handed back to the queue by {name}").format(name="Nurlan") + ": Called twice" in history.text
    refused = await nurlan.press_forged(card, TicketAction(action="hand_back", ticket=number).pack())
    assert refused.answer["text"] == t("en", "Request №{number} has already been taken by {name}.").format(number=number, name="Дана")


async def test_going_off_duty_with_requests_in_hand_asks_whether_to_keep_them(citizen, operator, engine, t):
    nurlan = await operator("akmola", "en", "Nurlan")
    dana = await operator("akmola", "en", "Dana")
    aigerim, dmitry = await citizen("kk"), await citizen("ru")
    first = await taken_question(aigerim, nurlan, "kk", "en", t, "Бірінші сұрақ")
    second = await taken_question(dmitry, nurlan, "ru", "en", t, "Второй вопрос")
    dana.received()

    asked = await nurlan.send("/duty")
    assert f"№{first}, №{second}" in asked.text and await on_duty(engine, nurlan), "still on duty until they choose"
    handed = await nurlan.press(t("en", "↩️ Hand them back"))
    assert t("en", "Handed back to the queue: {numbers}.").format(numbers=f"№{first}, №{second}") in handed.edited[0].text
    assert not await on_duty(engine, nurlan)
    for number in (first, second):
        assert (await ticket_row(engine, number))["status"] == "new"
        await dana.receive(f"№{number}")
    again = await nurlan.press_forged(asked.last, DutyChoice(hand_back=True).pack())
    assert again.answer["text"] == t("en", "This button is no longer active.")

    # Dana takes one, then goes off duty keeping it: the citizen's messages still reach her.
    # (The cards of both arrive through the outbox, in either order, and may come while /ticket is
    # answered: the one to press is the one showing the first request.)
    shown = next(m for m in reversed((await dana.send(f"/ticket {first}")).sent) if f"№{first} " in (m.text or ""))
    await dana.press(t("en", "✋ Take"), shown)
    history = await dana.press(t("en", "📜 History"), shown)
    assert t("en", "back to the queue: {name} went off duty").format(name="Nurlan") in history.text
    await dana.send("/duty")
    kept = await dana.press(t("en", "🤲 Keep them"))  # (the question, wherever outbox messages put it)
    # (The card's own refresh, after the take, may be among the edits.)
    assert any(t("en", "The requests stay yours: /my lists them.") in m.text for m in kept.edited)
    assert not await on_duty(engine, dana) and (await ticket_row(engine, first))["operator_id"] == dana.id
    await aigerim.send("Сәлеметсіз бе, тағы бір сұрақ")
    await dana.receive("тағы бір сұрақ")

    # With nothing in hand, /duty just switches.
    back = await nurlan.send("/duty")
    assert back.text.startswith(t("en", "You are on duty ({office}). Send /duty to go off duty.").format(office="Akmola Region"))
