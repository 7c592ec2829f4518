"""Abuse is contained and nobody is silenced by mistake: a citizen who floods an operator is slowed
down (what they sent before is kept and delivered), and coordinators block and unblock a request's
author, with a reason, in the audit log."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from tests.support.database import blocks, ticket_messages, ticket_row
from tests.support.scenarios import BLOCKED_NOTICE, onboard, open_question, taken_question


SLOW_DOWN = "✋ Please slow down: an operator receives at most {limit} messages a minute from one person. Your earlier messages are delivered, but this one was not passed on."
REPEATED = "You have already sent this message and the operator has it. Repeats do not speed up the answer, so they are not passed on; please wait for the reply."
SENT = "✓ Sent to the operator (request №{number})."
REFUSED = "⛔ The front-office does not receive your messages: a coordinator has blocked you. The answers to common questions and the contacts still work."
BLOCK_USAGE = "Send /block, the request's number and the reason (up to {limit} characters; the person is shown it), for example: /block 12 insults to operators"


async def age_messages(engine, seconds: float) -> None:
    """As if the stored messages had been written `seconds` earlier: the flood windows pass without
    the test waiting for them."""
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE ticket_messages SET created_at = created_at - make_interval(secs => :s)"), {"s": seconds}
        )


def relayed(api, chat_id: int, containing: str) -> list[str]:
    """The texts the bot sent to this chat that contain `containing`."""
    return [
        c.params["text"] for c in api.calls
        if c.ok and c.chat_id == chat_id and c.method == "sendMessage" and containing in c.params.get("text", "")
    ]


def card_of(api, chat_id: int, number: int):
    """The first card of the request in this chat."""
    return next(m for m in api.chat(chat_id) if m.from_bot and "📨" in (m.text or "") and f"№{number}" in m.text)


# --- flood control ------------------------------------------------------------------------------


async def test_a_flood_is_slowed_down_once_and_what_was_sent_before_reaches_the_operator(citizen, operator, engine, t, api, settled):
    aigerim = await citizen("kk")
    akmola = await operator("akmola", "ru")
    number = await taken_question(aigerim, akmola, "kk", "ru", t, "Бірінші сұрақ")
    await age_messages(engine, 11 * 60)

    answers = [await aigerim.send(f"Хабарлама {i}") for i in range(1, 26)]

    sent = t("kk", SENT).format(number=number)
    assert [a.text for a in answers[:20]] == [sent] * 20
    slow_down = answers[20].text
    assert t("kk", SLOW_DOWN).format(limit=20) in slow_down
    seconds = int(re.search(r"\d+", slow_down.replace(t("kk", SLOW_DOWN).format(limit=20), "")).group())
    assert 1 <= seconds <= 60, slow_down
    assert [a.sent for a in answers[21:]] == [[]] * 4, "told once, not once per message"

    assert [m["text"] for m in await ticket_messages(engine, number, "citizen")] == ["Бірінші сұрақ", *(f"Хабарлама {i}" for i in range(1, 21))]
    await api.wait_for(lambda: len(relayed(api, akmola.id, "Хабарлама")) == 20 or None)
    await settled()
    bodies = [body.rsplit("\n", 1)[-1] for body in relayed(api, akmola.id, "Хабарлама")]
    assert bodies == [f"Хабарлама {i}" for i in range(1, 21)], "the operator gets at most the limit"

    await age_messages(engine, 61)  # the minute has passed
    again = await aigerim.send("Енді жаза аламын ба?")
    assert again.text == sent
    await akmola.receive("Енді жаза аламын ба?")
    assert ([m["text"] for m in await ticket_messages(engine, number, "citizen")])[-1] == "Енді жаза аламын ба?"


async def test_a_new_request_counts_too(citizen, operator, engine, t, api):
    emma = await citizen("en")
    akmola = await operator("akmola", "en")
    number = await taken_question(emma, akmola, "en", "en", t, "First question")
    for i in range(19):
        await emma.send(f"Line {i}")
    await emma.tap(t("en", "My requests"))
    await emma.press(t("en", "✖️ Close request {number}").format(number=f"№{number}"))
    await emma.press(t("en", "Yes, close it"))

    await emma.tap(t("en", "Ask an operator"))
    await emma.press(t("en", "🆕 Something new"))  # (a request of hers was closed a moment ago)
    refused = await emma.send("One more question")
    assert t("en", SLOW_DOWN).format(limit=20) in refused.text
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM tickets")) == 1, "no second request, no cards"
    await age_messages(engine, 61)
    await emma.send("One more question")
    await emma.receive(f"№{number + 1}")  # a new request


async def test_the_same_text_again_and_again_reaches_the_operator_twice(citizen, operator, engine, t, api):
    dmitry = await citizen("ru")
    akmola = await operator("akmola", "en")
    number = await taken_question(dmitry, akmola, "ru", "en", t, "Помогите с уборкой")
    await age_messages(engine, 11 * 60)
    sent = t("ru", SENT).format(number=number)

    assert (await dmitry.send("Вы здесь?")).text == sent
    assert (await dmitry.send("Вы здесь?")).text == sent
    third = await dmitry.send("  вы   ЗДЕСЬ? ")  # the same, typed a little differently
    assert third.text == t("ru", REPEATED)
    assert (await dmitry.send("Вы здесь?")).sent == [], "told once"
    assert (await dmitry.send("Я жду ответа")).text == sent, "other words still go through"
    assert [m["text"] for m in await ticket_messages(engine, number, "citizen")] == ["Помогите с уборкой", "Вы здесь?", "Вы здесь?", "Я жду ответа"]

    # An answer in between: the same words are a new answer, not a repeat ("да" to each question).
    await akmola.send("Yes, I am here. Which district?")
    await dmitry.receive("Which district?")
    assert (await dmitry.send("Вы здесь?")).text == sent
    await api.wait_for(lambda: len(relayed(api, akmola.id, "Вы здесь?")) == 3 or None)

    # Ten minutes later the words go through again even without an answer.
    await dmitry.send("Вы здесь?")
    assert (await dmitry.send("Вы здесь?")).sent == [], "refused; told already within these ten minutes"
    await age_messages(engine, 10 * 60 + 1)
    assert (await dmitry.send("Вы здесь?")).text == sent
    assert [m["text"] for m in await ticket_messages(engine, number, "citizen")] == [
        "Помогите с уборкой", "Вы здесь?", "Вы здесь?", "Я жду ответа", "Вы здесь?", "Вы здесь?", "Вы здесь?",
    ]


# --- blocks --------------------------------------------------------------------------------------


async def test_a_national_coordinator_blocks_and_unblocks_a_requests_author(citizen, operator, engine, t, api, settled):
    dmitry = await citizen("ru")
    akmola = await operator("akmola", "en", "Nurlan")
    coordinator = await operator("national", "en", "Saule", coordinator=True)
    number = await taken_question(dmitry, akmola, "ru", "en", t, "Вы все бездельники!")

    done = await coordinator.send(f"/block {number} Оскорбления операторов")
    assert t("en", "⛔ Blocked: the author of request №{number}. The front-office no longer receives their messages.").format(number=number) in done.text
    assert t("en", "Their open request №{number} is closed with this reason.").format(number=number) in done.text
    [block] = await blocks(engine)
    assert (block["telegram_id"], block["reason"], block["blocked_by"], block["ticket_id"]) == (
        dmitry.id, "Оскорбления операторов", coordinator.id, number
    )
    row = await ticket_row(engine, number)
    assert (row["status"], row["resolution"], row["closed_by"]) == ("closed", "Оскорбления операторов", "block")

    # The operator holding it is told, and every card of it says who blocked the author.
    told = await akmola.receive(f"№{number}")
    assert "Оскорбления операторов" in told.text and "blocked" in told.text
    blocked_by = t("en", "⛔ The author was blocked by {name}").format(name="Saule")
    card = card_of(api, akmola.id, number)
    await api.wait_for(lambda: blocked_by in api.message(akmola.id, card.message_id).text or None)
    shown = await akmola.send(f"/ticket {number}")
    assert blocked_by in shown.text

    # The citizen is told once, in their language, with the reason.
    notice = await dmitry.receive(t("ru", BLOCKED_NOTICE))
    assert "Оскорбления операторов" in notice.text
    # Their messages are not relayed: what they write goes to the knowledge base, never to a request.
    await dmitry.send("Вы все бездельники!!!")
    refused = await dmitry.tap(t("ru", "Ask an operator"))
    assert refused.text == t("ru", REFUSED)
    form = await dmitry.tap(t("ru", "Need volunteers' help"))
    assert form.text == t("ru", REFUSED)
    contacts = await dmitry.tap(t("ru", "Contacts"))
    assert contacts.text and contacts.text != t("ru", REFUSED), "the contacts still work"
    await settled()
    assert len([m for m in api.chat(dmitry.id) if m.from_bot and t("ru", BLOCKED_NOTICE) in (m.text or "")]) == 1
    assert relayed(api, akmola.id, "бездельники!!!") == []
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM tickets")) == 1
        assert await conn.scalar(text("SELECT count(*) FROM ticket_messages WHERE author = 'citizen'")) == 1

    again = await coordinator.send(f"/block {number} ещё раз")
    assert t("en", "The author of request №{number} is already blocked, by {name}.").format(number=number, name="Saule") in again.text

    undone = await coordinator.send(f"/unblock {number}")
    assert t("en", "✅ Unblocked: the author of request №{number} can write to the front-office again.").format(number=number) in undone.text
    assert await blocks(engine) == []
    await dmitry.receive(t("ru", "✅ The front-office receives your messages again."))
    shown = await akmola.send(f"/ticket {number}")
    assert blocked_by not in shown.text
    second = await open_question(dmitry, "ru", "Извините, у меня вопрос", t)
    assert second == number + 1

    audit = await coordinator.send("/audit")
    assert t("en", "blocked the author of request №{ticket}").format(ticket=number) in audit.text
    assert t("en", "unblocked the author of request №{ticket}").format(ticket=number) in audit.text
    assert "Оскорбления" not in audit.text, "the reason stays out of the audit log"


async def test_a_regional_coordinator_blocks_only_authors_of_their_own_offices_requests(citizen, operator, engine, t):
    emma = await citizen("en")  # Akmola
    almaty = await operator("almaty", "en", "Asel", coordinator=True)
    akmola = await operator("akmola", "kk", "Нұрлан", coordinator=True)
    plain = await operator("akmola", "en", "Operator")
    number = await open_question(emma, "en", "Hello", t)
    await plain.receive(f"№{number}")

    refused = await almaty.send(f"/block {number} spam")
    assert refused.text == t("en", "Request №{number} belongs to another front-office: only its coordinators or the national office's can block or unblock its author.").format(number=number)
    not_coordinator = await plain.send(f"/block {number} spam")
    assert not_coordinator.text == t("en", "Only coordinators can block and unblock people.")
    assert await blocks(engine) == []
    assert (await ticket_row(engine, number))["status"] == "new"

    done = await akmola.send(f"/block {number} спам")
    assert t("kk", "⛔ Blocked: the author of request №{number}. The front-office no longer receives their messages.").format(number=number) in done.text
    assert (await ticket_row(engine, number))["status"] == "closed"
    # The operators who got its card see it closed, with who blocked its author.
    card = card_of(plain.api, plain.id, number)
    blocked_by = t("en", "⛔ The author was blocked by {name}").format(name="Нұрлан")
    await plain.api.wait_for(lambda: blocked_by in plain.api.message(plain.id, card.message_id).text or None)
    assert plain.api.message(plain.id, card.message_id).buttons == []

    assert (await almaty.send(f"/unblock {number}")).text == refused.text
    assert len(await blocks(engine)) == 1
    assert (await plain.send(f"/unblock {number}")).text == not_coordinator.text
    assert len(await blocks(engine)) == 1


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/block", BLOCK_USAGE),
        ("/block abc", BLOCK_USAGE),
        ("/block 12", BLOCK_USAGE),
        ("/block 12    ", BLOCK_USAGE),
        ("/block -3 spam", BLOCK_USAGE),
        ("/block 99999 x", "There is no request №{number}."),
        ("/block 1 " + "x" * 301, BLOCK_USAGE),
        ("/unblock", "Send /unblock and the request's number, for example: /unblock 12"),
        ("/unblock abc", "Send /unblock and the request's number, for example: /unblock 12"),
        ("/unblock 99999999999999999999", "Send /unblock and the request's number, for example: /unblock 12"),
        ("/unblock 99999", "There is no request №{number}."),
    ],
)
async def test_malformed_block_commands_are_answered_with_their_usage(citizen, operator, engine, t, command, expected):
    emma = await citizen("en")
    coordinator = await operator("national", "ru", "Saule", coordinator=True)
    await open_question(emma, "en", "Hello", t)
    await coordinator.receive("Hello")  # its card: Akmola has nobody on duty
    answer = await coordinator.send(command)
    assert answer.text == t("ru", expected).format(limit=300, number=99999)
    assert await blocks(engine) == []
    assert (await ticket_row(engine, 1))["status"] == "new"


async def test_forget_does_not_lift_a_block_but_drops_its_reason(citizen, operator, engine, t, people):

    emma = await citizen("en")
    coordinator = await operator("national", "en", "Saule", coordinator=True)
    number = await open_question(emma, "en", "Spam spam spam", t)
    await coordinator.send(f"/block {number} Sends the same advertisement")
    await emma.receive(BLOCKED_NOTICE)

    await emma.send("/forget")
    await emma.press("🗑")
    [block] = await blocks(engine)
    assert block["telegram_id"] == emma.id and block["reason"] is None, "the id stays, the words go"

    await onboard(emma, "en")
    assert (await emma.tap("Ask an operator")).text == REFUSED
    # The request is anonymous now, yet its number still finds the block.
    assert "Unblocked" in (await coordinator.send(f"/unblock {number}")).text
    assert await blocks(engine) == []
    # Told after the unblock commits (the outbox); waited for, so that it does not land among the
    # answers to her next taps.
    await emma.receive("✅ The front-office receives your messages again.")
    await open_question(emma, "en", "A fair question", t)


async def test_a_block_through_a_closed_request_stops_a_question_already_being_written(citizen, operator, engine, t):
    aigerim = await citizen("kk")
    coordinator = await operator("national", "en", "Saule", coordinator=True)
    number = await open_question(aigerim, "kk", "Бірінші сұрақ", t)
    await aigerim.tap(t("kk", "My requests"))
    await aigerim.press(t("kk", "✖️ Close request {number}").format(number=f"№{number}"))
    await aigerim.press(t("kk", "Yes, close it"))
    await aigerim.tap(t("kk", "Ask an operator"))
    prompt = await aigerim.press(t("kk", "🆕 Something new"))  # the prompt is shown before the block
    assert prompt.sent[-1].buttons

    done = await coordinator.send(f"/block {number} Жарнама")
    assert "Their open request" not in done.text, "nothing was open to close"
    notice = await aigerim.receive(t("kk", BLOCKED_NOTICE))
    assert "Жарнама" in notice.text and f"№{number}" not in notice.text

    refused = await aigerim.send("Екінші сұрақ")
    assert refused.text == t("kk", REFUSED)
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM tickets")) == 1
        assert await conn.scalar(text("SELECT count(*) FROM ticket_messages WHERE text = 'Екінші сұрақ'")) == 0
    # The question was not kept waiting: what they type now is a question for the knowledge base.
    answer = await aigerim.send("Волонтер қалай болуға болады?")
    assert answer.text != t("kk", REFUSED)
