"""Announcements and erasure when things go wrong: Telegram refusing a cosmetic edit (429) in the
middle of Pause, Cancel or Send; a stop during a long retry_after; two bot processes sending at once;
/forget while the operator is still owed the person's photo; /forget during the first set-up; an
export whose second file fails after the first went out."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from bot.app import build_bot
from bot.db.engine import create_session_factory
from bot.jobs.announcements import Announcer
from tests.support.announcements import announcement_finished, announcer_at_rest, compose, delivered, max_in_any_second, seed_people, sends_to, sent_at_least, state_of, wait_until
from tests.support.scenarios import open_question


async def _press_raw(api, person, message_id: int, label: str) -> str:
    """Press a button whose handling may meet an injected Telegram error (a Person's `press`
    refuses such reactions); returns the callback's answer text."""
    message = api.message(person.id, message_id)
    button = next(b for b in message.buttons if label in b["text"])
    update_id, query_id = await api.press(person.id, message_id, button["callback_data"])
    await api.wait_for(lambda: update_id in api.handled_updates, 10)
    return (api.callback_answers[query_id] or {}).get("text", "")


# --- announcements -------------------------------------------------------------------------------

async def test_cancel_holds_when_telegram_refuses_the_progress_edit(api, bot, engine, operator):
    """The coordinator presses Cancel while the announcement keeps the bot near Telegram's flood
    limit; the edit of the progress message meets a 429. The coordinator was told "Cancelled:
    nobody else will receive it." (answerCallbackQuery went out first), so the cancel must stand."""
    people = await seed_people(api, engine, 300)
    ids = list(people)
    coordinator = await operator("national", "en", coordinator=True)
    await compose(coordinator, per_language=False)
    progress = (await coordinator.press("Send to 300 people")).sent[-1]
    await wait_until(lambda: sent_at_least(api, ids, 30), 20)

    api.fail_next("editMessageText", 429, "Too Many Requests: retry after 1", retry_after=1, times=3, chat_id=coordinator.id)
    answer = await _press_raw(api, coordinator, progress.message_id, "Cancel")
    assert answer == "Cancelled: nobody else will receive it."
    await announcer_at_rest(engine)  # the batch in flight has finished
    cancelled = await state_of(engine)
    assert cancelled["state"] == "cancelled", "the coordinator was told it is cancelled"
    assert len(sends_to(api, ids)) == cancelled["sent"] < 300, "nobody else receives it"


async def test_a_restart_during_a_long_retry_after_loses_nobody(api, bot, engine, operator):
    """Telegram answers one send with 429 retry_after=30; the bot is restarted during the wait.
    The batch claimed before the 429 (about a second of sending) was never sent: after the
    restart each of them must still receive the announcement, once."""
    people = await seed_people(api, engine, 60)
    ids = sorted(people)
    coordinator = await operator("national", "en", coordinator=True)
    await compose(coordinator, per_language=False)
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 30", retry_after=30, chat_id=ids[0])
    await coordinator.press("Send to 60 people")
    await api.wait_for(lambda: any(not c.ok and c.chat_id == ids[0] for c in api.calls) or None, 10)
    await asyncio.sleep(0.5)
    await bot.restart()

    finished = await wait_until(lambda: announcement_finished(engine), 30)
    received = delivered(api, ids)
    missing = [i for i in ids if not received[i]]
    assert not missing, f"{len(missing)} people never received it (marked unconfirmed after the restart)"
    assert all(len(calls) == 1 for calls in received.values())
    assert (finished["sent"], finished["failed"]) == (60, 0)


async def test_two_processes_send_each_announcement_once_at_the_rate(api, bot, engine, operator, i18n, content):
    """Sound: a second bot process (its own announcer and Bot) beside the first, one of them
    restarted halfway: everyone receives it once, and the two together keep to the rate."""
    api.flood_control(30)
    people = await seed_people(api, engine, 400)
    ids = list(people)
    coordinator = await operator("national", "en", coordinator=True)
    second_bot = build_bot(bot.settings)
    second = Announcer(engine, create_session_factory(engine), i18n, content.directory, bot.settings.announcement_rate)
    await second.start(second_bot)
    try:
        await compose(coordinator, per_language=False)
        await coordinator.press("Send to 400 people")
        await wait_until(lambda: sent_at_least(api, ids, 150), 30)
        await bot.restart()
        finished = await wait_until(lambda: announcement_finished(engine), 60)
    finally:
        await second.stop()
        await second_bot.session.close()
    assert (finished["sent"], finished["failed"]) == (400, 0)
    assert all(len(calls) == 1 for calls in delivered(api, ids).values())
    assert max_in_any_second(sends_to(api, ids)) <= 30
    assert not [c for c in api.calls if not c.ok and "Too Many Requests" in (c.error or "")]


# --- personal data -------------------------------------------------------------------------------

async def test_forget_with_a_photo_still_owed_to_the_operator_does_not_block_their_chat(citizen, operator, engine, api, t):
    """The citizen's photo is still in the outbox for the operator (a 429 delayed it) when the
    citizen uses /forget. The erased message (file_id NULL) was retried as `send_photo(None)`, a
    validation error, with a growing pause for about an hour, and only the oldest pending message
    of a chat goes out: the operator's next card must arrive at once instead."""
    person = await citizen("ru")
    akmola = await operator("akmola", "ru")
    number = await open_question(person, "ru", "Как стать волонтёром?", t)
    card = await akmola.receive(f"№{number}")
    await akmola.press(t("ru", "✋ Take"), card)
    await akmola.receive("Как стать волонтёром?")

    api.fail_next("sendPhoto", 429, "Too Many Requests: retry after 3", retry_after=3, chat_id=akmola.id)
    await person.send_photo(caption="Мой паспорт")
    await api.wait_for(lambda: any(not c.ok and c.method == "sendPhoto" and c.chat_id == akmola.id for c in api.calls) or None, 5)
    await person.send("/forget")
    await person.press("🗑")

    other = await citizen("ru")
    second = await open_question(other, "ru", "Другой вопрос", t)
    assert await akmola.receive(f"№{second}", timeout=12), "the operator's chat is not held by the erased photo"
    async with engine.connect() as conn:
        stuck = await conn.scalar(text(
            "SELECT count(*) FROM outbox WHERE chat_id = :chat AND sent_at IS NULL AND failed IS NULL AND kind = 'ticket_message'"
        ), {"chat": akmola.id})
    assert stuck == 0


async def test_forget_in_the_middle_of_onboarding_leaves_no_conversation_state(people, engine, t):
    """A person who chose a language but has not consented yet asks /forget and is told "Nothing
    about you is stored", so their conversation row (keyed by their Telegram id) must go too."""
    person = people("ru")
    await person.send("/start")
    await person.press("Русский")
    async with engine.connect() as conn:
        before = await conn.scalar(text("SELECT count(*) FROM fsm_states WHERE key LIKE :k"), {"k": f"%:{person.id}:%"})
    assert before == 1
    answered = await person.send("/forget")
    assert answered.text == t("ru", "Nothing about you is stored.")
    async with engine.connect() as conn:
        after = await conn.scalar(text("SELECT count(*) FROM fsm_states WHERE key LIKE :k"), {"k": f"%:{person.id}:%"})
    assert after == 0, "their Telegram id and chosen language stay in fsm_states"


async def test_send_stands_when_removing_the_previews_buttons_meets_flood_control(api, bot, engine, operator):
    """Send removes the buttons under the preview's summary, a cosmetic edit; a 429 on it rolled
    the whole announcement back ("Sorry, something went wrong") and left no Send button."""
    people = await seed_people(api, engine, 20)
    coordinator = await operator("national", "en", coordinator=True)
    await compose(coordinator, per_language=False)
    summary = api.chat(coordinator.id)[-1]
    api.fail_next("editMessageReplyMarkup", 429, "Too Many Requests: retry after 1", retry_after=1, chat_id=coordinator.id)
    await _press_raw(api, coordinator, summary.message_id, "Send to 20 people")
    finished = await wait_until(lambda: announcement_finished(engine), 20)
    assert finished["sent"] == 20
    assert all(len(calls) == 1 for calls in delivered(api, list(people)).values())


async def test_a_full_record_that_went_out_is_in_the_audit_log_even_if_a_later_send_fails(citizen, operator, engine, api, t):
    """/ticket_record sends the Excel file, then the CSV; a 429 on the CSV rolled the update back,
    audit entry included, though the Excel file with the citizen's personal data had gone out."""
    person = await citizen("en")
    coordinator = await operator("national", "en", "Saule", coordinator=True)
    number = await open_question(person, "en", "My name is Dana Privatova", t)
    await asyncio.sleep(1.2)  # the flood window below starts empty
    api.flood_control(1)  # the workbook goes, the CSV right after it meets a 429
    update_id, _ = await api.send_text(coordinator.id, f"/ticket_record {number}")
    await api.wait_for(lambda: update_id in api.handled_updates, 10)
    api.flood_control(None)
    exported = [c for c in api.calls if c.ok and c.method == "sendDocument" and c.chat_id == coordinator.id]
    assert exported, "the record with personal data went out"
    async with engine.connect() as conn:
        audited = await conn.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'ticket_record'"))
    assert audited == 1, "an export that went out is not in the audit log"
