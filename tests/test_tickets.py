"""Requests that go to a person: a citizen asks an operator, the region's operators get a card, one
takes it, they talk through the bot both ways, the operator closes it and the citizen rates it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from tests.support.bot import run_bot
from tests.support.database import ticket_row
from tests.support.scenarios import fill_until_phone, open_question


AKMOLA = {"kk": "Ақмола облысы", "ru": "Акмолинская область", "en": "Akmola Region"}


async def tickets_count(engine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text("SELECT count(*) FROM tickets"))


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_the_full_life_of_a_question_in_each_language(citizen, operator, engine, t, language, settled):
    aigerim = await citizen(language)
    akmola = await operator("akmola", "ru", "Нұрлан")
    almaty = await operator("almaty", "kk", "Асель")
    coordinator = await operator("national", "en", "Сәуле", coordinator=True)

    number = await open_question(aigerim, language, "Как стать волонтёром, если мне 16 лет?", t)
    registered = aigerim.api.chat(aigerim.id)[-1].text
    assert f"№{number}" in registered
    assert t(language, "Ask an operator") not in registered  # a confirmation, not the menu again

    card = await akmola.receive(f"№{number}")
    assert "Как стать волонтёром, если мне 16 лет?" in card.text
    assert [b["text"] for b in card.buttons] == [t("ru", "✋ Take"), t("ru", "↪️ Transfer")]
    await settled()
    assert almaty.received() == [], "another region's operators get nothing"
    assert coordinator.received() == [], "the national office is not disturbed while the region is on duty"
    queue = await coordinator.send("/queue")
    assert f"/ticket_{number}" in queue.text, "but it sees every region's requests"

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


async def test_two_operators_pressing_take_at_the_same_moment_cannot_both_get_it(citizen, operator, engine, t, api):
    aigerim = await citizen("kk")
    first, second = await operator("akmola", "ru", "Нұрлан"), await operator("akmola", "kk", "Дана")
    number = await open_question(aigerim, "kk", "Көмек керек", t)
    cards = [await first.receive(f"№{number}"), await second.receive(f"№{number}")]

    presses = [await api.press(op.id, card.message_id, card.button(t(op_language, "✋ Take"))["callback_data"])
               for op, card, op_language in ((first, cards[0], "ru"), (second, cards[1], "kk"))]
    await api.wait_for(lambda: all(update_id in api.handled_updates for update_id, _ in presses))
    answers = [api.callback_answers[query_id] for _, query_id in presses]
    winners = [a for a in answers if not a.get("show_alert")]
    losers = [a for a in answers if a.get("show_alert")]
    assert len(winners) == 1 and len(losers) == 1, answers

    row = await ticket_row(engine, number)
    winner = first if row["operator_id"] == first.id else second
    loser = second if winner is first else first
    loser_language = "ru" if loser is first else "kk"
    assert row["status"] == "taken"
    # The loser's card changes to say who took it, and offers nothing to press.
    taken_by = t(loser_language, "🔵 Taken by {name}").format(name="Нұрлан" if winner is first else "Дана")
    await api.wait_for(lambda: taken_by in api.message(loser.id, cards[loser is second].message_id).text)
    assert api.message(loser.id, cards[loser is second].message_id).buttons == []


async def test_a_regional_operator_cannot_act_on_another_regions_ticket(citizen, operator, engine, t, api):
    aigerim = await citizen("kk")
    akmola = await operator("akmola", "ru")
    almaty = await operator("almaty", "en", "Asel")
    number = await open_question(aigerim, "kk", "Сұрақ", t)
    await akmola.receive(f"№{number}")

    intruder_chat = (await almaty.send("/queue")).last
    assert f"№{number}" not in intruder_chat.text and f"ticket_{number}" not in intruder_chat.text
    for action in ("take", "transfer", "close", "history", "reply"):
        pressed = await almaty.press_forged(intruder_chat, f"tk:{action}:{number}")
        assert pressed.answer["text"] == "There is no such request among those of your front-office."
    refused = await almaty.send(f"/ticket {number}")
    assert "/ticket 12" in refused.text
    forged_transfer = await almaty.press_forged(intruder_chat, f"tt:{number}:almaty")
    assert forged_transfer.answer["text"] == "There is no such request among those of your front-office."

    row = await ticket_row(engine, number)
    assert row["status"] == "new" and row["operator_id"] is None and row["office"] == "akmola"


async def test_the_national_office_sees_every_region_and_gets_tickets_of_a_region_without_operators(citizen, operator, engine, t):
    national = await operator("national", "en", "Marina")
    emma = await citizen("en")  # Akmola, which has no operator on duty
    number = await open_question(emma, "en", "Is anyone there?", t)
    card = await national.receive(f"№{number}")
    await national.press("Take", card)
    assert (await ticket_row(engine, number))["operator_id"] == national.id
    queue = await national.send("/my")
    assert f"/ticket_{number}" in queue.text
    shown = await national.send(f"/ticket_{number}")  # the command as the list offers it
    assert f"№{number}" in shown.text and "Is anyone there?" in shown.text


async def test_transfer_to_another_region_with_a_note(citizen, operator, engine, t, settled):
    dmitry = await citizen("ru")
    akmola = await operator("akmola", "en", "Nurlan")
    almaty = await operator("almaty", "kk", "Асель")
    number = await open_question(dmitry, "ru", "Я живу в Алматы, нужна помощь с уборкой двора", t)
    card = await akmola.receive(f"№{number}")
    await akmola.press("Take", card)
    await dmitry.receive(f"№{number}")

    await akmola.press("Transfer", card)
    await akmola.press("Almaty")
    await akmola.send("The citizen lives in Almaty")
    passed = await dmitry.receive(f"№{number}")
    assert "Алматы" in passed.text
    almaty_card = await almaty.receive(f"№{number}")
    assert "Я живу в Алматы" in almaty_card.text
    # The office it left sees where it went, and nothing more from then on.
    passed_on = t("en", "↪️ Passed to {office}").format(office="Almaty")
    await akmola.api.wait_for(lambda: passed_on in akmola.api.message(akmola.id, card.message_id).text)
    assert akmola.api.message(akmola.id, card.message_id).buttons == []

    await almaty.press(t("kk", "✋ Take"), almaty_card)
    history = await almaty.press(t("kk", "📜 History"), almaty_card)
    # (What the Take passes on from the outbox may arrive in the same moment.)
    shown = next(m for m in history.sent if m.text.startswith("📜"))
    assert "The citizen lives in Almaty" in shown.text
    row = await ticket_row(engine, number)
    assert row["office"] == "almaty" and row["region"] == "akmola" and row["operator_id"] == almaty.id
    await almaty.send("Сәлеметсіз бе!")
    await dmitry.receive("Сәлеметсіз бе!")
    await settled()
    assert passed_on in akmola.api.message(akmola.id, card.message_id).text, "who took it is not theirs to see"
    late = await akmola.press_forged(card, f"tk:take:{number}")
    assert late.answer["text"] == "There is no such request among those of your front-office."


async def test_time_limits_remind_then_escalate_then_remind_the_assignee(bot, citizen, operator, engine, t, settled):
    bot.settings = bot.settings.model_copy(update={
        "ticket_remind_after_minutes": 0.02, "ticket_escalate_after_minutes": 0.05, "ticket_answer_reminder_minutes": 0.02,
    })
    await bot.restart()
    aigerim = await citizen("kk")
    akmola = await operator("akmola", "en")
    national = await operator("national", "en", "Marina")
    number = await open_question(aigerim, "kk", "Жауап бересіз бе?", t)
    await akmola.receive(f"№{number}")
    reminder = await akmola.receive("nobody has taken it yet")  # T1: about 1 s
    assert f"№{number}" in reminder.text
    escalated = await national.receive("has come up to the national office")  # T2: about 3 s
    card = await national.receive(f"№{number}")
    row = await ticket_row(engine, number)
    assert row["office"] == "national" and row["escalated_at"] is not None

    await national.press("Take", card)
    await aigerim.send("Мен әлі күтіп отырмын")
    await national.receive("Мен әлі күтіп отырмын")
    waiting = await national.receive("is waiting for your answer")  # T3
    assert f"№{number}" in waiting.text and escalated.text
    await settled()  # every due timer fired, everything owed sent
    async with engine.connect() as conn:  # and no clock of the request is left to run
        clocks_left = await conn.scalar(text("SELECT count(*) FROM timers WHERE key = :key AND done_at IS NULL"), {"key": str(number)})
    assert clocks_left == 0
    assert [m.text for m in national.received()] == [], "each limit reminds once"


async def test_the_citizen_is_told_when_the_office_opens_if_it_is_closed(bot, citizen, content, t):
    from datetime import UTC, datetime, time

    from bot.app import Content
    from bot.services.directory import Directory, ServiceHours

    today = datetime.now(UTC).astimezone(ServiceHours(frozenset({1}), time(9), time(18), 5).zone).isoweekday()
    closed_today = Directory.load()
    closed_today.service_hours = ServiceHours(frozenset(set(range(1, 8)) - {today}), time(9), time(18), 5)
    bot.content = Content(kb=content.kb, directory=closed_today)
    await bot.restart()
    emma = await citizen("en")
    await open_question(emma, "en", "Hello?", t)
    registered = emma.api.chat(emma.id)[-1].text
    assert "is closed now. It opens on" in registered and "09:00 (Astana time)" in registered


async def test_my_requests_close_by_the_citizen_and_rating(citizen, operator, engine, t, settled):
    dmitry = await citizen("ru")
    akmola = await operator("akmola", "en")
    empty = await dmitry.tap(t("ru", "My requests"))
    assert t("ru", "You have no requests yet. To ask a person: 💬 Ask an operator or 🆘 Need volunteers' help.") in empty.text

    number = await open_question(dmitry, "ru", "Где взять справку волонтёра?", t)
    card = await akmola.receive(f"№{number}")
    await akmola.press("Take", card)
    await akmola.send("Справку выдаёт фронт-офис.")
    await dmitry.receive("Справку выдаёт")

    listed = await dmitry.tap(t("ru", "My requests"))
    assert f"№{number}" in listed.text and t("ru", "an operator is answering") in listed.text
    await dmitry.press(t("ru", "✖️ Close request {number}").format(number=f"№{number}"))
    kept = await dmitry.press(t("ru", "No, keep it open"))
    assert (await ticket_row(engine, number))["status"] == "taken" and kept.edited

    await dmitry.tap(t("ru", "My requests"))
    await dmitry.press(t("ru", "✖️ Close request {number}").format(number=f"№{number}"))
    closed = await dmitry.press(t("ru", "Yes, close it"))
    assert len(closed.edited[0].buttons) == 5, "asked to rate the answer"
    told = await akmola.receive("The citizen has closed request")
    assert f"№{number}" in told.text
    await akmola.api.wait_for(lambda: t("en", "⚪️ Closed") in akmola.api.message(akmola.id, card.message_id).text)

    await dmitry.press("2 ⭐", closed.edited[0])
    await dmitry.press(t("ru", "No comment"))
    row = await ticket_row(engine, number)
    assert row["status"] == "closed" and row["closed_by"] == "citizen" and row["rating"] == 2 and row["rating_comment"] is None

    # What the citizen writes now is a question for the knowledge base again, not for the operator.
    await dmitry.send("Как стать волонтёром?")
    await settled()
    assert akmola.received() == []
    nowhere = await akmola.send("Are you there?")
    assert "This message went to nobody" in nowhere.text
    stale = await akmola.send("Are you there?", reply_to=card)
    assert t("en", "Request №{number} is already closed.").format(number=number) in stale.text


async def test_what_cannot_reach_an_operator_is_refused_and_the_ticket_keeps_what_it_had(citizen, operator, engine, t):
    emma = await citizen("en")
    akmola = await operator("akmola", "en")
    await emma.tap("Ask an operator")
    dice = await emma.send_dice()  # Telegram would roll it again: nothing to pass on
    assert "An operator can receive text, photos, videos, GIFs, documents" in dice.text
    # An app sends a 10,000-character paste as three messages (4096, 4096, 1808): the first is
    # refused as too long, and the last, short enough on its own, must not become the question.
    huge = await emma.send("x" * 10_000)
    assert [m.text for m in huge.sent] == [
        t("en", "That is too long for one message: {length} characters, at most {limit} (an emoji counts as two). "
                "Please send it in several parts.").format(length=4096, limit=3000),
        t("en", "The rest of your long text arrived as separate messages (Telegram splits a text longer than 4096 "
                "characters); it was not used."),
    ]
    assert await tickets_count(engine) == 0
    await emma.send("My question")
    number = int((await emma.receive("№")).text.split("№", 1)[1].split()[0])
    card = await akmola.receive(f"№{number}")
    await akmola.press("Take", card)

    await emma.send_voice()
    voice = await akmola.receive()
    while "voice" not in voice.extra:
        voice = await akmola.receive()
    await emma.send_location()
    await akmola.receive("[location]")
    located = await akmola.receive()
    assert located.extra["location"]["latitude"] == pytest.approx(51.1282)
    await emma.send_dice()
    await emma.send("y" * 10_000)
    async with engine.connect() as conn:
        kinds = (await conn.execute(text("SELECT kind FROM ticket_messages WHERE ticket_id = :id ORDER BY id"), {"id": number})).scalars().all()
    assert kinds == ["text", "voice", "location"]


def sends_to(api, chat_id: int, containing: str) -> list:
    return [c for c in api.calls if c.ok and c.chat_id == chat_id and c.method == "sendMessage" and containing in c.params.get("text", "")]


async def test_a_429_is_waited_out_and_a_citizen_who_blocked_the_bot_is_reported_to_the_operator(citizen, operator, engine, t, api, settled):
    emma = await citizen("en")
    akmola = await operator("akmola", "en")
    await emma.tap("Ask an operator")
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, chat_id=emma.id)
    started = asyncio.get_running_loop().time()
    await emma.send("Flood control?")  # the confirmation or the card meets the 429
    number = int((await emma.receive("№")).text.split("№", 1)[1].split()[0])
    card = await akmola.receive(f"№{number}")
    assert asyncio.get_running_loop().time() - started >= 1.0, "the refused message waited retry_after"
    await settled()
    assert len(sends_to(api, emma.id, f"№{number}")) == 1 and len(sends_to(api, akmola.id, f"№{number}")) == 1

    await akmola.press("Take", card)
    await emma.receive("has taken your request")
    api.block(emma.id)
    await akmola.send("Hello, are you there?")
    warning = await akmola.receive("has blocked the bot")
    assert f"№{number}" in warning.text
    row = await ticket_row(engine, number)
    assert row["citizen_unreachable"] is True and row["status"] == "taken"
    async with engine.connect() as conn:
        failed = (await conn.execute(text("SELECT failed FROM outbox WHERE chat_id = :id AND failed IS NOT NULL"), {"id": emma.id})).scalars().all()
    assert failed == ["blocked"]
    again = await akmola.send("Still there?")
    assert "blocked the bot" in again.text, "the operator is warned with each message while it lasts"
    await settled()
    assert [m.text for m in akmola.received() if "The citizen of request" in (m.text or "")] == [], "reported once"

    await emma.send("Sorry, I am back")  # writing to the bot unblocks it
    await akmola.receive("Sorry, I am back")
    assert (await ticket_row(engine, number))["citizen_unreachable"] is False


async def test_a_restart_between_a_citizens_message_and_its_delivery_loses_nothing(bot, citizen, operator, engine, t, api, settled):
    aigerim = await citizen("kk")
    akmola = await operator("akmola", "ru")
    number = await open_question(aigerim, "kk", "Бірінші хабарлама", t)
    card = await akmola.receive(f"№{number}")
    await akmola.press(t("ru", "✋ Take"), card)
    await akmola.receive("Бірінші хабарлама")

    api.fail_next("sendMessage", 502, "Bad Gateway", chat_id=akmola.id)  # the delivery fails and waits to be retried…
    await aigerim.send("Екінші хабарлама")
    await api.wait_for(lambda: any(not c.ok and c.method == "sendMessage" for c in api.calls))
    await bot.restart()  # …while the bot restarts
    await akmola.receive("Екінші хабарлама")
    await settled()
    assert len(sends_to(api, akmola.id, "Екінші хабарлама")) == 1


async def test_one_operator_with_several_tickets_never_mixes_them(citizen, operator, engine, t, settled):
    first, second = await citizen("kk"), await citizen("ru")
    akmola = await operator("akmola", "en")
    one = await open_question(first, "kk", "Бірінші азаматтың сұрағы", t)
    two = await open_question(second, "ru", "Вопрос второго гражданина", t)
    cards = {one: await akmola.receive(f"№{one}"), two: await akmola.receive(f"№{two}")}
    await akmola.press("Take", cards[one])
    question_one = await akmola.receive("Бірінші азаматтың сұрағы")
    await akmola.press("Take", cards[two])
    question_two = await akmola.receive("Вопрос второго гражданина")

    await akmola.send("Answer for the first", reply_to=question_one)
    await first.receive("Answer for the first")
    mine = akmola.api.chat(akmola.id)[-2]  # the operator's own message, before the bot's "sent"
    assert mine.text == "Answer for the first" and not mine.from_bot
    await akmola.send("Answer for the second", reply_to=question_two)
    await second.receive("Answer for the second")
    # Replying to their own earlier message goes to that message's ticket, not the current one.
    await akmola.send("One more for the first", reply_to=mine)
    await first.receive("One more for the first")
    await settled()
    assert all("first" not in (m.text or "") for m in second.received())

    # Closing one, then replying to the other's message: the reply is not taken as the resolution.
    await akmola.press("Close", cards[two])
    await akmola.send("Still about the first", reply_to=question_one)
    await first.receive("Still about the first")
    assert (await ticket_row(engine, two))["status"] == "taken"
    cancelled = await akmola.press("Cancel")
    assert "stays as it was" in cancelled.edited[0].text
    assert (await ticket_row(engine, two))["status"] == "taken"


async def test_a_removed_operators_requests_go_back_to_their_office(citizen, operator, engine, t):
    coordinator = await operator("national", "en", "Saule", coordinator=True)
    leaving, staying = await operator("akmola", "en", "Leaving"), await operator("akmola", "en", "Staying")
    emma = await citizen("en")
    number = await open_question(emma, "en", "Who will answer me?", t)
    card = await leaving.receive(f"№{number}")
    await staying.receive(f"№{number}")
    await leaving.press("Take", card)
    await coordinator.send(f"/remove_operator {leaving.id}")
    again = await staying.receive(f"№{number}")
    assert "✋ Take" in [b["text"] for b in again.buttons]
    row = await ticket_row(engine, number)
    assert row["status"] == "new" and row["operator_id"] is None
    await staying.press("Take", again)
    await emma.send("Hello?")
    await staying.receive("Hello?")


async def test_a_take_racing_a_transfer_never_leaves_the_ticket_with_the_wrong_office(citizen, operator, engine, t, api):
    dmitry = await citizen("ru")
    transferring, taking = await operator("akmola", "en", "A"), await operator("akmola", "en", "B")
    almaty = await operator("almaty", "en", "C")
    number = await open_question(dmitry, "ru", "Гонка", t)
    card_a, card_b = await transferring.receive(f"№{number}"), await taking.receive(f"№{number}")
    await transferring.press("Transfer", card_a)
    await transferring.press("Almaty")
    note, _ = await api.send_text(transferring.id, "Moving it")
    take, _query = await api.press(taking.id, card_b.message_id, card_b.button("✋ Take")["callback_data"])
    await api.wait_for(lambda: {note, take} <= api.handled_updates)
    row = await ticket_row(engine, number)
    if row["status"] == "taken":
        assert row["office"] == "akmola" and row["operator_id"] == taking.id
    else:
        assert row["office"] == "almaty" and row["operator_id"] is None
        await almaty.receive(f"№{number}")


@pytest.mark.parametrize("language", ["kk", "en"])
async def test_a_knowledge_base_answer_leads_to_an_operator_and_to_the_help_form(citizen, operator, engine, t, language):
    person = await citizen(language)
    akmola = await operator("akmola", "ru")
    answer = (await person.send("волонтер болу" if language == "kk" else "how do I become a volunteer")).last
    labels = [b["text"] for b in answer.buttons]
    assert t(language, "💬 Ask an operator") in labels and t(language, "🆘 Need volunteers' help") in labels

    form = await person.press(t(language, "🆘 Need volunteers' help"), answer)
    assert t(language, "🆘 What kind of help is needed?") in form.text
    await person.press(t(language, "✖️ Cancel"))
    prompt = await person.press(t(language, "💬 Ask an operator"), answer)
    assert prompt.last.buttons  # a way out
    await person.send("The answer did not help me")
    number = int((await person.receive("№")).text.split("№", 1)[1].split()[0])
    await akmola.receive(f"№{number}")


async def test_an_operator_sends_a_photo_and_a_document_signed_with_the_office(citizen, operator, t, api):
    emma = await citizen("en")
    national = await operator("national", "en", "Marina")
    number = await open_question(emma, "en", "Can you send me the form?", t)
    card = await national.receive(f"№{number}")
    await national.press("Take", card)
    await national.send_document(b"%PDF-1.4 form", "application.pdf", "application/pdf", caption="The form to fill in")
    document = await emma.receive("The form to fill in")
    assert document.document["file_name"] == "application.pdf"
    assert document.caption.endswith("— National Volunteer Front-Office")
    await national.send_photo(caption="Where we are")
    photo = await emma.receive("Where we are")
    assert photo.photo and "Marina" not in photo.caption
    await national.send_voice()
    voice = await emma.receive("National Volunteer Front-Office")
    assert "voice" in voice.extra


async def test_tickets_export_for_statistics_has_no_personal_data(citizen, operator, engine, t, api, tmp_path, database_url):
    import csv
    import io

    from openpyxl import load_workbook


    aigerim, dmitry = await citizen("kk"), await citizen("ru")
    akmola = await operator("akmola", "ru")
    number = await open_question(aigerim, "kk", "Менің құпия сұрағым", t)
    await fill_until_phone(dmitry, t, "ru")
    await dmitry.share_contact("77017654321")
    await dmitry.press(t("ru", "✅ Send"))
    card = await akmola.receive(f"№{number}")
    await akmola.press(t("ru", "✋ Take"), card)

    coordinator = await operator("national", "en", "Saule", coordinator=True)
    sent = await coordinator.send("/tickets_export akmola")
    xlsx, table = (api.files[m.document["file_id"]].content for m in sent.sent)
    assert sent.sent[0].caption == "Requests: 2. No phone numbers or message texts."
    for content in (xlsx, table):
        assert b"77017654321" not in content and "құпия".encode() not in content
    rows = list(load_workbook(io.BytesIO(xlsx))["tickets"].iter_rows(values_only=True))
    assert rows[0][:4] == ("ticket", "kind", "category", "region")
    assert sorted((row[1], row[6]) for row in rows[1:]) == [("help", "new"), ("question", "taken")]
    assert [row[0] for row in csv.reader(io.StringIO(table.decode("utf-8-sig")))][1:] == [str(number), str(number + 1)]
    assert "/tickets_export almaty closed" in (await coordinator.send("/tickets_export atlantis")).text
    assert "Requests: 1." in (await coordinator.send("/tickets_export taken")).sent[0].caption
    assert all(m.document is None for m in (await akmola.send("/tickets_export")).sent), "for coordinators"

    url = database_url.replace("+asyncpg", "")
    written = run_bot(tmp_path, "tickets", "export", "--format", "csv", "--status", "closed", "--out", str(tmp_path / "t.csv"), DATABASE_URL=url)
    assert written.returncode == 0, written.stderr
    assert written.stdout.strip() == f"0 requests written to {tmp_path / 't.csv'} (no phone numbers, no message texts)"
    wrong = run_bot(tmp_path, "tickets", "export", "--out", str(tmp_path / "missing" / "t.xlsx"), DATABASE_URL=url)
    assert wrong.returncode == 2 and "does not exist" in wrong.stderr


UNREACHABLE_STAFF = (
    "⚠️ {name} ({office}) does not receive the bot's messages: they have not opened the bot, or have "
    "blocked it. New requests no longer go to them: they are off duty. Ask them to open @{bot} and "
    "press Start, then go on duty with /duty."
)


async def test_an_operator_who_never_opened_the_bot_goes_off_duty_and_the_coordinators_are_told(
    citizen, operator, api, engine, t, settled
):
    """Staff added from the command line or ADMIN_IDS may never have opened the bot, and Telegram
    lets a bot write only to people who wrote to it first. Counted on duty, such an operator would
    be sent every card and read none, and if they were the office's only one nobody would know."""
    api.expect_refusal("sendMessage", "bot can't initiate conversation with a user", "the operator never opened the bot: the case under test")
    silent = await operator("akmola", "ru", "Ерлан", started=False)
    colleague = await operator("akmola", "ru", "Нұрлан")
    regional = await operator("akmola", "kk", "Айгүл", coordinator=True)
    national = await operator("national", "en", "Saule", coordinator=True)
    elsewhere = await operator("almaty", "ru", "Асель", coordinator=True)
    aigerim = await citizen("ru")

    first = await open_question(aigerim, "ru", "Где ближайший волонтёрский центр?", t)
    await colleague.receive(f"№{first}")
    told = await regional.receive("Ерлан")
    assert told.text == t("kk", UNREACHABLE_STAFF).format(name="Ерлан", office=AKMOLA["kk"], bot="qazvolunteer_bot")
    told = await national.receive("Ерлан")
    assert told.text == t("en", UNREACHABLE_STAFF).format(name="Ерлан", office=AKMOLA["en"], bot="qazvolunteer_bot")
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT on_duty FROM operators WHERE telegram_id = :id"), {"id": silent.id}) is False

    second = await open_question(await citizen("ru"), "ru", "А можно помогать онлайн?", t)
    await colleague.receive(f"№{second}")
    await settled()
    refused = [c for c in api.calls if c.chat_id == silent.id]
    assert len(refused) == 1, "off duty, they are sent no second card"
    assert not [m for m in regional.received() + national.received() if "Ерлан" in (m.text or "")], "told once"
    assert not [m for m in elsewhere.received() if "Ерлан" in (m.text or "")], "another office's coordinator is not told"

    # They open the bot and go on duty: requests reach them again.
    back = await silent.send("/duty")
    assert back.sent, "the bot answers them now"
    third = await open_question(await citizen("kk"), "kk", "Сенбілік туралы сұрақ", t)
    await silent.receive(f"№{third}")
