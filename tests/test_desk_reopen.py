"""A citizen who writes to an operator within days of a close is asked whether it is about that
request: reopened, it goes back to the operator who had it (if on duty) or to the office, with its
history; something new is a new request."""

from __future__ import annotations

from sqlalchemy import text

from bot.views.callbacks import RequestAction
from tests.support.database import ticket_row
from tests.support.scenarios import taken_question


async def close(akmola, citizen_person, number: int, t, resolution: str = "Рассказали о регистрации") -> None:
    await akmola.send(f"/ticket {number}")
    await akmola.press(t("en", "✅ Close"))
    await akmola.send(resolution)
    await citizen_person.receive(resolution)


async def test_a_request_closed_lately_is_reopened_with_its_operator_and_history(citizen, operator, engine, t):
    akmola = await operator("akmola", "en", "Nurlan")
    dmitry = await citizen("ru")
    number = await taken_question(dmitry, akmola, "ru", "en", t, "Как стать волонтёром?")
    await close(akmola, dmitry, number, t)

    asked = await dmitry.tap(t("ru", "Ask an operator"))
    assert asked.text.startswith(t("ru", "Your request {number} ({category}) was closed on {time}. Is this about it, or something new?").split("{number}")[0])
    assert f"№{number}" in asked.text
    typed = await dmitry.send("А где подписать согласие?")
    assert f"№{number}" in typed.text, "typed instead of choosing: asked again"
    await dmitry.press(t("ru", "🔁 About request {number}").format(number=f"№{number}"))
    await dmitry.send("А где подписать согласие родителей?")
    told = await dmitry.receive("🔁")
    assert told.text == t("ru", "🔁 Your request {number} is open again, and your message is with the operator who answered it before.").format(number=f"№{number}")

    await akmola.receive(t("en", "🔁 The citizen has reopened request {number}: its card and their new message follow.").format(number=f"№{number}"))
    await akmola.receive(f"№{number}")  # the card
    await akmola.receive("согласие родителей")
    row = await ticket_row(engine, number)
    assert row["status"] == "taken" and row["operator_id"] == akmola.id and row["closed_at"] is None
    await akmola.send("В офисе, с паспортом.")
    await dmitry.receive("с паспортом")
    history = await akmola.press(t("en", "📜 History"), (await akmola.send(f"/ticket {number}")).last)
    assert t("en", "reopened by the citizen") in history.text and "Рассказали о регистрации" in history.text
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM tickets WHERE citizen_id = :c"), {"c": dmitry.id}) == 1


async def test_without_its_operator_on_duty_a_reopened_request_goes_to_the_office_and_something_new_is_new(citizen, operator, engine, t):
    nurlan = await operator("akmola", "en", "Nurlan")
    dana = await operator("akmola", "en", "Dana")
    aigerim = await citizen("kk")
    number = await taken_question(aigerim, nurlan, "kk", "en", t, "Көмек керек")
    await close(nurlan, aigerim, number, t)
    await nurlan.send("/duty")  # off duty, holding nothing

    await aigerim.tap(t("kk", "Ask an operator"))
    await aigerim.press(t("kk", "🔁 About request {number}").format(number=f"№{number}"))
    await aigerim.send("Тағы бір сұрақ бар")
    await aigerim.receive("🔁")
    await dana.receive(t("en", "🔁 The citizen has reopened request {number}: its card follows, and their new message comes when you take it.").format(number=f"№{number}"))
    card = await dana.receive(f"№{number}")
    assert t("en", "✋ Take") in [b["text"] for b in card.buttons]
    assert (await ticket_row(engine, number))["status"] == "new"
    await dana.press(t("en", "✋ Take"), card)
    await dana.receive("Тағы бір сұрақ бар")  # the conversation, the new message with it

    # Closed again; this time the citizen writes about something new.
    await close(dana, aigerim, number, t, "Жауап берілді")
    await aigerim.tap(t("kk", "Ask an operator"))
    await aigerim.press(t("kk", "🆕 Something new"))
    await aigerim.send("Марафонға қалай қатысамын?")
    confirmation = await aigerim.receive("✅")
    assert f"№{number}" not in confirmation.text
    assert (await ticket_row(engine, number))["status"] == "closed"


async def test_only_a_request_closed_within_the_days_is_offered_and_forged_choices_open_nothing_else(citizen, operator, engine, t):
    akmola = await operator("akmola", "en", "Nurlan")
    emma, other = await citizen("en"), await citizen("en")
    number = await taken_question(emma, akmola, "en", "en", t, "First question")
    await close(akmola, emma, number, t)
    someone_elses = await taken_question(other, akmola, "en", "en", t, "Other question")
    await close(akmola, other, someone_elses, t)

    # A forged choice naming someone else's request opens a new one of her own instead.
    asked = await emma.tap(t("en", "Ask an operator"))
    forged = await emma.press_forged(asked.last, RequestAction(action="about", ticket=someone_elses).pack())
    assert t("en", "Request №{number} can no longer be reopened: your message will start a new request.").format(number=someone_elses) in forged.text
    await emma.send("Second question")
    await emma.receive("№")
    assert (await ticket_row(engine, someone_elses))["status"] == "closed" and (await ticket_row(engine, number))["status"] == "closed"
    stale = await emma.press_forged(asked.last, RequestAction(action="about", ticket=number).pack())
    assert stale.answer["text"] == t("en", "This button is no longer active.")

    # Eight days after its close, nobody is asked.
    async with engine.connect() as conn:
        await conn.execute(text("UPDATE tickets SET closed_at = now() - interval '8 days' WHERE id = :n"), {"n": someone_elses})
        await conn.commit()
    prompt = await other.tap(t("en", "Ask an operator"))
    assert prompt.text.startswith(t("en", "💬 Write your question for an operator").split(" for")[0])


async def test_the_rating_is_kept_on_the_history_and_a_request_a_block_closed_is_not_offered(citizen, operator, engine, t):
    akmola = await operator("akmola", "en", "Nurlan")
    coordinator = await operator("akmola", "en", "Saule", coordinator=True)
    dmitry = await citizen("ru")
    first = await taken_question(dmitry, akmola, "ru", "en", t, "Первый вопрос")
    await close(akmola, dmitry, first, t)
    await dmitry.press("4 ⭐")
    await dmitry.send("Долго ждал ответа")
    await dmitry.tap(t("ru", "Ask an operator"))
    await dmitry.press(t("ru", "🔁 About request {number}").format(number=f"№{first}"))
    await dmitry.send("И ещё вопрос")
    await akmola.receive("И ещё вопрос")
    history = await akmola.press(t("en", "📜 History"), (await akmola.send(f"/ticket {first}")).last)
    assert "4 ⭐: Долго ждал ответа" in history.text

    # A block closes it; unblocked later, the citizen is not offered to reopen it, nor one before it.
    await coordinator.send(f"/block {first} Оскорбления")
    await coordinator.send(f"/unblock {first}")
    # The unblock is told through the outbox: read it first, or it may land among the tap's answers.
    await dmitry.receive(t("ru", "✅ The front-office receives your messages again."))
    prompt = await dmitry.tap(t("ru", "Ask an operator"))
    assert prompt.last.text.startswith("💬"), "the question itself: nothing to reopen"
    assert not any(b["text"].startswith("🔁") for b in prompt.last.buttons)


async def test_a_reply_to_the_operators_answer_after_the_close_reopens_the_request(citizen, operator, engine, t, settled):
    """The citizen answers the operator's message with Telegram's Reply after the request was closed:
    that is about the request, so it opens again with what they wrote, not a knowledge-base search
    (and a reply to it once the reopening window is over, or to another message, is not)."""
    akmola = await operator("akmola", "en", "Nurlan")
    dmitry = await citizen("ru")
    number = await taken_question(dmitry, akmola, "ru", "en", t, "Как стать волонтёром?")
    await akmola.send("Зарегистрируйтесь на qazvolunteer.kz")
    answer = await dmitry.receive("qazvolunteer.kz")
    await close(akmola, dmitry, number, t)

    replied = await dmitry.send("Спасибо! А если мне 16 лет?", reply_to=answer)
    assert not [m for m in replied.sent if t("ru", "I did not find an answer to that. Try other words, or choose a topic:") in (m.text or "")]
    told = await dmitry.receive("🔁")
    assert told.text == t("ru", "🔁 Your request {number} is open again, and your message is with the operator who answered it before.").format(number=f"№{number}")
    await akmola.receive("А если мне 16 лет?")
    row = await ticket_row(engine, number)
    assert row["status"] == "taken" and row["operator_id"] == akmola.id

    # Closed again: a reply to the notice of the close is about it too.
    await akmola.send(f"/ticket {number}")
    await akmola.press(t("en", "✅ Close"))
    await akmola.send("С 16 лет можно, с согласием родителей")
    closed_notice = await dmitry.receive("✅")
    await dmitry.send("Где взять бланк согласия?", reply_to=closed_notice)
    await dmitry.receive("🔁")
    await akmola.receive("бланк согласия")
    assert (await ticket_row(engine, number))["status"] == "taken"

    # Closed again, and the window for reopening is over: a reply is an ordinary question again.
    await close(akmola, dmitry, number, t, "Ответили")
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE tickets SET closed_at = now() - interval '30 days' WHERE id = :n"), {"n": number})
    late = await dmitry.send("Как стать волонтёром?", reply_to=answer)
    assert late.sent and "№" not in late.text
    assert (await ticket_row(engine, number))["status"] == "closed"
    await settled()
