"""The operator's desk, finding requests: /find by number, phone, words, state and days, within the
operator's scope; and the citizen's other requests on every card."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from bot.views.callbacks import TicketAction
from tests.support.scenarios import fill_until_phone, taken_question, today_in_kazakhstan


async def close_with_rating(akmola, citizen_person, language: str, number: int, t, stars: int, operator_language: str = "en") -> None:
    await akmola.send(f"/ticket {number}")
    await akmola.press(t(operator_language, "✅ Close"))
    await akmola.send("Done")
    closed = await citizen_person.receive(f"№{number}")
    await citizen_person.press(f"{stars} ⭐", closed)
    await citizen_person.press(t(language, "No comment"))


async def newest_ticket(engine, person) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text("SELECT max(id) FROM tickets WHERE citizen_id = :c"), {"c": person.id})


async def test_find_by_number_phone_words_state_and_days_within_the_operators_scope(citizen, operator, engine, t):
    akmola = await operator("akmola", "en", "Nurlan")
    almaty = await operator("almaty", "kk", "Асель")
    national = await operator("national", "ru", "Марина")
    dmitry = await citizen("ru")
    first = await taken_question(dmitry, akmola, "ru", "en", t, "Где купить лекарства для бабушки со скидкой?")
    await close_with_rating(akmola, dmitry, "ru", first, t, 4)

    # A request for help with a phone, then a third request: its card shows the other two.
    await fill_until_phone(dmitry, t, "ru")
    await dmitry.share_contact("77011234567")
    await dmitry.press(t("ru", "✅ Send"))
    second = await newest_ticket(engine, dmitry)
    card = await akmola.receive(f"№{second}")
    assert t("en", "🗂 The citizen's other requests: {count}").format(count=1) in card.text
    assert f"/ticket_{first}" in card.text and t("en", "⚪️ closed") in card.text and "4 ⭐" in card.text

    today = today_in_kazakhstan()
    # Found by the number, the phone however typed, words of the conversation, the state, the days.
    for query, wanted in (
        (f"{first}", [first]),
        (f"№{second}", [second]),
        ("8 (701) 123-45-67", [second]),
        ("+7 701 123 45 67", [second]),
        ("ЛЕКАРСТВА бабушки", [first]),
        ("лекарства", [second, first]),  # the help form's need says "лекарства" too
        ("closed", [first]),
        ("new лекарства", [second]),
        (f"{today:%d.%m.%Y}", [second, first]),
        (f"{today - timedelta(days=9)} {today - timedelta(days=1)}", []),
    ):
        found = await akmola.send(f"/find {query}")
        numbers = [int(b["text"].lstrip("№")) for b in (found.last.buttons if found.sent else [])]
        assert numbers == wanted, (query, found.text)
    assert (await akmola.send("/find 99999")).text == t("en", "Nothing found among your front-office's requests.")

    # A tap opens the card.
    found = await akmola.send("/find лекарства")
    opened = await akmola.press(f"№{first}", found.last)
    assert f"№{first}" in opened.text and "Где купить лекарства" in opened.text

    # Another region's operator finds nothing of Akmola's, however asked; the national office finds all.
    for query in (f"{first}", "+77011234567", "лекарства", "closed"):
        told = await almaty.send(f"/find {query}")
        assert told.text == t("kk", "Nothing found among your front-office's requests."), query
        assert not told.last.buttons
    forged = await almaty.press_forged(almaty.last_bot_message(), TicketAction(action="open", ticket=first).pack())
    assert forged.answer["text"] == t("kk", "There is no such request among those of your front-office.")
    everywhere = await national.send("/find лекарства")
    assert [b["text"] for b in everywhere.last.buttons] == [f"№{second}", f"№{first}"]

    # Careless or hostile searches: nothing to search for is explained; LIKE's wildcards are words.
    usage = await akmola.send("/find")
    assert "/find closed" in usage.text
    assert (await akmola.send("/find %")).text == usage.text
    for wildcard in ("%%", "__", "%_%"):
        assert (await akmola.send(f"/find {wildcard}")).text == t("en", "Nothing found among your front-office's requests.")


async def test_the_card_lists_only_the_other_requests_the_operator_may_see(citizen, operator, engine, t):
    akmola = await operator("akmola", "en", "Nurlan")
    national = await operator("national", "en", "Marina")
    emma = await citizen("en")
    number = await taken_question(emma, akmola, "en", "en", t, "First question")
    await close_with_rating(akmola, emma, "en", number, t, 5)
    # Her earlier request was passed to the national office: Akmola no longer sees it.
    async with engine.connect() as conn:
        await conn.execute(text("UPDATE tickets SET office = 'national' WHERE id = :n"), {"n": number})
        await conn.commit()
    await emma.tap(t("en", "Ask an operator"))
    await emma.press(t("en", "🆕 Something new"))  # (closed lately: she is asked first)
    await emma.send("Second question")
    card = await akmola.receive("Second question")
    assert t("en", "🗂 The citizen's other requests: {count}").format(count=1).split(":")[0] not in card.text
    national_card = (await national.send(f"/ticket {await newest_ticket(engine, emma)}")).last
    assert f"/ticket_{number}" in national_card.text and "5 ⭐" in national_card.text


async def test_a_phone_said_in_the_conversation_and_states_in_the_operators_language_are_found(citizen, operator, engine, t):
    """A question's citizen who gives their number in a message, typed however, or as a shared
    contact, is found by it; and a Russian or Kazakh operator names the state in their language."""
    akmola_ru = await operator("akmola", "ru", "Марина")
    akmola_kk = await operator("akmola", "kk", "Асель")
    dmitry = await citizen("ru")
    typed = await taken_question(dmitry, akmola_ru, "ru", "ru", t, "Нужна помощь с переездом бабушки")
    await dmitry.send("Мой номер 8 (701) 555-12-34, звоните после обеда")
    await akmola_ru.receive("555-12-34")
    dmitry.pass_over_received()
    await close_with_rating(akmola_ru, dmitry, "ru", typed, t, 5, "ru")
    aigerim = await citizen("kk")
    shared = await taken_question(aigerim, akmola_kk, "kk", "kk", t, "Қарт көршіме көмек керек")
    await aigerim.share_contact("77017778899")
    await akmola_kk.receive("77017778899")

    for who, query, wanted in (
        (akmola_ru, "+7 701 555 12 34", [typed]),
        (akmola_ru, "87015551234", [typed]),
        (akmola_kk, "8 701 777 88 99", [shared]),
        (akmola_kk, "+77017778899", [shared]),
        (akmola_ru, "+7 701 000 00 00", []),
        (akmola_ru, "закрытые", [typed]),
        (akmola_ru, "в работе", [shared]),
        (akmola_ru, "новые", []),
        (akmola_kk, "жабылған", [typed]),
        (akmola_kk, "жұмыста", [shared]),
        (akmola_kk, "жаңа", []),
    ):
        found = await who.send(f"/find {query}")
        numbers = [int(b["text"].lstrip("№")) for b in (found.last.buttons if found.sent else [])]
        assert numbers == wanted, (query, found.text)
    # The help names the states as each operator writes them.
    assert "закрытые" in (await akmola_ru.send("/find")).text
    assert "жабылған" in (await akmola_kk.send("/find")).text
