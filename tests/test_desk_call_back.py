""""Call me back": a citizen leaves a number and a window within the office's hours; the card
says so; the operator marks each call (called, no answer, reached); "no answer" brings a reminder at
the next window; the time limit counts to the first call."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from bot.views.callbacks import CallWindow
from tests.support.database import ticket_row


async def ask_for_a_call(person, language: str, t, phone: str = "8 701 123 45 67") -> object:
    await person.tap(t(language, "Ask an operator"))
    await person.press(t(language, "📞 Call me back instead"))
    assert any(b.get("request_contact") for row in person.api.reply_keyboard(person.id)["keyboard"] for b in row)
    windows = await person.send(phone)
    return windows.last


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_a_citizen_asks_for_a_call_and_the_operator_marks_each_call(citizen, operator, engine, t, language, settled):
    akmola = await operator("akmola", "en", "Nurlan")
    person = await citizen(language)
    await person.tap(t(language, "Ask an operator"))
    await person.press(t(language, "📞 Call me back instead"))
    wrong = await person.send("12345")
    assert wrong.text == t(language, "That does not look like a Kazakhstan phone number. Type it as +7 7XX XXX XX XX, or press the button below.")
    assert [b["text"] for b in wrong.last.buttons] == [t(language, "✖️ Cancel")], "a way out: the phone's keyboard hid the menu"
    windows = (await person.send("8 701 123 45 67")).last
    labels = [b["text"] for b in windows.buttons]
    assert len(labels) == 7 and labels[-1] == t(language, "✖️ Cancel") and all("–" in label for label in labels[:-1])
    first_window = labels[0]
    await person.press(first_window, windows)
    await person.send("Маған азық-түлік әкелуге көмек керек, телефонмен сөйлескенім жөн")
    registered = await person.receive("+77011234567")
    assert t(language, "📞 An operator will call you at {phone} in the window you chose: {window} (Astana time).").format(
        phone="+77011234567", window=first_window) in registered.text

    card = await akmola.receive("+77011234567")
    number = int(card.text.split("№", 1)[1].split()[0])
    assert first_window.split(", ")[-1] in card.text and t("en", "A call back") in card.text  # (the card in English)
    row = await ticket_row(engine, number)
    assert row["kind"] == "callback" and row["phone"] == "+77011234567" and row["first_answer_at"] is None
    taken = await akmola.press(t("en", "✋ Take"), card)
    async with engine.connect() as conn:
        clocks = dict((await conn.execute(text(
            "SELECT kind, due_at FROM timers WHERE key = :k AND done_at IS NULL AND kind IN ('ticket_unanswered', 'ticket_call_due')"
        ), {"k": str(number)})).all())
    details = row["details"]
    assert abs((clocks["ticket_unanswered"] - datetime.fromisoformat(details["window_to"])).total_seconds()) < 5, \
        "T3 counts to the end of the window the citizen chose"
    if "ticket_call_due" in clocks:  # (a window beginning later: its operator is reminded then)
        assert abs((clocks["ticket_call_due"] - datetime.fromisoformat(details["window_from"])).total_seconds()) < 5
    buttons = [b["text"] for b in taken.edited[0].buttons]
    assert buttons[:3] == [t("en", "📞 Called"), t("en", "📵 No answer"), t("en", "✅ Reached")]

    no_answer = await akmola.press(t("en", "📵 No answer"), taken.edited[0])
    assert no_answer.answer["show_alert"]
    missed = await person.receive("📵")
    assert f"№{number}" in missed.text and "Nurlan" not in missed.text
    row = await ticket_row(engine, number)
    assert row["first_answer_at"] is not None, "the time limit counts to the first call"
    async with engine.connect() as conn:
        again = await conn.scalar(text(
            "SELECT due_at FROM timers WHERE kind = 'ticket_call_again' AND key = :k AND done_at IS NULL"), {"k": str(number)})
        unanswered = await conn.scalar(text(
            "SELECT count(*) FROM timers WHERE kind = 'ticket_unanswered' AND key = :k AND done_at IS NULL"), {"k": str(number)})
    assert again is not None and unanswered == 0
    await akmola.press(t("en", "✅ Reached"), taken.edited[0])
    async with engine.connect() as conn:
        assert await conn.scalar(text(
            "SELECT count(*) FROM timers WHERE kind = 'ticket_call_again' AND key = :k AND done_at IS NULL"), {"k": str(number)}) == 0
    history = await akmola.press(t("en", "📜 History"), taken.edited[0])
    assert t("en", "📵 no answer, to call again") in history.text and t("en", "✅ reached, talked") in history.text
    await settled()
    assert not [m for m in person.received() if "Nurlan" in (m.text or "")], "the citizen never learns the operator's name"


async def test_a_forged_or_past_window_and_a_stranger_pressing_call_buttons_are_refused(citizen, operator, engine, t, settled):
    akmola = await operator("akmola", "en", "Nurlan")
    almaty = await operator("almaty", "en", "Asel")
    person = await citizen("en")
    windows = await ask_for_a_call(person, "en", t)
    first_start = int(windows.buttons[0]["callback_data"].split(":")[1])
    far = first_start + int(timedelta(days=180).total_seconds())  # a window start, but not one offered
    for forged in (CallWindow(start=1_000_000_000), CallWindow(start=int(time.time()) + 7 * 60 + 13), CallWindow(start=far)):
        refused = await person.press_forged(windows, forged.pack())
        assert refused.answer["text"] == t("en", "That window is no longer available: please choose another.")
    await person.press([b["text"] for b in windows.buttons][0], windows)
    sticker = await person.send_sticker()
    assert t("en", "Please write it as text, up to {limit} characters.").format(limit=3000) in sticker.text
    await person.send("Please call me about the marathon")
    card = await akmola.receive("Please call me about the marathon")
    number = int(card.text.split("№", 1)[1].split()[0])
    own = (await almaty.send("/queue")).last
    for outcome in ("called", "no_answer", "reached"):
        told = await almaty.press_forged(own, f"tk:{outcome}:{number}")
        assert told.answer["text"] == t("en", "There is no such request among those of your front-office.")
    async with engine.connect() as conn:
        calls = await conn.scalar(text("SELECT count(*) FROM ticket_messages WHERE ticket_id = :n AND extra->>'event' = 'call'"), {"n": number})
    assert calls == 0 and (await ticket_row(engine, number))["status"] == "new"
    await settled()


async def test_a_window_over_by_the_time_the_citizen_has_written_is_chosen_again(citizen, operator, engine, t, settled):
    akmola = await operator("akmola", "en", "Nurlan")
    person = await citizen("ru")
    windows = await ask_for_a_call(person, "ru", t)
    await person.press([b["text"] for b in windows.buttons][0], windows)
    # The citizen took their time: the window they chose is over now.
    async with engine.begin() as conn:
        await conn.execute(text(
            "UPDATE fsm_states SET data = data || jsonb_build_object('window_to', CAST(now() - interval '1 minute' AS text))"
            " WHERE key LIKE :k"), {"k": f"%{person.id}%"})
    again = await person.send("Хочу поговорить о волонтёрстве")
    assert t("ru", "The window you chose has passed meanwhile: please choose another.") in again.text
    await person.press([b["text"] for b in again.last.buttons][1], again.last)
    card = await akmola.receive("Хочу поговорить о волонтёрстве")  # what they wrote is kept, not asked again
    assert "+77011234567" in card.text
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM tickets WHERE citizen_id = :c"), {"c": person.id}) == 1
    await settled()


async def test_a_reopened_call_back_no_longer_shows_its_past_window(citizen, operator, engine, t, settled):
    akmola = await operator("akmola", "en", "Nurlan")
    person = await citizen("en")
    windows = await ask_for_a_call(person, "en", t)
    window = [b["text"] for b in windows.buttons][0]
    await person.press(window, windows)
    await person.send("About the marathon")
    card = await akmola.receive("About the marathon")
    number = int(card.text.split("№", 1)[1].split()[0])
    taken = await akmola.press(t("en", "✋ Take"), card)
    await akmola.press(t("en", "✅ Reached"), taken.edited[0])
    await akmola.press(t("en", "✅ Close"), taken.edited[0])
    await akmola.send("Talked it over")
    await person.receive("Talked it over")
    await person.tap(t("en", "Ask an operator"))
    await person.press(t("en", "🔁 About request {number}").format(number=f"№{number}"))
    await person.send("One more thing")
    await akmola.receive("One more thing")
    shown = (await akmola.send(f"/ticket {number}")).last
    assert window.split(", ")[-1] not in shown.text, "the window was for the first call, long past"
    assert "+77011234567" in shown.text and t("en", "📞 Called") in [b["text"] for b in shown.buttons]
    async with engine.connect() as conn:
        pending = await conn.scalar(text(
            "SELECT count(*) FROM timers WHERE key = :k AND kind = 'ticket_call_due' AND done_at IS NULL"), {"k": str(number)})
    assert pending == 0


async def test_no_answer_brings_the_call_again_at_the_citizens_time_and_the_reminders_reach_the_operator(citizen, operator, engine, t, settled, content):
    """A miss early in the window: again in 30 minutes, within it. A miss as it ends: the same
    window on the office's next working day, which the card and the citizen are told. The operator
    is reminded when the window begins and when it is time to call again."""
    akmola = await operator("akmola", "kk", "Нұрлан")
    person = await citizen("ru")
    windows = await ask_for_a_call(person, "ru", t)
    chosen = [b["text"] for b in windows.buttons][1]  # (a window beginning later: a reminder then)
    await person.press(chosen, windows)
    await person.send("Нужна помощь с продуктами, лучше по телефону")
    card = await akmola.receive("+77011234567")
    number = int(card.text.split("№", 1)[1].split()[0])
    taken = (await akmola.press(t("kk", "✋ Take"), card)).edited[0]
    await akmola.receive("Нужна помощь с продуктами")  # (the conversation so far, after Take)
    await person.receive(f"№{number}")  # taken

    async def due_of(kind: str) -> datetime:
        async with engine.connect() as conn:
            return await conn.scalar(text("SELECT due_at FROM timers WHERE kind = :kind AND key = :k AND done_at IS NULL"),
                                     {"kind": kind, "k": str(number)})

    async def fire(kind: str) -> None:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE timers SET due_at = now() WHERE kind = :kind AND key = :k AND done_at IS NULL"),
                               {"kind": kind, "k": str(number)})

    # The window begins: its operator is reminded, in their language.
    await fire("ticket_call_due")
    begun = await akmola.receive(f"📞 №{number}")
    assert begun.text == t("kk", "📞 The window the citizen of request {number} chose has begun: call {phone} now.").format(
        number=f"№{number}", phone="+77011234567")

    # Missed early in the window: again in 30 minutes.
    await akmola.press(t("kk", "📵 No answer"), taken)
    again = await due_of("ticket_call_again")
    assert abs((again - datetime.now(again.tzinfo) - timedelta(minutes=30)).total_seconds()) < 60
    missed = await person.receive("📵")
    assert chosen.split(", ")[-1] in missed.text, "the citizen learns when they will be called: within their window"
    await fire("ticket_call_again")
    reminded = await akmola.receive(f"📞 №{number}")
    assert reminded.text == t("kk", "📞 Time to call the citizen of request {number} again: {phone}. Nobody answered last time.").format(
        number=f"№{number}", phone="+77011234567")

    # Missed as the window ends: the same hours the next day (the test's offices work every day).
    row = await ticket_row(engine, number)
    window_from = datetime.fromisoformat(row["details"]["window_from"])
    window_to = datetime.fromisoformat(row["details"]["window_to"])
    shift = window_to - (datetime.now(window_to.tzinfo) + timedelta(minutes=20))
    async with engine.begin() as conn:
        await conn.execute(text(
            "UPDATE tickets SET details = details || jsonb_build_object('window_from', CAST(:f AS text), 'window_to', CAST(:to AS text))"
            " WHERE id = :n"), {"f": (window_from - shift).isoformat(), "to": (window_to - shift).isoformat(), "n": number})
    await akmola.press(t("kk", "📵 No answer"), taken)
    again = await due_of("ticket_call_again")
    next_day = window_from - shift + timedelta(days=1)
    assert abs((again - next_day).total_seconds()) < 5, (again, next_day)
    row = await ticket_row(engine, number)
    assert datetime.fromisoformat(row["details"]["window_from"]) == next_day
    missed = await person.receive("📵")
    zone = content.directory.service_hours.zone
    # Cut to that day's working hours: the test's offices work around the clock, so at midnight (a
    # window shifted to end 20 minutes from now, when that is just after midnight in Astana).
    starts = next_day.astimezone(zone)
    ends = min(next_day + (window_to - window_from), datetime.combine(starts.date() + timedelta(days=1), datetime.min.time(), zone))
    hours = f"{starts:%H:%M}–{ends.astimezone(zone):%H:%M}"
    assert hours in missed.text, "the citizen learns when they will be called again"
    shown = (await akmola.send(f"/ticket {number}")).last
    assert hours in shown.text, "the card shows the window of the next call"
    await settled()
