"""Anything unexpected gets a short translated answer, and what is stored stays as it was."""


import asyncio

import pytest
from tests.support.scenarios import LANGUAGE_BUTTONS


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_a_sticker_a_photo_or_a_location_where_text_is_wanted(citizen, stored, t, language):
    person = await citizen(language)
    before = await stored.user(person.id)
    expected = t(language, "I can read only text here. Type your question or choose from the menu below.")
    assert (await person.send_sticker()).text == expected
    assert (await person.send_photo()).text == expected
    assert (await person.send_location()).text == expected
    assert person.reply_labels, "the menu is shown again"
    assert await stored.user(person.id) == before


async def test_a_paste_whose_every_piece_is_long_is_still_answered_once(citizen, stored, t):
    """7,700 characters: two pieces of 4096 and 3604, both long, and the second dropped: the
    person is told of it all the same."""
    person = await citizen("en")
    reaction = await person.send("volunteer " * 770)
    assert [m.text for m in reaction.sent] == [
        t("en", "That is a long message. Please ask your question in a sentence or two (up to {limit} characters).")
        .format(limit=300),
        t("en", "The rest of your long text arrived as separate messages (Telegram splits a text longer than "
                "4096 characters); it was not used."),
    ]
    # A minute later they write again: a question, not the rest of anything.
    assert "rest of your long text" not in (await person.send("/help")).text


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_five_thousand_characters(citizen, stored, t, language):
    person = await citizen(language)
    before = await stored.user(person.id)
    # ~5,000 characters: an app sends them as two messages, and the second is only the rest.
    reaction = await person.send("волонтер " * 555)
    assert [m.text for m in reaction.sent] == [
        t(language, "That is a long message. Please ask your question in a sentence or two (up to {limit} characters).")
        .format(limit=300),
        t(language, "The rest of your long text arrived as separate messages (Telegram splits a text longer than "
                    "4096 characters); it was not used."),
    ]
    assert await stored.user(person.id) == before


async def test_text_and_a_sticker_while_a_button_is_expected(people, stored, t):
    person = people("kk")
    await person.send("/start")
    reaction = await person.send("сәлем")
    assert reaction.sent[0].text == t("kk", "Please finish this step first: choose one of the buttons.")
    assert [b["text"] for b in reaction.last.buttons][0] == "Қазақша", "the language choice is shown again"
    await person.press("Қазақша")
    reaction = await person.send_sticker()
    assert reaction.sent[0].text == t("kk", "Please finish this step first: choose one of the buttons.")
    assert t("kk", "✅ I agree") in [b["text"] for b in reaction.last.buttons]
    assert await stored.users() == 0


@pytest.mark.parametrize("command", ["/help", "/settings", "/contacts", "/nonsense"])
async def test_a_command_in_the_middle_of_the_region_choice(people, stored, t, command):
    person = people("ru")
    await person.send("/start")
    await person.press("Русский")
    await person.press(t("ru", "✅ I agree"))
    before = await stored.user(person.id)
    reaction = await person.send(command)
    assert reaction.sent[0].text == t("ru", "Please finish this step first: choose one of the buttons.")
    assert len(reaction.last.buttons) == 20, "the region choice is shown again"
    assert await stored.user(person.id) == before
    assert (await stored.fsm(person.id))[0] == "Onboarding:region"


async def test_an_unknown_command_after_set_up(citizen, t):
    person = await citizen("en")
    reaction = await person.send("/nonsense")
    assert reaction.text == t("en", "I do not know that command. Try /help, /settings or /privacy.")


async def test_a_button_from_an_old_message_changes_nothing(people, stored, t):
    person = people("ru")
    first = (await person.send("/start")).last
    await person.press("Русский", first)
    old_consent = person.last_bot_message()
    second_consent = (await person.send("/start")).last  # the consent is asked again
    await person.press(t("ru", "✅ I agree"), second_consent)
    await person.press("Алматы")
    before = await stored.user(person.id)

    reaction = await person.press(t("ru", "✅ I agree"), old_consent)
    assert reaction.answer == {"text": t("ru", "This button is no longer active."), "show_alert": False}
    assert not reaction.sent and not reaction.edited
    assert await stored.user(person.id) == before


async def test_forged_button_data_is_refused(people, stored, t):
    person = people("en")
    await person.send("/start")
    await person.press("English")
    await person.press(t("en", "✅ I agree"))
    region_prompt = person.last_bot_message()
    before = await stored.user(person.id)
    for data in ("reg:national:o", "reg:atlantis:o", "lang:xx:s", "kb:a:nope:nope:0", "garbage"):
        reaction = await person.press_forged(region_prompt, data)
        assert reaction.answer is not None and not reaction.sent, data
    assert await stored.user(person.id) == before
    assert (await stored.fsm(person.id))[0] == "Onboarding:region"


async def test_a_knowledge_button_of_a_topic_that_no_longer_exists(citizen, t):
    person = await citizen("kk")
    message = (await person.tap(t("kk", "Ask a question"))).last
    reaction = await person.press_forged(message, "kb:t:gone::0")
    assert reaction.answer == {"text": t("kk", "This topic is no longer available."), "show_alert": True}
    reaction = await person.press_forged(message, "kb:a:become:gone:0")
    assert reaction.answer == {"text": t("kk", "This question is no longer available."), "show_alert": True}


async def test_a_telegram_failure_in_the_middle_is_reported_to_the_person(citizen, api, t, stored):
    person = await citizen("kk")
    before = await stored.user(person.id)
    api.fail_next("sendMessage", 500, "Internal Server Error: restart", chat_id=person.id)
    update_id, _ = await api.send_text(person.id, "/help")
    apology = t("kk", "Sorry, something went wrong on our side. Please try again in a minute.")
    await api.wait_for(lambda: any(m.text == apology for m in api.chat(person.id)), 10)
    assert await stored.user(person.id) == before


async def test_failures_undone_while_other_updates_are_claimed_are_each_answered_once(people, api, stored, t, settled):
    """Thirty people press at once and Telegram fails each press's edit: while each failed handling
    is undone and its update claimed again, the same process keeps claiming the others. Each person
    is told once, and each update is handled by the handling that failed it (before, a claim made in
    that moment could take the update being undone, which was then handled a second time and the
    failure never told)."""
    crowd = [people("ru") for _ in range(30)]
    prompts = [(await person.send("/start")).last for person in crowd]
    for person in crowd:
        api.fail_next("editMessageText", 500, "Internal Server Error: restart", chat_id=person.id)
    pressed = await asyncio.gather(*(api.press(person.id, prompt.message_id, "lang:ru:o") for person, prompt in zip(crowd, prompts)))
    await api.wait_for(lambda: all(update_id in api.handled_updates for update_id, _ in pressed) or None, 30)
    await settled()
    apology = t("ru", "Sorry, something went wrong on our side. Please try again in a minute.")
    told = {person.id: [m.text for m in api.chat(person.id)].count(apology) for person in crowd}
    assert told == {person.id: 1 for person in crowd}
    for person in crowd:
        assert await stored.fsm(person.id) == ("Onboarding:language", {}), "the step did not half-happen"


async def test_a_failure_after_a_write_undoes_the_write_and_is_answered_once(people, api, stored, t, settled):
    """The consent is written, then Telegram fails the edit that says so: the person is told once,
    nothing of them is stored (the consent they did not see confirmed is undone), the update is not
    handled again, and the step can be repeated."""
    person = people("ru")
    prompt = (await person.send("/start")).last
    consent = (await person.press("Русский", prompt)).edited[0]
    api.fail_next("editMessageText", 500, "Internal Server Error: restart", chat_id=person.id)
    update_id, press = await api.press(person.id, consent.message_id, next(
        b["callback_data"] for b in consent.buttons if b["text"] == t("ru", "✅ I agree")))
    apology = t("ru", "Sorry, something went wrong on our side. Please try again in a minute.")
    await api.wait_for(lambda: update_id in api.handled_updates, 10)
    assert api.callback_answers[press] is not None, "the button does not spin on"
    await settled()
    assert [m.text for m in api.chat(person.id) if m.text == apology] == [apology]
    assert await stored.user(person.id) is None
    assert await stored.fsm(person.id) == ("Onboarding:consent", {"language": "ru"})
    reaction = await person.press(t("ru", "✅ I agree"), consent)
    assert await stored.user(person.id) is not None
    assert reaction.edited and t("ru", "✅ Thank you, your consent is recorded.") in reaction.edited[0].text


async def test_two_fast_taps_on_the_language_are_handled_one_at_a_time(people, api, stored, t):
    person = people("en")
    prompt = (await person.send("/start")).last
    # Two presses before the bot answers either: the second must find the step already done.
    first, _ = await api.press(person.id, prompt.message_id, "lang:en:o")
    second, _ = await api.press(person.id, prompt.message_id, "lang:ru:o")
    await api.wait_for(lambda: {first, second} <= api.handled_updates, 10)
    consent_prompts = [m for m in api.chat(person.id) if m.from_bot and any("consent" in b["callback_data"] for b in m.buttons)]
    assert len(consent_prompts) == 1
    assert (await stored.fsm(person.id))[1] == {"language": "en"}
    assert LANGUAGE_BUTTONS["en"] in api.message(person.id, prompt.message_id).text


async def test_a_failure_after_a_state_change_stores_nothing_and_the_step_can_be_retried(people, api, stored, t):
    person = people("ru")
    prompt = (await person.send("/start")).last
    api.fail_next("editMessageText", 500, "Internal Server Error: restart", chat_id=person.id)
    update_id, _ = await api.press(person.id, prompt.message_id, "lang:ru:o")
    apology = t("ru", "Sorry, something went wrong on our side. Please try again in a minute.")
    await api.wait_for(lambda: any(m.text == apology for m in api.chat(person.id)), 10)
    assert await stored.fsm(person.id) == ("Onboarding:language", {}), "the step did not half-happen"
    reaction = await person.press("Русский", prompt)
    assert t("ru", "✅ I agree") in [b["text"] for b in reaction.edited[0].buttons]
    assert await stored.fsm(person.id) == ("Onboarding:consent", {"language": "ru"})


async def test_presses_handled_after_telegram_stopped_taking_their_answers_still_do_what_they_asked(
    people, api, bot, stored, t, settled
):
    """The bot was down for a while: presses made meanwhile are handled after the restart, when
    Telegram no longer takes an answer to them ("query is too old"). Each still does what it asked,
    and nobody is told something went wrong."""
    person = people("ru")
    prompt = (await person.send("/start")).last
    await bot.stop()
    api.callback_query_lifetime = 0.3
    api.expect_refusal("answerCallbackQuery", "query is too old", "the press waited for the bot longer than Telegram takes its answer")
    api.allow_unanswered_presses("Telegram refused the late answer: the spinner stopped on its own")
    update_id, press = await api.press(person.id, prompt.message_id, next(
        b["callback_data"] for b in prompt.buttons if b["text"] == "Русский"))
    await asyncio.sleep(0.5)
    await bot.start()
    await api.wait_for(lambda: update_id in api.handled_updates, 10)
    await settled()
    assert api.callback_answers[press] is None, "Telegram took no answer to it"
    consent = api.message(person.id, prompt.message_id)
    assert t("ru", "✅ I agree") in [b["text"] for b in consent.buttons], "the language was chosen"
    assert (await stored.fsm(person.id))[1] == {"language": "ru"}
    apology = t("ru", "Sorry, something went wrong on our side. Please try again in a minute.")
    assert not [m for m in api.chat(person.id) if m.text == apology]
