"""Albums and edited messages, as Telegram delivers them: an album is one message per photo (one
update each, sharing a `media_group_id`), and an edit is an `edited_message` with the whole
message as it now reads. Every photo of an album reaches whoever should have it, and the album is
answered once; an edit is never mistaken for a new message, and the person is told it went nowhere."""

from __future__ import annotations

from sqlalchemy import text
from tests.support.scenarios import deed_up_to_photos, join, open_question, run_marathon


async def test_an_album_of_four_photos_gives_a_deed_three_and_one_answer(citizen, engine, content, t, settled):
    await run_marathon(engine, content.rules)
    person = await citizen("kk")
    await join(person, t, "kk")
    await deed_up_to_photos(person, t, "kk", content.rules.kind("trees").name["kk"], "12", "Саябақта 12 көшет отырғыздық")

    album = await person.send_album("the alley", "the saplings", "the team", "the sign", caption="Көшеттер")
    assert len(album.sent) == 1, "one answer to the album, not one per photo"
    answer = person.api.message(person.id, album.sent[0].message_id)
    assert answer.text == t("kk", "That is three photos already, the most for one deed. Press “Done”.")
    assert [b["text"] for b in answer.buttons][0] == t("kk", "✅ Done")
    photos = [m for m in person.api.chat(person.id) if not m.from_bot and m.photo]
    summary = await person.press(t("kk", "✅ Done"), answer)
    assert t("kk", "Photos: {count}").format(count=3) in summary.text
    await person.press(t("kk", "✅ Log it"))
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT file_unique_id FROM deed_photos ORDER BY position"))).scalars().all()
    assert stored == [m.photo[-1]["file_unique_id"] for m in photos[:3]], "the album's first three, in order"
    await settled()


async def test_an_album_of_two_photos_is_answered_in_one_message_edited_as_they_come(citizen, engine, content, t):
    await run_marathon(engine, content.rules)
    person = await citizen("ru")
    await join(person, t, "ru")
    await deed_up_to_photos(person, t, "ru", content.rules.kind("trees").name["ru"], "3", "Посадили три дуба")
    album = await person.send_album("oak one", "oak two")
    assert len(album.sent) == 1 and album.edited == [album.sent[0]]
    assert album.sent[0].text == t("ru", "Photo {count} of up to {limit} received. Send another, or press “Done”.").format(count=2, limit=3)
    more = await person.send_photo("oak three")  # one more after the album: a message of its own
    assert more.text == t("ru", "Photo {count} of up to {limit} received. Send another, or press “Done”.").format(count=3, limit=3)


async def test_a_citizens_album_reaches_the_operator_whole_and_an_operators_album_the_citizen(citizen, operator, t, settled):
    aigerim = await citizen("ru")
    akmola = await operator("akmola", "en", "Нұрлан")
    number = await open_question(aigerim, "ru", "Куда сдать собранные вещи?", t)
    card = await akmola.receive(f"№{number}")
    await akmola.press(t("en", "✋ Take"), card)
    relayed = await akmola.receive("Куда сдать")
    await aigerim.receive(f"№{number}")

    album = await aigerim.send_album("the boxes", "the list", "the address", caption="Вот что собрали")
    assert [m.text for m in album.sent] == [t("ru", "✓ Sent to the operator (request №{number}).").format(number=number)]
    photos = [await akmola.receive() for _ in range(3)]
    assert all(m.photo for m in photos)
    assert "Вот что собрали" in photos[0].caption and f"№{number}" in photos[0].caption
    assert all(f"№{number}" in (m.caption or "") for m in photos), "each says whose request it is"

    api, upto = akmola.api, len(akmola.api.chat(akmola.id))
    answer = await akmola.send_album("the drop-off point", "its opening hours", caption="Сюда, с 9 до 18", reply_to=relayed)
    note = t("en", "✓ Sent to the citizen of request №{number}.").format(number=number)
    assert [m.text for m in answer.sent] == [note]
    await aigerim.receive("Сюда, с 9 до 18")  # once the whole album has come: as one album
    await settled()
    sent_photos = [m.photo[-1]["file_unique_id"] for m in api.chat(akmola.id)[upto:] if not m.from_bot]
    received = [m for m in api.chat(aigerim.id) if m.from_bot and m.photo]
    assert [m.photo[-1]["file_unique_id"] for m in received] == sent_photos and len(sent_photos) == 2, "both, in order"
    assert "Сюда, с 9 до 18" in received[0].caption
    assert len({m.extra.get("media_group_id") for m in received}) == 1 and received[0].extra.get("media_group_id")
    assert len({m.extra.get("media_group_id") for m in photos}) == 1 and photos[0].extra.get("media_group_id")
    assert [m.text for m in api.chat(akmola.id)[upto:] if m.from_bot] == [note], "one note to the operator for the album"


async def test_an_album_where_photos_are_not_taken_is_answered_once(citizen, t, settled):
    person = await citizen("en")
    album = await person.send_album("a cat", "a dog", "a parrot")
    assert [m.text for m in album.sent] == [t("en", "I can read only text here. Type your question or choose from the menu below.")]
    await settled()


async def test_an_edit_of_a_question_still_waiting_changes_its_card_and_keeps_the_first_words(citizen, operator, engine, t, settled, api):
    aigerim = await citizen("kk")
    akmola = await operator("akmola", "en")
    number = await open_question(aigerim, "kk", "Менің телефоным 8 701 111 22 33", t)
    card = await akmola.receive(f"№{number}")
    question = next(m for m in api.chat(aigerim.id) if not m.from_bot and "8 701" in (m.text or ""))
    assert "edited_message" in api.allowed_updates, "the bot asks Telegram for edits"

    edited = await aigerim.edit(question, "Менің телефоным 8 701 999 88 77")
    assert edited.sent == [], "the change went on: nothing to tell"
    await settled()
    assert akmola.received() == [], "the operator is given nothing new: their card changes"
    shown = api.message(akmola.id, card.message_id).text
    assert "8 701 999 88 77" in shown and "8 701 111 22 33" not in shown and t("en", "✏️ (edited)") in shown
    async with engine.connect() as conn:
        said = (await conn.execute(
            text("SELECT text, extra->>'first_text' FROM ticket_messages WHERE ticket_id = :id"), {"id": number}
        )).all()
    assert [tuple(row) for row in said] == [("Менің телефоным 8 701 999 88 77", "Менің телефоным 8 701 111 22 33")], \
        "the request keeps the change, and its first words for the staff"


async def test_a_moving_live_location_is_no_edit_and_an_edit_that_reaches_no_one_is_told_once(citizen, operator, t, settled, api):
    aigerim = await citizen("ru")
    akmola = await operator("akmola", "en")
    number = await open_question(aigerim, "ru", "Где пункт сбора вещей?", t)
    await akmola.receive(f"№{number}")
    await aigerim.share_live_location()
    shared = aigerim.sent_last()
    for step in range(3):  # Telegram sends the moving location again and again, as edits
        moved = await aigerim.move_to(shared, 51.13 + step / 1000, 71.43)
        assert moved.sent == [], "nobody edited anything: nothing to tell"

    # A question to the knowledge base is answered already: changing it reaches no one.
    dana = await citizen("ru")
    await dana.send("Как стать волонтёром?")
    question = dana.sent_last()
    notice = t("ru", "Changes to a message already sent reach no one: what you sent first stays as it was. Please send the correction as a new message.")
    assert (await dana.edit(question, "Как стать волонтёром в Астане?")).last.text == notice
    again = await dana.edit(question, "Как стать волонтёром в Астане? Спасибо")
    assert again.sent == [], "told once for a message, not at every edit"
    await settled()


async def test_an_edit_of_a_message_deleted_before_the_bot_answers_is_told_without_a_reply(bot, citizen, t, api):
    person = await citizen("en")
    await person.send("How can I become a volunteer?")
    question = person.sent_last()
    await bot.stop()
    update_id = await api.edit_text(person.id, question, "How can I become a volunteer in Almaty?")
    api.delete_own(person.id, question)
    await bot.start()
    await api.wait_for(lambda: update_id in api.handled_updates, 15)
    told = [m for m in api.chat(person.id) if m.from_bot][-1]
    assert told.text == t("en", "Changes to a message already sent reach no one: what you sent first stays as it was. Please send the correction as a new message.")
    assert told.reply_to is None, "the message it would point at is gone"


async def test_an_album_whose_first_photo_is_refused_is_not_passed_on_in_part(citizen, operator, t, settled, api):
    aigerim = await citizen("ru")
    akmola = await operator("akmola", "en")
    number = await open_question(aigerim, "ru", "Куда сдать собранные вещи?", t)
    card = await akmola.receive(f"№{number}")
    await akmola.press(t("en", "✋ Take"), card)
    await akmola.receive("Куда сдать")
    upto = len(api.chat(akmola.id))

    album = await aigerim.send_album("the boxes", "the list", "the address", caption="Вещи: " + "куртки, " * 120)
    refusal = t("ru", "The caption is too long: {length} characters, at most {limit} (an emoji counts as two). Please send the file with a shorter caption and the rest as a message.")
    assert [m.text for m in album.sent] == [refusal.format(length=6 + 8 * 120, limit=800)], "told once, for the album"
    await settled()
    assert not [m for m in api.chat(akmola.id)[upto:] if m.photo], "none of it reaches the operator, so a resent album is not half a duplicate"


async def test_an_album_sent_as_an_announcement_keeps_its_first_photo_and_says_so(operator, t):
    coordinator = await operator("national", "en", coordinator=True)
    await coordinator.send("/announce")
    await coordinator.press(t("en", "One text for everyone"))
    reaction = await coordinator.send_album("the square", "the stage", caption="See you at the Volunteer Day concert!")
    texts = [m.text for m in reaction.sent]
    assert texts[0] == t("en", "An announcement holds one photo: the first of your album is used, the others are not.")
    assert texts[1] == t("en", "Who is it for?") and len(texts) == 2
