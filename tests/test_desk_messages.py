"""Every kind of message between a citizen and the operator, both ways: videos, video messages,
audio, GIFs, stickers, contacts; an album as one album; an edit of a message already relayed
changes the other side's copy, marked as edited; what Telegram cannot carry is refused by name."""

from __future__ import annotations

from sqlalchemy import text

from tests.support.scenarios import taken_question


def media_of(message) -> str | None:
    for kind in ("video", "video_note", "audio", "animation", "sticker", "contact", "voice", "location"):
        if kind in message.extra:
            return kind
    return "photo" if message.photo else ("document" if message.document else None)


async def kinds_stored(engine, number: int) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(
            text("SELECT kind FROM ticket_messages WHERE ticket_id = :n AND author <> 'system' ORDER BY id"), {"n": number}
        )).scalars())


async def test_every_kind_of_message_reaches_the_other_side_and_what_cannot_be_carried_is_refused(citizen, operator, engine, t, settled):
    akmola = await operator("akmola", "en", "Nurlan")
    dmitry = await citizen("ru")
    number = await taken_question(dmitry, akmola, "ru", "en", t, "Посмотрите видео")

    # From the citizen: each kind arrives, after a line that says whose request it is.
    await dmitry.send_file("video", b"a video of the yard", caption="Двор после уборки")
    video = await akmola.receive("Двор после уборки")
    assert media_of(video) == "video" and f"№{number}" in video.caption
    await dmitry.send_file("video_note", b"a round video")
    await dmitry.send_file("audio", b"an mp3", caption="Запись звонка", name="call.mp3")
    await dmitry.send_file("animation", b"a gif", caption="Вот так")
    await dmitry.send_file("sticker", b"a sticker")
    await dmitry.share_other_contact("+77015550011", "Айгүл", "Серікова")
    await settled()
    received = [m for m in akmola.received() if media_of(m)]
    assert [media_of(m) for m in received] == ["video_note", "audio", "animation", "sticker", "contact"]
    assert received[-1].extra["contact"]["phone_number"] == "+77015550011"
    headers = [m.text for m in akmola.received() if m.text]
    assert any(t("en", "[contact]") in h and "Айгүл Серікова +77015550011" in h for h in headers)
    assert any(t("en", "[video message]") in h for h in headers) and any(t("en", "[sticker]") + " 👍" in h for h in headers)

    # What Telegram cannot carry is refused by name, and nothing is stored.
    before = await kinds_stored(engine, number)
    refused = await dmitry.send_dice()
    assert refused.text == t("ru", "An operator can receive text, photos, videos, GIFs, documents, audio and voice messages, video messages, stickers, contacts and locations; this kind of message cannot be passed on. Please send one of those.")
    assert await kinds_stored(engine, number) == before

    # From the operator: the citizen gets them, signed with the office, never the operator's name.
    await akmola.send_file("video", b"how to register", caption="Как зарегистрироваться")
    answer = await dmitry.receive("Как зарегистрироваться")
    assert media_of(answer) == "video" and "Nurlan" not in answer.caption and "—" in answer.caption
    await akmola.send_file("sticker", b"an operator's sticker")
    await akmola.share_other_contact("+77172000000", "Волонтёрский", "центр")
    await settled()
    assert [media_of(m) for m in dmitry.received() if media_of(m)] == ["sticker", "contact"]
    assert await kinds_stored(engine, number) == [
        "text", "video", "video_note", "audio", "animation", "sticker", "contact", "video", "sticker", "contact",
    ]


async def test_an_album_arrives_as_one_album_both_ways(citizen, operator, engine, t, settled):
    akmola = await operator("akmola", "en", "Nurlan")
    aigerim = await citizen("kk")
    number = await taken_question(aigerim, akmola, "kk", "en", t, "Суреттерді жіберемін")
    await aigerim.send_album("the boxes", "the list", "the address", caption="Жиналған заттар")
    items = [await akmola.receive() for _ in range(3)]
    assert len({m.extra.get("media_group_id") for m in items}) == 1 and items[0].extra.get("media_group_id")
    assert "Жиналған заттар" in items[0].caption and all(f"№{number}" in m.caption for m in items)

    await akmola.send_media_album(("video", b"the route"), ("video", b"the entrance"), caption="Маршрут")
    shown = [await aigerim.receive("Маршрут"), await aigerim.receive()]
    assert [media_of(m) for m in shown] == ["video", "video"]
    assert len({m.extra.get("media_group_id") for m in shown}) == 1 and shown[0].extra.get("media_group_id")
    assert "Маршрут" in shown[0].caption and "—" in shown[0].caption
    await settled()
    assert [m for m in aigerim.received() if media_of(m)] == [], "nothing twice"


async def test_an_edit_changes_the_other_sides_copy_marked_as_edited(citizen, operator, engine, t, settled):
    akmola = await operator("akmola", "en", "Nurlan")
    aigerim = await citizen("kk")
    number = await taken_question(aigerim, akmola, "kk", "en", t, "Менің телефоным 8 701 111 22 33")
    await aigerim.send("Мекенжайым: Абай көшесі, 12")
    copy = await akmola.receive("Абай көшесі, 12")
    sent = aigerim.sent_last()

    edited = await aigerim.edit(sent, "Мекенжайым: Абай көшесі, 21")
    assert edited.sent == [], "nothing to tell: the change went on"
    await settled()
    now = akmola.api.message(akmola.id, copy.message_id)
    assert "Абай көшесі, 21" in now.text and t("en", "✏️ (edited)") in now.text and f"№{number}" in now.text
    async with engine.connect() as conn:
        row = (await conn.execute(
            text("SELECT text, extra->>'first_text' AS first FROM ticket_messages WHERE ticket_id = :n AND text LIKE 'Мекенжайым%'"),
            {"n": number},
        )).one()
    assert row.text == "Мекенжайым: Абай көшесі, 21" and row.first == "Мекенжайым: Абай көшесі, 12"

    # The operator's edit reaches the citizen's copy; a photo's caption too.
    await akmola.send("Ертең сағат 10-да барамыз")
    answer = await aigerim.receive("сағат 10-да")
    await akmola.edit(akmola.sent_last(), "Ертең сағат 11-де барамыз")
    await settled()
    changed = aigerim.api.message(aigerim.id, answer.message_id)
    assert "сағат 11-де" in changed.text and t("kk", "✏️ (edited)") in changed.text and "Nurlan" not in changed.text
    await aigerim.send_photo("the door", caption="Есік")
    photo = await akmola.receive("Есік")
    await aigerim.edit_caption(aigerim.sent_last(), "Есік, екінші қабат")
    await settled()
    assert "екінші қабат" in akmola.api.message(akmola.id, photo.message_id).caption

    # Too long: refused, and nothing changes; after the close, a change reaches no one.
    too_long = await aigerim.edit(sent, "Ұзын " * 700)
    assert too_long.last.text == t("kk", "The change is too long for a message of a request (at most {limit} characters, an emoji counts as two), so it was not passed on. Please send the rest as a new message.").format(limit=3000)
    assert "Абай көшесі, 21" in akmola.api.message(akmola.id, copy.message_id).text
    await akmola.send(f"/ticket {number}")
    await akmola.press(t("en", "✅ Close"))
    await akmola.send("Көмектестік")
    await aigerim.receive(f"№{number}")
    await settled()
    late = await aigerim.edit(sent, "Мекенжайым: Абай көшесі, 22")
    assert late.last.text == t("kk", "Changes to a message already sent reach no one: what you sent first stays as it was. Please send the correction as a new message.")
    await settled()
    assert "Абай көшесі, 21" in akmola.api.message(akmola.id, copy.message_id).text


async def test_an_edit_of_a_later_item_of_an_operators_album_is_not_signed(citizen, operator, engine, t, settled):
    akmola = await operator("akmola", "en", "Nurlan")
    aigerim = await citizen("ru")
    await taken_question(aigerim, akmola, "ru", "en", t, "Покажите, где вход")
    await akmola.send_media_album(("video", b"the street"), ("video", b"the door"), caption="Вход со двора")
    first = await aigerim.receive("Вход со двора")
    second = await aigerim.receive()
    await settled()
    mine = [m for m in akmola.api.chat(akmola.id) if not m.from_bot and "video" in m.extra]
    await akmola.edit_caption(mine[-1], "Дверь слева")
    await settled()
    shown = aigerim.api.message(aigerim.id, second.message_id).caption
    assert shown.startswith("Дверь слева") and t("ru", "✏️ (edited)") in shown
    assert "—" not in shown, "only the album's first item carries the office's signature"
    assert "—" in aigerim.api.message(aigerim.id, first.message_id).caption
