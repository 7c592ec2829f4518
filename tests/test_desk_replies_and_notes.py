"""The operator's desk, working a request: saved replies sent with a tap in the citizen's language
(kept by coordinators with /replies), and internal notes that staff see and citizens never do."""

from __future__ import annotations

from sqlalchemy import text

from bot.views.callbacks import SavedReplyUse
from tests.support.scenarios import taken_question

THANKS_RU = "Спасибо, что обратились в волонтёрский фронт-офис! Мы рядом."
THANKS_KK = "Волонтерлік фронт-офиске хабарласқаныңызға рақмет! Біз жаныңыздамыз."
REGISTER = {
    "kk": "Qazvolunteer.kz сайтында тіркеліңіз: «Волонтер болу» батырмасын басыңыз.",
    "ru": "Зарегистрируйтесь на Qazvolunteer.kz: кнопка «Стать волонтёром».",
    "en": "Register at Qazvolunteer.kz: press “Become a volunteer”.",
}


async def reply_id(engine, office: str, name: str) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text("SELECT id FROM saved_replies WHERE office = :o AND name = :n"), {"o": office, "n": name})


async def saved_replies(engine) -> list[tuple]:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT office, name, texts FROM saved_replies ORDER BY office, name"))).all()


def citizen_texts(person) -> list[str]:
    return [m.text or m.caption or "" for m in person.api.chat(person.id) if m.from_bot]


async def test_saved_replies_are_kept_by_coordinators_and_go_out_in_the_citizens_language(citizen, operator, engine, t):
    akmola_coord = await operator("akmola", "en", "Akmola coordinator", coordinator=True)
    national_coord = await operator("national", "ru", "Сәуле", coordinator=True)
    akmola = await operator("akmola", "en", "Nurlan")

    # The region's own reply in two languages; the national one in all three.
    saved = await akmola_coord.send(f"/replies set thanks ru\n{THANKS_RU}")
    assert t("en", "✅ Saved. Operators can use it at once.") in saved.text
    await akmola_coord.send(f"/replies set thanks kk\n{THANKS_KK}")
    for language, words in REGISTER.items():
        await national_coord.send(f"/replies set register {language}\n{words}")
    listed = await akmola_coord.send("/replies")
    assert "thanks" in listed.text and "«English»" in listed.text, "the missing language is named"

    # A Russian-speaking citizen: one tap sends the Russian version, once.
    dmitry = await citizen("ru")
    number = await taken_question(dmitry, akmola, "ru", "en", t, "Как стать волонтёром?")
    card = (await akmola.send(f"/ticket {number}")).last
    choose = await akmola.press(t("en", "⚡ Saved replies"), card)
    assert [b["text"] for b in choose.last.buttons][:2] == ["thanks", "register"], "the office's own first, then national"
    ready = await akmola.press("thanks", choose.last)
    assert THANKS_RU in ready.text and "«Русский»" in ready.text
    sent = await akmola.press(t("en", "📨 Send"), ready.last)
    assert sent.answer["text"] == t("en", "✓ Sent to the citizen of request №{number}.").format(number=number)
    await dmitry.receive(THANKS_RU)
    thanks = await reply_id(engine, "akmola", "thanks")
    # A double tap: the second press left before the button went away with the edit.
    again = await akmola.api.press(
        akmola.id, ready.last.message_id, SavedReplyUse(action="send", ticket=number, reply=thanks).pack(), forged=True
    )
    await akmola.api.wait_for(lambda: again[0] in akmola.api.handled_updates)
    assert akmola.api.callback_answers[again[1]]["text"] == t("en", "Already sent.")
    assert sum(THANKS_RU in said for said in citizen_texts(dmitry)) == 1, "a second press sends nothing"

    # By its short name, edited before sending: the citizen gets the operator's version.
    typed = await akmola.send("/r register")
    assert REGISTER["ru"] in typed.text
    edit = await akmola.press(t("en", "✏️ Edit first"), typed.last)
    assert edit.sent[-1].text == REGISTER["ru"], "the text to copy, exactly as written"
    await akmola.send(REGISTER["ru"] + " Вам 16 лет: нужно согласие родителей.")
    await dmitry.receive("нужно согласие родителей")

    # An English-speaking citizen: the region's reply has no English version; it is said, and
    # nothing in another language reaches them.
    emma = await citizen("en")
    english = await taken_question(emma, akmola, "en", "en", t, "How do I help?")
    await akmola.send(f"/ticket {english}")
    await akmola.press(t("en", "💬 Answer this one"))
    missing = await akmola.send("/r thanks")
    assert "«English»" in missing.text and "«Русский»" in missing.text and "«Қазақша»" in missing.text
    assert [b["text"] for b in missing.last.buttons] == [
        t("en", "✏️ Start from {language}").format(language=name) for name in ("Қазақша", "Русский")
    ] + [t("en", "✖️ Cancel")]
    assert not any(THANKS_RU in said or THANKS_KK in said for said in citizen_texts(emma))
    forged_send = await akmola.press_forged(missing.last, SavedReplyUse(action="send", ticket=english, reply=thanks).pack())
    assert forged_send.answer["text"] == t("en", "This saved reply has changed since it was shown. Open the list again.")
    assert not any(THANKS_RU in said for said in citizen_texts(emma))
    await akmola.send("/r register")
    await akmola.press(t("en", "📨 Send"))
    await emma.receive(REGISTER["en"])

    unknown = await akmola.send("/r nosuch")
    assert unknown.text == t("en", "There is no saved reply “{name}”. /r lists those you can use.").format(name="nosuch")

    # The audit log says who changed which reply.
    audit = await national_coord.send("/audit")
    changed = t("ru", "changed the saved reply “{name}” of {office} ({language})")
    assert changed.format(name="register", office="national", language="kk") in audit.text
    assert changed.format(name="thanks", office="akmola", language="ru") in audit.text


async def test_replies_are_refused_to_whom_the_permission_table_refuses_and_bad_input_is_told(citizen, operator, engine, t):
    akmola_coord = await operator("akmola", "en", "Akmola coordinator", coordinator=True)
    almaty_coord = await operator("almaty", "kk", "Асель", coordinator=True)
    akmola = await operator("akmola", "en", "Nurlan")
    await akmola_coord.send("/replies set thanks ru\nСпасибо!")
    before = await saved_replies(engine)

    other = await almaty_coord.send("/replies akmola set thanks kk\nРақмет!")
    assert t("kk", "This belongs to another front-office: you can act only on your own front-office's requests, people, deeds and announcements.") in other.text
    role = await akmola.send("/replies set thanks kk\nРақмет!")
    assert t("en", "Your role does not allow this. Ask a coordinator of the national front-office.") in role.text
    for command, problem in (
        ("/replies set Thanks-Now ru\nСпасибо", "A short name is 1 to 32 lower-case letters, digits or “_”, for example: thanks, registration."),
        ("/replies set thanks de\nDanke", "The language is kk, ru or en."),
        ("/replies set thanks ru", "The reply's text is missing: write it on the lines after the command."),
        ("/replies set thanks ru\n" + "🙂" * 1501, "A saved reply is at most {limit} characters (an emoji counts as two).".replace("{limit}", "3000")),
        ("/replies delete nosuch", "There is no such saved reply (or no version of it in that language)."),
        ("/replies delete thanks en", "There is no such saved reply (or no version of it in that language)."),
        ("/replies nowhere", "There is no such front-office. Write the region as in /office, for example: almaty."),
    ):
        told = await akmola_coord.send(command)
        assert t("en", problem) in told.text, command
    assert await saved_replies(engine) == before, "nothing refused changed what was kept"

    # A reply of another region cannot be sent on this region's request, whatever the button says.
    await almaty_coord.send("/replies set almaty_only kk\nАлматы ғана")
    async with engine.connect() as conn:
        almaty_reply = await conn.scalar(text("SELECT id FROM saved_replies WHERE name = 'almaty_only'"))
    aigerim = await citizen("kk")
    number = await taken_question(aigerim, akmola, "kk", "en", t, "Сұрақ")
    forged = await akmola.press_forged(akmola.last_bot_message(), SavedReplyUse(action="show", ticket=number, reply=almaty_reply).pack())
    assert forged.answer["text"] == t("en", "This button is no longer active.")
    forged = await akmola.press_forged(akmola.last_bot_message(), SavedReplyUse(action="send", ticket=number, reply=almaty_reply).pack())
    assert not any("Алматы ғана" in said for said in citizen_texts(aigerim))

    # Deleting one version, then the reply.
    await akmola_coord.send("/replies set thanks kk\nРақмет!")
    one_gone = await akmola_coord.send("/replies delete thanks ru")
    assert "Рақмет!" in one_gone.text and "Спасибо!" not in one_gone.text
    await akmola_coord.send("/replies delete thanks")
    assert [row for row in await saved_replies(engine) if row.office == "akmola"] == []


async def test_internal_notes_reach_staff_and_never_the_citizen(citizen, operator, engine, t):
    akmola = await operator("akmola", "en", "Nurlan")
    coordinator = await operator("akmola", "ru", "Сәуле", coordinator=True)
    almaty = await operator("almaty", "en", "Asel")
    aigerim = await citizen("kk")
    number = await taken_question(aigerim, akmola, "kk", "en", t, "Қарт көршіме көмек керек")
    card = (await akmola.send(f"/ticket {number}")).last

    prompt = await akmola.press(t("en", "📝 Note"), card)
    assert t("en", "the citizen does not see it") in prompt.text
    empty = await akmola.send_sticker()
    assert t("en", "Please write the note as text, up to {limit} characters.").format(limit=1000) in empty.text
    long = await akmola.send("x" * 1001)
    assert t("en", "Please write the note as text, up to {limit} characters.").format(limit=1000) in long.text
    added = await akmola.send("Called her daughter: she will bring the medicine on Monday.")
    assert added.text == t("en", "📝 The note is added to request {number}. The citizen does not see it.").format(number=f"№{number}")

    # A coordinator's note on a request a colleague holds reaches that colleague.
    await coordinator.send(f"/note {number} Перезвоните ей в понедельник.")
    passed = await akmola.receive("Перезвоните ей в понедельник.")
    assert "Сәуле" in passed.text and f"№{number}" in passed.text
    # A reply to the note is not taken for an answer to the citizen.
    nowhere = await akmola.send("Okay, will do", reply_to=passed)
    assert t("en", "That message does not belong to a request") in nowhere.text

    # Another region's operator cannot leave one.
    refused = await almaty.send(f"/note {number} Hello from Almaty")
    assert refused.text == t("en", "There is no such request among those of your front-office.")

    history = await akmola.press(t("en", "📜 History"), card)
    assert "Called her daughter" in history.text and "Перезвоните ей" in history.text
    assert t("en", "📝 Internal note, {name}").format(name="Nurlan") in history.text
    assert t("en", "📝 Internal note, {name}").format(name="Сәуле") in history.text

    said_to_citizen = "\n".join(citizen_texts(aigerim))
    assert "Called her daughter" not in said_to_citizen and "Перезвоните" not in said_to_citizen and "Almaty" not in said_to_citizen
    async with engine.connect() as conn:
        notes = (await conn.execute(
            text("SELECT author_id, text FROM ticket_messages WHERE ticket_id = :n AND author = 'note' ORDER BY id"), {"n": number}
        )).all()
    assert [(row.author_id, row.text) for row in notes] == [
        (akmola.id, "Called her daughter: she will bring the medicine on Monday."),
        (coordinator.id, "Перезвоните ей в понедельник."),
    ]

    # Erased (anonymised), the request takes no more notes: nothing would erase them.
    await coordinator.send(f"/erase {number}")
    await coordinator.press(t("ru", "🗑 Yes, erase"))
    refused = await coordinator.send(f"/note {number} Ещё одна заметка")
    assert refused.text == t("ru", "Request №{number} is already closed.").format(number=number)
    async with engine.connect() as conn:
        left = await conn.scalar(text("SELECT count(*) FROM ticket_messages WHERE ticket_id = :n AND text IS NOT NULL"), {"n": number})
    assert left == 0


async def test_a_note_written_as_a_reply_to_the_requests_card_stays_a_note(citizen, operator, engine, t, settled):
    akmola = await operator("akmola", "en", "Nurlan")
    aigerim = await citizen("kk")
    number = await taken_question(aigerim, akmola, "kk", "en", t, "Сұрағым бар")
    card = (await akmola.send(f"/ticket {number}")).last
    await akmola.press(t("en", "📝 Note"), card)
    added = await akmola.send("She is deaf: write, do not call.", reply_to=card)
    assert added.text == t("en", "📝 The note is added to request {number}. The citizen does not see it.").format(number=f"№{number}")
    await akmola.press(t("en", "↩️ Hand back to the queue"), card)
    await akmola.send("Calls only after 18:00.", reply_to=card)
    await settled()
    said_to_citizen = "\n".join(citizen_texts(aigerim))
    assert "deaf" not in said_to_citizen and "18:00" not in said_to_citizen
    # With a current request, "/note 3 bags delivered" is a note on it, not on request №3.
    other = await taken_question(await citizen("ru"), akmola, "ru", "en", t, "Другой вопрос")
    await akmola.send("/note 3 bags delivered")
    async with engine.connect() as conn:
        where = await conn.scalar(text("SELECT ticket_id FROM ticket_messages WHERE text = '3 bags delivered'"))
    assert where == other
    assert "№" in (await akmola.send("/note ² x")).text  # not a number: the usage, not an error


async def test_a_saved_reply_changed_after_it_was_shown_is_not_sent_unread(citizen, operator, engine, t, settled):
    coordinator = await operator("akmola", "en", "Saule", coordinator=True)
    akmola = await operator("akmola", "en", "Nurlan")
    await coordinator.send("/replies set hours ru\nМы работаем с 9 до 18.")
    dmitry = await citizen("ru")
    await taken_question(dmitry, akmola, "ru", "en", t, "Когда вы работаете?")
    ready = await akmola.send("/r hours")
    await coordinator.send("/replies set hours ru\nМы работаем с 10 до 19, в субботу до 14.")
    refused = await akmola.press(t("en", "📨 Send"), ready.last)
    assert refused.answer["text"] == t("en", "This saved reply has changed since it was shown. Open the list again.")
    await settled()
    assert not any("с 9 до 18" in said or "с 10 до 19" in said for said in citizen_texts(dmitry))
    again = await akmola.send("/r hours")
    await akmola.press(t("en", "📨 Send"), again.last)
    await dmitry.receive("с 10 до 19")
    # Three long versions still fit the coordinator's screen (each shown cut), and are all kept.
    for language in ("kk", "ru", "en"):
        saved = await coordinator.send(f"/replies set long {language}\n" + "ж" * 2900)
        assert "✅" in saved.text
    async with engine.connect() as conn:
        texts = await conn.scalar(text("SELECT texts FROM saved_replies WHERE name = 'long'"))
    assert sorted(texts) == ["en", "kk", "ru"] and all(len(v) == 2900 for v in texts.values())
