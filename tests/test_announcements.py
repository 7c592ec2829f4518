"""Coordinators' announcements, end to end: composed in the bot, previewed with the number of
recipients, sent in the background at a steady rate under the stand-in's flood control, with a
live progress message, Pause, Resume and Cancel, and a restart in the middle."""

from __future__ import annotations

import asyncio
import time
from random import Random

from sqlalchemy import text

from tests.support.announcements import announcement_finished, announcer_at_rest, compose, delivered, max_in_any_second, seed_people, sends_to, sent_at_least, state_of, wait_until
from tests.support.database import scalar


async def test_an_announcement_reaches_2000_people_once_at_the_rate_through_a_restart(api, bot, engine, operator):
    """2,000 people, 50 of them with announcements off and 20 who blocked the bot; the stand-in's
    flood control allows 30 messages a second; the bot restarts halfway."""
    api.flood_control(30)
    people = await seed_people(api, engine, 2000, turned_off=50, blocked=20)
    ids = list(people)
    turned_off, blocked, reachable = ids[:50], ids[50:70], ids[70:]
    coordinator = await operator("national", "en", "Айгерим", coordinator=True)

    summary = await compose(coordinator, per_language=True)
    # Everyone but those who turned announcements off (the bot does not know about the blocks yet).
    assert "1 950 recipients" in summary
    assert "Қазақша: 650" in summary and "Русский: 650" in summary and "English: 650" in summary
    preview = api.chat(coordinator.id)
    assert any(m.photo and "Hello!" in (m.caption or "") for m in preview), "the preview shows the photo version"

    started = await coordinator.press("Send to 1 950 people")
    progress = started.sent[-1]
    assert "Announcement №1" in progress.text and "0 of 1 950" in progress.text
    assert [b["text"] for b in progress.buttons] == ["⏸ Pause", "✖️ Cancel"]

    await wait_until(lambda: sent_at_least(api, ids, 900), 60)
    await bot.restart()
    at_restart = len(sends_to(api, ids))
    assert at_restart < 1950, "the restart came halfway"

    finished = await wait_until(lambda: announcement_finished(engine), 120)
    assert finished["state"] == "done"
    assert (finished["total"], finished["sent"], finished["blocked"], finished["failed"]) == (1950, 1930, 20, 0)

    received = delivered(api, ids)
    assert all(len(received[i]) == 1 for i in reachable), "everyone reachable received it exactly once"
    assert all(not received[i] for i in turned_off + blocked)
    for telegram_id in reachable[:30]:
        call = received[telegram_id][0]
        if people[telegram_id] == "en":
            assert call.method == "sendPhoto" and "Hello!" in call.params["caption"]
        elif people[telegram_id] == "ru":
            assert "Добрый день" in call.params["text"]
        else:
            assert "Қайырлы күн" in call.params["text"]

    sends = sends_to(api, ids) + [c for c in api.calls if c.method == "sendMessage" and c.chat_id in blocked]
    assert max_in_any_second(sends) <= 30, "the rate stayed under the flood limit"
    refused = [c for c in api.calls if not c.ok and c.chat_id in set(ids) and "Too Many Requests" in (c.error or "")]
    assert not refused, "paced under the limit, no message met the flood control"
    first, last = min(c.at for c in sends), max(c.at for c in sends)
    assert len(sends) / (last - first) <= 26.5, "about 25 a second, the configured rate"

    async with engine.connect() as conn:
        unreachable = set((await conn.execute(text("SELECT telegram_id FROM users WHERE unreachable_since IS NOT NULL"))).scalars())
    assert unreachable == set(blocked)

    progress_edits = [c for c in api.calls if c.ok and c.method == "editMessageText" and c.chat_id == coordinator.id]
    assert len(progress_edits) >= 10, "the progress message was kept up to date"
    final = api.message(coordinator.id, progress.message_id)
    assert "✅ done" in final.text and "1 930 of 1 950" in final.text and "blocked the bot: 20" in final.text
    assert "▓" * 20 in final.text and not final.buttons

    # A blocked person who writes again is reachable again; the next announcement counts them.
    back = blocked[0]
    api.person(back).blocked_bot = False
    await api.send_text(back, "/start")
    await wait_until(lambda: _reachable(engine, back), 5)
    summary = await compose(coordinator, per_language=False)
    assert "1 931 recipients" in summary


async def _reachable(engine, telegram_id: int) -> bool:
    return await scalar(engine, "SELECT unreachable_since IS NULL FROM users WHERE telegram_id = :id", id=telegram_id)


async def test_pause_resume_and_cancel(api, bot, engine, operator, t):
    people = await seed_people(api, engine, 400)
    ids = list(people)
    coordinator = await operator("national", "ru", "Айгерим", coordinator=True)
    summary = await compose(coordinator, per_language=False, say=lambda msgid: t("ru", msgid))
    assert "400 получателей" in summary
    progress = (await coordinator.press("Отправить 400")).sent[-1]

    await wait_until(lambda: sent_at_least(api, ids, 40), 20)
    paused = await coordinator.press("Пауза", progress)
    assert paused.answer["text"] == "Пауза."
    assert "⏸ на паузе" in paused.edited[0].text
    assert [b["text"] for b in paused.edited[0].buttons] == ["▶️ Продолжить", "✖️ Отмена"]
    await announcer_at_rest(engine)  # the batch in flight when the pause came has finished
    at_pause = len(sends_to(api, ids))
    paused_row = await state_of(engine)
    assert paused_row["state"] == "paused" and paused_row["sent"] == at_pause < 400, "nothing is sent while paused"

    await coordinator.press("Продолжить", progress)
    await wait_until(lambda: sent_at_least(api, ids, at_pause + 40), 20)
    cancelled = await coordinator.press("Отмена", progress)
    assert "✖️ отменено" in cancelled.edited[0].text and not cancelled.edited[0].buttons
    await announcer_at_rest(engine)
    at_cancel = len(sends_to(api, ids))
    assert at_cancel < 400, "Cancel stops it"
    assert all(len(calls) <= 1 for calls in delivered(api, ids).values())
    final = await state_of(engine)
    assert final["state"] == "cancelled" and final["sent"] == at_cancel
    shown = api.message(coordinator.id, progress.message_id).text
    assert f"{400 - at_cancel} " in shown and "не получили" in shown

    # The progress message's buttons are gone; a forged press on a finished one changes nothing.
    forged = await coordinator.press_forged(progress, "anc:1:resume")
    assert forged.answer["text"] == "Это объявление уже завершено."
    assert (await state_of(engine))["state"] == "cancelled"


async def test_429_beyond_the_rate_is_waited_out_and_nothing_is_lost(api, bot, engine, operator):
    """A bot configured faster than Telegram allows meets the flood control: each 429's
    `retry_after` is obeyed and every person still receives it once."""
    bot.settings = bot.settings.model_copy(update={"announcement_rate": 30})
    await bot.restart()
    people = await seed_people(api, engine, 90)
    ids = list(people)
    coordinator = await operator("national", "en", coordinator=True)
    await compose(coordinator, per_language=False)
    started_at = time.monotonic()
    await coordinator.press("Send to 90 people")
    api.flood_control(12)
    finished = await wait_until(lambda: announcement_finished(engine), 40)
    elapsed = time.monotonic() - started_at
    assert (finished["sent"], finished["failed"]) == (90, 0)
    assert all(len(calls) == 1 for calls in delivered(api, ids).values())
    refused = [c for c in api.calls if not c.ok and "Too Many Requests" in (c.error or "")]
    assert refused, "the flood control answered 429"
    assert elapsed >= 90 / 12 - 1, "the bot waited as told rather than retrying at once"


async def test_who_may_announce_and_bad_input(api, bot, engine, operator, citizen):
    await seed_people(api, engine, 6, turned_off=2)
    regional = await operator("almaty", "en")
    refused = await regional.send("/announce")
    assert "Announcements are sent by the front-offices' coordinators." in refused.text
    person = await citizen("en")
    assert "A new announcement" not in (await person.send("/announce")).text

    coordinator = await operator("national", "en", coordinator=True)
    await coordinator.send("/announce")
    await coordinator.press("One text for everyone")
    assert "text, or a photo with a caption" in (await coordinator.send_sticker()).text
    too_long_caption = await coordinator.send_photo(caption="c" * 1100)
    assert "up to 1024 characters" in too_long_caption.text
    assert "empty" in (await coordinator.send("   ")).text
    await coordinator.send("<b>not a tag</b> & a plain ampersand")
    summary = (await coordinator.press("One region")).edited[-1]
    assert "Which region?" in summary.text
    summary = (await coordinator.press("Akmola Region")).sent[-1].text
    # 4 seeded people want announcements (2 turned them off) and the citizen lives in Akmola too.
    assert "5 recipients" in summary and "everyone in Akmola Region" in summary
    preview = [m for m in api.chat(coordinator.id) if m.text and "not a tag" in m.text][-1]
    assert preview.text == "<b>not a tag</b> & a plain ampersand", "people see what the coordinator typed"

    await coordinator.press("Another audience")
    await coordinator.press("One language")
    summary = (await coordinator.press("Қазақша")).sent[-1].text
    assert "1 recipient " in summary  # the seeded Kazakh speakers are two, one turned announcements off
    summary_message = api.chat(coordinator.id)[-1]
    cancelled = await coordinator.press("Cancel")
    assert "nothing was sent" in cancelled.edited[-1].text
    stale = await coordinator.press_forged(summary_message, "an:send:")
    assert stale.answer["text"] == "This button is no longer active."
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM announcements")) == 0

    # A 5,000-character paste arrives as two messages (4096 and 904): the first fits Telegram, so it
    # is the text; the coordinator is told the rest was not used, and sees the text before sending.
    await coordinator.send("/announce")
    await coordinator.press("One text for everyone")
    pasted = await coordinator.send("я" * 5000)
    assert [m.text for m in pasted.sent] == [
        "Who is it for?",
        "The rest of your long text arrived as separate messages (Telegram splits a text longer than 4096 "
        "characters); it was not used.",
    ]


async def test_any_coordinator_follows_and_controls_a_running_announcement(api, bot, engine, operator):
    # Enough people that it is still running when cancelled: the announcer now sends at its full
    # rate (25 a second), and following it takes a few seconds.
    people = await seed_people(api, engine, 600)
    ids = list(people)
    sender = await operator("national", "en", "Aigerim", coordinator=True)
    other = await operator("national", "ru", "Сәуле", coordinator=True)
    assert "Объявлений пока нет" in (await other.send("/announcements")).text
    await compose(sender, per_language=False)
    await sender.press("Send to 600 people")
    await wait_until(lambda: sent_at_least(api, ids, 20), 20)

    listed = await other.send("/announcements")
    assert "№1" in listed.sent[0].text and "всем" in listed.sent[0].text
    followed = listed.sent[1]
    assert "Объявление №1" in followed.text and [b["text"] for b in followed.buttons] == ["⏸ Пауза", "✖️ Отмена"]
    await wait_until(lambda: _edited_since(api, other.id, followed), 10)  # now kept up to date in their chat
    cancelled = await other.press("Отмена", followed)
    assert any("✖️ отменено" in m.text for m in cancelled.edited), "(a progress edit may come first)"
    await announcer_at_rest(engine)
    assert (await state_of(engine))["state"] == "cancelled" and len(sends_to(api, ids)) < 600
    listed = await other.send("/announcements")
    assert "✖️ отменено" in listed.text and len(listed.sent) == 1, "nothing to follow once it is over"
    refused = await (await operator("almaty", "en")).send("/announcements")
    assert "Announcements are sent by the front-offices' coordinators." in refused.text


async def _edited_since(api, chat_id: int, message) -> bool:
    return api.message(chat_id, message.message_id).edit_date is not None


async def test_people_are_answered_during_an_announcement_under_flood_control(api, bot, engine, operator, citizen):
    """25 a second for the announcement and people's questions beside it would pass Telegram's 30:
    the announcer takes only the room their answers leave, and an answer that meets a 429 anyway
    is sent again after Telegram's retry_after, so everyone is answered."""
    people = await seed_people(api, engine, 300)
    ids = list(people)
    asking = [await citizen("en") for _ in range(3)]
    coordinator = await operator("national", "en", coordinator=True)
    await compose(coordinator, per_language=False)
    api.flood_control(30)
    await coordinator.press("Send to")
    await wait_until(lambda: sent_at_least(api, ids, 30), 20)
    random = Random(5)
    unanswered = []

    async def ask(person) -> None:
        for _ in range(10):  # at a person's pace: together about five questions a second
            mark = len(api.calls)
            update_id, _ = await api.send_text(person.id, "How can I become a volunteer?")
            await api.wait_for(lambda: update_id in api.handled_updates, 15)
            if not any(c.ok and c.method == "sendMessage" and c.chat_id == person.id for c in api.calls[mark:]):
                unanswered.append(update_id)
            await asyncio.sleep(random.uniform(0.3, 0.8))

    await asyncio.gather(*(ask(person) for person in asking))
    assert unanswered == [], "everyone was answered"
    finished = await wait_until(lambda: announcement_finished(engine), 40)
    assert (finished["sent"], finished["failed"]) == (303, 0)  # the three asking are in "everyone" too
    assert all(len(calls) == 1 for calls in delivered(api, ids).values())
    refused = [c for c in api.calls if not c.ok and "Too Many Requests" in (c.error or "")]
    answers_refused = [c for c in refused if c.chat_id in {p.id for p in asking}]
    # (Without the budget, at the same rate: four 429s here, one of them an answer's.)
    assert answers_refused == [] and len(refused) <= 1, f"{len(refused)} calls met the flood control"


async def test_announcements_to_marathon_participants_and_to_operators_reach_only_them(api, bot, engine, operator, content):
    """Participants: people who joined the marathon and want announcements. Operators: every
    active operator, by their citizen record's language if they have one, else their operator
    record's; one who never opened the bot cannot be written to, and is counted so."""
    from bot.db.engine import create_session_factory
    from bot.services import marathon
    from bot.services.operators import add_operator

    people = await seed_people(api, engine, 6, turned_off=1)
    ids = list(people)
    async with create_session_factory(engine)() as session, session.begin():
        for telegram_id in ids[:3]:  # the first has turned announcements off
            await marathon.join(session, telegram_id, "person", "Участник", "akmola")
        await add_operator(session, content.directory, 600_001, "Never opened", "almaty", language="ru")
        await add_operator(session, content.directory, 600_002, "Removed", "almaty")
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE operators SET active = false WHERE telegram_id = 600002"))
    api.add_person(600_001, "Never opened", "ru")  # never pressed Start
    staff = await operator("akmola", "kk", "Оператор")
    coordinator = await operator("national", "en", "Aigerim", coordinator=True)

    summary = await compose(coordinator, per_language=False, audience="🏃 Marathon participants")
    assert "2 recipients" in summary
    await coordinator.press("Send to 2 people")
    finished = await wait_until(lambda: announcement_finished(engine), 30)
    assert (finished["total"], finished["sent"], finished["blocked"], finished["failed"]) == (2, 2, 0, 0)
    received = delivered(api, [*ids, staff.id, coordinator.id, 600_001])
    assert {i for i, calls in received.items() if calls and i != coordinator.id} == set(ids[1:3])

    api.expect_refusal("sendMessage", "bot can't initiate conversation", "an operator who never opened the bot")
    summary = await compose(coordinator, per_language=False, audience="🧑‍💼 Operators")
    assert "3 recipients" in summary, "the coordinator, the operator, and the one who never opened the bot"
    await coordinator.press("Send to 3 people")
    finished = await wait_until(lambda: announcement_finished(engine, 2), 30)
    assert (finished["total"], finished["sent"], finished["blocked"], finished["failed"]) == (3, 2, 1, 0)
    greeting = "Happy Volunteer Day!"
    times = {i: len([c for c in calls if greeting in c.params.get("text", "")])
             for i, calls in delivered(api, [*ids, staff.id, 600_001]).items()}
    assert times == {**{i: 0 for i in ids}, ids[1]: 1, ids[2]: 1, staff.id: 1, 600_001: 0}, "each audience only"


async def test_every_kind_of_failure_of_an_announcement_is_counted_and_nobody_gets_it_twice(api, bot, engine, operator):
    """Refused by Telegram (400): failed, never again. Telegram's 5xx: tried again, a few times,
    then failed. An answer that is no Bot API answer at all (a proxy's HTML page): perhaps
    delivered, so never sent again, and counted as unconfirmed."""
    from bot.services.announcements import MAX_NETWORK_ATTEMPTS

    people = await seed_people(api, engine, 5)
    refused, flaky, down, garbled, fine = list(people)
    api.fail_next("sendMessage", 400, "Bad Request: PEER_ID_INVALID", chat_id=refused)
    api.fail_next("sendMessage", 502, "Bad Gateway", times=2, chat_id=flaky)
    api.fail_next("sendMessage", 500, "Internal Server Error", times=MAX_NETWORK_ATTEMPTS, chat_id=down)
    api.garble_next("sendMessage", garbled)
    coordinator = await operator("national", "en", coordinator=True)
    await compose(coordinator, per_language=False)
    await coordinator.press("Send to 5 people")
    finished = await wait_until(lambda: announcement_finished(engine), 60)
    assert (finished["total"], finished["sent"], finished["failed"], finished["unconfirmed"], finished["blocked"]) == (5, 2, 3, 1, 0)
    received = delivered(api, people)
    assert {i: len(calls) for i, calls in received.items()} == {refused: 0, flaky: 1, down: 0, garbled: 0, fine: 1}
    attempts = {i: len([c for c in api.calls if c.method == "sendMessage" and c.chat_id == i]) for i in people}
    assert attempts == {refused: 1, flaky: 3, down: MAX_NETWORK_ATTEMPTS, garbled: 1, fine: 1}
    summary = api.message(coordinator.id, finished["progress_message_id"]).text
    assert summary.endswith("Sent: 2 of 5\nNot delivered: 3 · blocked the bot: 0\n"
                            "Of them not confirmed (the connection broke; not sent again): 1"), "the coordinator sees each"


async def test_the_send_press_counts_the_audience_and_the_announcer_writes_its_recipients_once(api, bot, engine, operator):
    """The press writes no recipients (100,000 of them kept a coordinator waiting ~0.6 s): the
    announcer writes them as it starts, once, from the audience as it is then: someone who left
    after the press gets nothing, and the progress counts who was written."""
    from bot.db.engine import create_session_factory
    from bot.services import announcements
    from bot.services.announcements import ALL, Audience, AudienceKind, Version

    people = await seed_people(api, engine, 30)
    leaving = max(people)
    coordinator = await operator("national", "en", coordinator=True)
    async with create_session_factory(engine)() as session, session.begin():
        created = await announcements.create(
            session, created_by=coordinator.id, language="en", audience=Audience(AudienceKind.EVERYONE),
            versions={ALL: Version("Марафон добрых дел завершается 5 декабря.")},
        )
        assert created.total == 30
        assert await session.scalar(text("SELECT count(*) FROM announcement_recipients")) == 0, "none written by the press"
        await session.execute(text("DELETE FROM users WHERE telegram_id = :id"), {"id": leaving})  # /forget, as it were

    finished = await wait_until(lambda: announcement_finished(engine, created.id), 20)
    assert (finished["sent"], finished["total"]) == (29, 29)
    got = delivered(api, people)
    assert got[leaving] == [] and all(len(calls) == 1 for chat, calls in got.items() if chat != leaving)
    async with create_session_factory(engine)() as session, session.begin():
        assert not await announcements.write_recipients(session, created.id), "written once"
    assert await scalar(engine, "SELECT count(*) FROM announcement_recipients WHERE announcement_id = :id", id=created.id) == 29
