""""Need volunteers' help": the form, its summary, its bad inputs, and the ticket it becomes."""

from __future__ import annotations


import pytest
from tests.support.database import tickets_of
from tests.support.scenarios import NEED, PLACE, fill_until_phone


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_a_request_for_help_with_a_shared_phone_reaches_the_regions_operator(citizen, operator, engine, t, language):
    person = await citizen(language)
    akmola = await operator("akmola", "ru")
    await fill_until_phone(person, t, language)
    assert any(b.get("request_contact") for row in person.api.reply_keyboard(person.id)["keyboard"] for b in row)

    summary = (await person.share_contact("77011234567")).last
    assert NEED in summary.text and PLACE in summary.text and "+77011234567" in summary.text
    assert t(language, "An older or disabled person") in summary.text
    assert await tickets_of(engine, person.id) == [], "nothing is stored before the person sends it"

    sent = await person.press(t(language, "✅ Send"), summary)
    assert "💬 " + t(language, "Ask an operator") in person.reply_labels, "the menu is back"
    confirmation = await person.receive("№")
    [row] = await tickets_of(engine, person.id)
    assert f"№{row['id']}" in confirmation.text and sent.sent
    assert row["kind"] == "help" and row["category"] == "elderly" and row["phone"] == "+77011234567"
    assert row["details"] == {"need": NEED, "place": PLACE, "when": t(language, "As soon as possible")}

    card = await akmola.receive(f"№{row['id']}")
    assert NEED in card.text and PLACE in card.text and "+77011234567" in card.text
    assert t("ru", "An older or disabled person") in card.text


async def test_bad_inputs_in_the_help_form_are_answered_and_nothing_is_lost(citizen, engine, t, stored):
    person = await citizen("ru")
    await person.tap(t("ru", "Need volunteers' help"))
    sticker = await person.send_sticker()
    assert t("ru", "Please choose the kind of help with the buttons.") in sticker.text
    await person.press(t("ru", "A family in need"))

    empty = await person.send("   ")
    assert t("ru", "Please describe it in a few words.") in empty.text
    huge = await person.send("а" * 10_000)
    assert t("ru", "That is too long: up to {limit} characters, please.").format(limit=1000) in huge.text
    photo = await person.send_photo()
    assert t("ru", "Please answer in words.") in photo.text
    await person.send(NEED)

    # A second form in the middle of the first carries on with the first.
    again = await person.tap(t("ru", "Need volunteers' help"))
    assert t("ru", "You are already filling in a request for help; let us continue where you stopped.") in again.text
    state, data = await stored.fsm(person.id)
    assert state == "HelpForm:place" and data["need"] == NEED and data["category"] == "family"
    await person.send(PLACE)
    await person.send("Завтра утром")

    for wrong in ("12345", "+7 916 123 45 67", "телефон", "+7 701 123 45 67 89 00 11 22 33 44 55 66 77 88"):
        refused = await person.send(wrong)
        assert t("ru", "That does not look like a Kazakhstan phone number. Type it as +7 7XX XXX XX XX, or press the button below.") in refused.text
    someone_else = await person.share_contact("77017654321", own=False)
    assert t("ru", "Please share your own number with the button below, or type it.") in someone_else.text
    summary = (await person.send("8 701 123 45 67")).last
    assert "+77011234567" in summary.text

    # Edit a field from the summary: only that field is asked again.
    await person.press(t("ru", "✏️ Edit"), summary)
    await person.press(t("ru", "Where"))
    summary = (await person.send("Кокшетау, ул. Ауэзова 3")).last
    assert "Ауэзова 3" in summary.text and NEED in summary.text and "Завтра утром" in summary.text
    await person.press(t("ru", "✅ Send"), summary)
    [row] = await tickets_of(engine, person.id)
    assert row["details"]["place"] == "Кокшетау, ул. Ауэзова 3" and row["phone"] == "+77011234567"

    # The summary's buttons are gone; a press that was already on its way does nothing.
    assert summary.buttons == []
    twice = await person.press_forged(summary, "hf:send:")
    assert twice.answer["text"] == t("ru", "This button is no longer active.")
    assert len(await tickets_of(engine, person.id)) == 1


async def test_one_open_request_at_a_time_and_cancel_sends_nothing(citizen, engine, t, settled):
    person = await citizen("en")
    await fill_until_phone(person, t, "en")
    cancelled = await person.press("Cancel")
    assert "cancelled" in cancelled.text
    assert await tickets_of(engine, person.id) == []

    await person.tap("Ask an operator")
    await person.send("Where is the nearest front-office?")
    number = (await tickets_of(engine, person.id))[0]["id"]
    second = await person.tap("Need volunteers' help")
    assert f"№{number} is still open" in second.text
    ask_again = await person.tap("Ask an operator")
    assert f"№{number} is still open" in ask_again.text
    await settled()
    assert len(await tickets_of(engine, person.id)) == 1
