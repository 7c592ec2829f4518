"""First start: language, consent, region, menu — in each language; returning people; restarts."""

import asyncio

import pytest
from sqlalchemy import text
from tests.support.scenarios import LANGUAGE_BUTTONS, REGION_EXAMPLE, onboard


MENU = ("Become a volunteer", "Ask a question", "Contacts", "Settings")


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_a_new_person_chooses_language_consents_and_chooses_region(people, stored, t, language):
    person = people(language)

    reaction = await person.send("/start")
    buttons = [b["text"] for b in reaction.last.buttons]
    assert buttons[0] == LANGUAGE_BUTTONS[language], "the person's Telegram language comes first"
    assert sorted(buttons) == sorted(LANGUAGE_BUTTONS.values())
    assert reaction.last.text.splitlines()[0] == t(language, "Please choose your language:")
    assert await stored.users() == 0

    reaction = await person.press(LANGUAGE_BUTTONS[language])
    assert not reaction.sent, "the language question itself turns into the consent request"
    consent = reaction.edited[0]
    assert consent.text.startswith(f"✅ {LANGUAGE_BUTTONS[language]}")
    assert t(language, "Do you agree to the processing of your personal data?") in consent.text
    assert "/privacy" in consent.text
    assert [b["text"] for b in consent.buttons] == [t(language, "✅ I agree"), t(language, "❌ I do not agree")]
    assert await stored.users() == 0, "nothing is stored before consent"

    reaction = await person.press(t(language, "✅ I agree"))
    assert not reaction.sent, "the consent request turns into the region question"
    region_prompt = reaction.edited[0]
    recorded = t(language, "✅ Thank you, your consent is recorded.")
    assert region_prompt.text == recorded + "\n\n" + t(language, "Which region are you in? Your requests will go to its volunteer front-office.")
    labels = [b["text"] for b in region_prompt.buttons]
    assert len(labels) == 20 and REGION_EXAMPLE[language] in labels
    assert all("national" not in b["callback_data"] for b in region_prompt.buttons)

    reaction = await person.press(REGION_EXAMPLE[language])
    region_line = t(language, "✅ Region: {region}").format(region=REGION_EXAMPLE[language])
    assert reaction.edited[0].text == f"{recorded}\n{region_line}", "the record of consent stays"
    assert not reaction.edited[0].buttons
    assert person.reply_labels == [label for label in person.reply_labels if label]
    for msgid in MENU:
        assert any(t(language, msgid) in label for label in person.reply_labels), msgid
    row = await stored.user(person.id)
    assert row["language"] == language and row["region"] == "akmola"
    assert row["consent_at"] is not None and row["consent_version"] == 1
    assert await stored.fsm(person.id) == (None, {}), "no conversation is left hanging"


async def test_a_telegram_language_the_bot_lacks_offers_the_state_language_first(people):
    person = people("de")
    reaction = await person.send("/start")
    assert [b["text"] for b in reaction.last.buttons] == ["Қазақша", "Русский", "English"]


async def test_the_person_may_pick_another_language_than_telegrams(people, stored, t):
    person = people("ru")
    await onboard(person, "kk")
    assert (await stored.user(person.id))["language"] == "kk"
    assert any(t("kk", "Contacts") in label for label in person.reply_labels)


async def test_a_returning_person_goes_straight_to_the_menu_and_keeps_their_data(citizen, stored, t):
    person = await citizen("kk")
    before = await stored.user(person.id)
    reaction = await person.send("/start")
    assert reaction.text == t("kk", "Welcome back! Ask a question or choose from the menu below.")
    assert any(t("kk", "Settings") in label for label in person.reply_labels)
    assert await stored.user(person.id) == before


async def test_declining_consent_stores_nothing_and_start_asks_again(people, stored, t):
    person = people("en")
    await person.send("/start")
    await person.press("English")
    reaction = await person.press(t("en", "❌ I do not agree"))
    assert "nothing about you has been stored" in reaction.edited[0].text
    assert await stored.users() == 0
    assert await stored.fsm(person.id) == (None, {})
    reaction = await person.send("hello")
    assert reaction.last.text.splitlines()[0] == t("en", "Please choose your language:")


async def test_start_in_the_middle_of_a_choice_shows_the_same_step_again(people, stored, t):
    person = people("ru")
    await person.send("/start")
    await person.press("Русский")
    await person.press(t("ru", "✅ I agree"))
    before = await stored.user(person.id)
    reaction = await person.send("/start")
    assert reaction.last.text == t("ru", "Which region are you in? Your requests will go to its volunteer front-office.")
    assert await stored.user(person.id) == before
    await person.press("Алматы")
    assert (await stored.user(person.id))["region"] == "almaty"


async def test_a_restart_in_the_middle_of_a_choice_resumes_it(people, bot, stored, t):
    person = people("kk")
    await person.send("/start")
    await person.press("Қазақша")
    assert (await stored.fsm(person.id))[0] == "Onboarding:consent"

    await bot.restart()

    reaction = await person.press(t("kk", "✅ I agree"))
    assert reaction.edited[0].text.endswith(t("kk", "Which region are you in? Your requests will go to its volunteer front-office."))
    assert (await stored.user(person.id))["language"] == "kk", "the language chosen before the restart is kept"


async def test_privacy_notice_is_available_at_any_step(people, t):
    person = people("kk")
    await person.send("/start")
    await person.press("Қазақша")
    reaction = await person.send("/privacy")
    assert reaction.text.startswith(t("kk", "<b>Personal data notice</b>").replace("<b>", "").replace("</b>", ""))
    assert "/forget" in reaction.text
    # The consent step is still waiting.
    reaction = await person.press(t("kk", "✅ I agree"))
    assert len(reaction.edited[0].buttons) == 20


async def test_forget_erases_the_person_after_confirmation(citizen, stored, t):
    person = await citizen("ru")
    reaction = await person.send("/forget")
    assert reaction.last.buttons
    reaction = await person.press(t("ru", "Cancel"))
    assert reaction.edited[0].text == t("ru", "Nothing was deleted.")
    assert await stored.user(person.id) is not None

    await person.send("/forget")
    reaction = await person.press(t("ru", "🗑 Yes, delete my data"))
    assert reaction.edited[0].text == t("ru", "Your data has been deleted and your consent withdrawn.")
    assert person.reply_labels == [], "the menu is taken away"
    assert await stored.user(person.id) is None
    reaction = await person.send("/start")
    assert reaction.last.text.splitlines()[0] == t("ru", "Please choose your language:")


async def test_what_the_bot_said_while_handling_is_not_kept_once_handled(people, engine, settled):
    """The intake records the Bot API calls of a handling that makes several (the region chosen: the
    prompt edited, the menu sent) so that a retry after a kill does not repeat them; those records
    hold what the bot said to the person, and go soon after the handling commits."""
    person = people("ru")
    await onboard(person, "ru")
    await settled()
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        async with engine.connect() as conn:
            left = await conn.scalar(text("SELECT count(*) FROM intake_calls"))
        if left == 0 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    assert left == 0, f"{left} recorded calls of handled updates are still kept"


async def test_calls_recorded_while_earlier_ones_are_being_deleted_go_too(people, engine, settled):
    """The recorded calls of handled updates are deleted in batches; a batch may wait (a lock, a
    slow database). What is handled meanwhile goes with the next batch, not with whatever update
    comes next, which in a quiet bot may be never."""
    first, second = people("ru"), people("kk")
    await onboard(first, "ru")
    async with engine.connect() as holder:
        # The first person's calls locked before their batch runs: the batch waits on them.
        assert (await holder.execute(text("SELECT update_id FROM intake_calls FOR UPDATE"))).all()
        await asyncio.sleep(1.5)  # the batch has begun, and waits
        await onboard(second, "kk")  # handled and committed meanwhile
        await holder.commit()
    await settled()  # (also waits for the recorded calls of handled updates to go)
