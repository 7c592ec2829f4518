"""What a person types is shown to others as typed, whatever it holds: text full of `<`, `&`,
quotes, tags and emoji, at each field's length limit, goes through every flow that shows it to
someone. Telegram reads the bot's messages as HTML and refuses one with an unescaped `<` ("Unsupported
start tag") or shows `&amp;` where the person wrote `&`; the stand-in refuses what Telegram refuses,
and the suite fails on any refused call (`api.loose_ends`)."""

from __future__ import annotations

from sqlalchemy import text

from bot.services.lengths import utf16_length
from tests.support.database import ticket_row
from tests.support.scenarios import BLOCKED_NOTICE, join, open_question, run_marathon, taken_question

PIECE = '😀 1 < 2 & 3 > 2, <b>не жирный</b> "цитата" \'ә\' a <b &amp; &nbsp; &lt '


def hostile(units: int) -> str:
    """A text of exactly `units` UTF-16 units (as Telegram counts) made of markup look-alikes."""
    typed = ""
    for character in PIECE * (units // 10 + 2):
        if utf16_length(typed + character) > units:
            break
        typed += character
    while utf16_length(typed) < units:
        typed += "ә"
    return typed[:-1] + "ә" if typed.endswith(" ") else typed


def test_the_texts_are_what_they_claim():
    for units in (64, 100, 200, 500, 1000, 3000):
        typed = hostile(units)
        assert utf16_length(typed) == units and "<" in typed and "&" in typed and "😀" in typed


async def test_a_request_full_of_markup_goes_both_ways_as_typed(citizen, operator, engine, t):
    aigerim = await citizen("ru")
    akmola = await operator("akmola", "kk", "Нұрлан")
    question = hostile(3000)

    number = await open_question(aigerim, "ru", question, t)
    card = await akmola.receive(f"№{number}")
    assert question[:300] in card.text, "the card shows the question as typed (its start, if cut)"
    await akmola.press(t("kk", "✋ Take"), card)
    relayed = await akmola.receive(question[:300])
    assert question in relayed.text, "the relayed question is whole"

    reply = hostile(3000)[::-1]  # another text, the same characters
    await akmola.send(reply, reply_to=relayed)
    answer = await aigerim.receive(reply[:300])
    assert reply in answer.text

    resolution = hostile(500)
    await akmola.press(t("kk", "✅ Close"), card)
    await akmola.send(resolution)
    closed = await aigerim.receive(f"№{number}")
    assert resolution in closed.text
    comment = hostile(1000)
    await aigerim.press("4 ⭐", closed)
    await aigerim.send(comment)

    row = await ticket_row(engine, number)
    assert (row["resolution"], row["rating_comment"]) == (resolution, comment), "stored as typed, not escaped"
    async with engine.connect() as conn:
        said = await conn.scalar(text("SELECT text FROM ticket_messages WHERE ticket_id = :id ORDER BY id LIMIT 1"), {"id": number})
    assert said == question


async def test_a_help_request_full_of_markup_reaches_the_operator_as_typed(citizen, operator, t):
    person = await citizen("en")
    akmola = await operator("akmola", "ru")
    need, place, when = hostile(1000), hostile(200)[::-1], hostile(100)
    await person.tap(t("en", "Need volunteers' help"))
    await person.press(t("en", "An older or disabled person"))
    await person.send(need)
    await person.send(place)
    await person.send(when)
    summary = (await person.share_contact("77011234567")).last
    assert need in summary.text and place in summary.text and when in summary.text
    await person.press(t("en", "✅ Send"), summary)
    number = int((await person.receive("№")).text.split("№", 1)[1].split()[0])
    card = await akmola.receive(f"№{number}")
    assert need[:300] in card.text and place in card.text and when in card.text


async def test_a_marathon_name_full_of_markup_is_shown_as_typed(citizen, engine, content, t):
    await run_marathon(engine, content.rules)
    person = await citizen("kk")
    name = hostile(64)
    await join(person, t, "kk", name=name)
    async with engine.connect() as conn:
        stored = await conn.scalar(text("SELECT display_name FROM participants WHERE telegram_id = :id"), {"id": person.id})
    assert stored == " ".join(name.split())
    shown = [m.text for m in person.api.chat(person.id) if m.from_bot and stored in (m.text or "")]
    assert shown, "the bot shows the name back as typed"


async def test_a_block_reason_full_of_markup_reaches_the_citizen_and_the_operator_as_typed(citizen, operator, t):

    dmitry = await citizen("ru")
    akmola = await operator("akmola", "en", "Nurlan")
    coordinator = await operator("national", "kk", "Сәуле", coordinator=True)
    number = await taken_question(dmitry, akmola, "ru", "en", t, "Сұрақ")
    reason = hostile(300)
    await coordinator.send(f"/block {number} {reason}")
    told = await akmola.receive(f"№{number}")
    assert reason in told.text
    notice = await dmitry.receive(t("ru", BLOCKED_NOTICE))
    assert reason in notice.text
