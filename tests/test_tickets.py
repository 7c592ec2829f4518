"""Requests that go to a person: a citizen asks an operator, the region's operators get a card, one
takes it, they talk through the bot both ways, the operator closes it and the citizen rates it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from tests import people as people_module

AKMOLA = {"kk": "Ақмола облысы", "ru": "Акмолинская область", "en": "Akmola Region"}


async def ticket_row(engine, ticket_id: int) -> dict:
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM tickets WHERE id = :id"), {"id": ticket_id})).mappings().one()
    return dict(row)


async def tickets_count(engine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text("SELECT count(*) FROM tickets"))


async def open_question(citizen: people_module.Person, language: str, question: str, t) -> int:
    """The citizen asks an operator; returns the ticket's number from the bot's confirmation."""
    prompt = await citizen.tap(t(language, "Ask an operator"))
    assert prompt.last.buttons, "the prompt offers a way out"
    await citizen.send(question)
    confirmation = await citizen.receive("№")
    number = int(confirmation.text.split("№", 1)[1].split()[0])
    return number


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_the_full_life_of_a_question_in_each_language(citizen, operator, engine, t, language):
    aigerim = await citizen(language)
    akmola = await operator("akmola", "ru", "Нұрлан")
    almaty = await operator("almaty", "kk", "Асель")

    number = await open_question(aigerim, language, "Как стать волонтёром, если мне 16 лет?", t)
    registered = aigerim.api.chat(aigerim.id)[-1].text
    assert f"№{number}" in registered
    assert t(language, "Ask an operator") not in registered  # a confirmation, not the menu again

    card = await akmola.receive(f"№{number}")
    assert "Как стать волонтёром, если мне 16 лет?" in card.text
    assert [b["text"] for b in card.buttons] == [t("ru", "✋ Take"), t("ru", "↪️ Transfer")]
    await asyncio.sleep(0.3)
    assert almaty.received() == [], "another region's operators get nothing"

    taken = await akmola.press(t("ru", "✋ Take"), card)
    assert t("ru", "🟢 Yours: reply to any message of this request to answer the citizen.") in taken.edited[0].text
    await aigerim.receive(f"№{number}")  # an operator took it
    relayed = await akmola.receive("Как стать волонтёром")
    assert f"№{number}" in relayed.text

    await akmola.send("Здравствуйте! С 16 лет можно, с согласия родителей.", reply_to=relayed)
    answer = await aigerim.receive("С 16 лет можно")
    signature = t(language, "{region}: regional volunteer front-office").format(region=AKMOLA[language])
    assert answer.text.endswith(f"— {signature}")
    assert "Нұрлан" not in answer.text, "citizens never see the operator's own name"

    added = await aigerim.send("Спасибо! А где зарегистрироваться?")
    assert f"№{number}" in added.text
    follow_up = await akmola.receive("А где зарегистрироваться?")
    assert follow_up.text.startswith(f"💬 №{number}")

    await aigerim.send_photo(caption="Вот мой документ")
    photo = await akmola.receive("Вот мой документ")
    assert photo.photo and f"№{number}" in photo.caption

    # Writing without replying goes to the current ticket (the one just taken and answered).
    await akmola.send("На Qazvolunteer.kz.")
    await aigerim.receive("На Qazvolunteer.kz.")

    await akmola.press(t("ru", "✅ Close"), card)
    await akmola.send("Рассказали о регистрации на Qazvolunteer.kz")
    closed = await aigerim.receive("Qazvolunteer.kz")
    assert f"№{number}" in closed.text
    assert len(closed.buttons) == 5
    await aigerim.press("5 ⭐", closed)
    await aigerim.send("Быстро и понятно")

    row = await ticket_row(engine, number)
    assert row["status"] == "closed" and row["closed_by"] == "operator"
    assert row["rating"] == 5 and row["rating_comment"] == "Быстро и понятно"
    assert row["resolution"] == "Рассказали о регистрации на Qazvolunteer.kz"
    assert row["language"] == language and row["region"] == "akmola"
    assert row["first_answer_at"] is not None
