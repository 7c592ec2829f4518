"""An operator's Telegram Reply reaches a citizen only when it replies to a message the bot itself
recorded as one of that request's; a reply to anything else, whatever number it quotes, is relayed
to nobody and takes nothing."""

from __future__ import annotations

from sqlalchemy import text
from tests.support.database import scalar, ticket_messages, ticket_row
from tests.support.scenarios import join, log_deed, open_question, run_marathon


async def owed_to(engine, chat_id: int) -> int:
    return await scalar(engine, "SELECT count(*) FROM outbox WHERE chat_id = :id", id=chat_id)


async def test_a_reply_to_a_deed_amount_question_goes_to_the_deed_not_to_the_request_with_that_number(
    citizen, operator, engine, content, t
):
    """The reviewer answers "The right amount for deed №1?" with Reply and "15": today's request №1
    of another citizen must neither get "15" nor be taken."""
    await run_marathon(engine, content.rules)
    asker, participant = await citizen("ru"), await citizen("en")
    reviewer = await operator("akmola", "en", "Nurlan")
    number = await open_question(asker, "ru", "Где найти волонтёров?", t)
    await join(participant, t, "en")
    await log_deed(participant, t, "en", content.rules.kind("trees").name["en"], "30")
    await reviewer.receive(f"№{number}")  # the request's card
    card = (await reviewer.send("/deeds")).last
    question = (await reviewer.press("✏️ Correct the amount", card)).last
    assert f"№{number}" in question.text  # the deed has the request's number: the trap is set
    owed_before = await owed_to(engine, asker.id)

    answer = await reviewer.send("15", reply_to=question)

    assert "✅" in answer.text and "№1" in answer.text  # the deed is approved (with the amount, below)
    await participant.receive("15 trees planted")
    ticket = await ticket_row(engine, number)
    assert ticket["status"] == "new" and ticket["operator_id"] is None
    assert len(await ticket_messages(engine, number, "operator")) == 0
    assert await owed_to(engine, asker.id) == owed_before
    async with engine.connect() as conn:
        deed = (await conn.execute(text("SELECT state, amount FROM deeds"))).one()
    assert deed.state == "approved" and deed.amount == 15


async def test_a_reply_to_a_prompt_that_names_a_request_is_relayed_to_nobody(citizen, operator, engine, t):
    asker = await citizen("en")
    akmola = await operator("akmola", "en", "Asel")
    number = await open_question(asker, "en", "Is anyone there?", t)
    card = await akmola.receive(f"№{number}")
    prompt = (await akmola.press("Transfer", card)).last
    assert f"№{number}" in prompt.text
    owed_before = await owed_to(engine, asker.id)

    answer = await akmola.send("15", reply_to=prompt)

    assert answer.text == t("en", "That message does not belong to a request, so your reply went to nobody. To answer a citizen, reply to a message of their request or choose one in /my; for anything else, use the message's buttons.")
    ticket = await ticket_row(engine, number)
    assert ticket["status"] == "new" and ticket["operator_id"] is None
    assert len(await ticket_messages(engine, number, "operator")) == 0
    assert await owed_to(engine, asker.id) == owed_before


async def test_a_reply_to_the_bots_sent_confirmation_goes_to_its_request(citizen, operator, engine, t):
    """What the bot recorded still binds: the card, and the "✓ Sent" note of an answer."""
    asker = await citizen("en")
    akmola = await operator("akmola", "en", "Asel")
    number = await open_question(asker, "en", "How do I join?", t)
    card = await akmola.receive(f"№{number}")
    await akmola.press("Take", card)
    answered = await akmola.send("Hello! Which city?", reply_to=card)
    sent = next(m for m in answered.sent if m.text.startswith("✓"))
    await asker.receive("Hello! Which city?")
    await akmola.send("We have a front-office there.", reply_to=sent)
    await asker.receive("We have a front-office there.")
    assert len(await ticket_messages(engine, number, "operator")) == 2
