"""Coordinators keep what their front-office publishes (/office): a phone a citizen taps to call, an
e-mail, a link, the address in each language, a pin on the map, the office's own hours, which its
requests' time limits then count. Every value is checked; a wrong one is refused with an example
and changes nothing; a regional coordinator keeps only their own office's."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.services.clock import KAZAKHSTAN, today_in_kazakhstan
from tests.support.database import rows, scalar
from tests.support.scenarios import open_question

USAGE = (
    "This is your front-office as people see it in 📞 Contacts. To change a detail: /office phone +7 7172 55 66 77, "
    "/office email, /office link, /office address kk|ru|en, /office location (latitude and longitude), /office hours "
    "1-5 09:00-18:00; a single dash (-) unpublishes it. The national office's coordinators put the region's name "
    "first: /office akmola phone …"
)


async def test_a_regional_coordinator_publishes_the_offices_details_and_a_citizen_sees_them(operator, citizen, t, engine):
    coordinator = await operator("akmola", "ru", "Нұрлан", coordinator=True)
    shown = await coordinator.send("/office")
    assert t("ru", "not yet published — use Qazvolunteer.kz") in shown.text

    for typed, expected in (
        ("/office phone 8 7162 25 46 11", "+7 7162 25 46 11"),
        ("/office email akmola@qazvolunteer.kz", "akmola@qazvolunteer.kz"),
        ("/office link https://qazvolunteer.kz/akmola", "https://qazvolunteer.kz/akmola"),
        ("/office address ru Кокшетау, ул. Абая, 89", "Кокшетау, ул. Абая, 89"),
        ("/office hours 1-5 10:00-17:00", "10:00–17:00"),
        ("/office location 53.2836, 69.3966", t("ru", "✅ Saved: people see it in 📞 Contacts now.")),
    ):
        saved = await coordinator.send(typed)
        assert saved.text.startswith(t("ru", "✅ Saved: people see it in 📞 Contacts now.")) and expected in saved.text, (typed, saved.text)

    person = await citizen("ru")
    card = await person.tap(t("ru", "Contacts"))
    text = card.sent[0].text
    for shown_value in ("+7 7162 25 46 11", "akmola@qazvolunteer.kz", "https://qazvolunteer.kz/akmola", "Кокшетау, ул. Абая, 89", "пн–пт 10:00–17:00"):
        assert shown_value in text, (shown_value, text)
    pins = [m for m in card.sent if "venue" in m.extra]
    assert len(pins) == 1, "one pin: the national office published no place"
    venue = pins[0].extra["venue"]
    assert venue["location"] == {"latitude": 53.2836, "longitude": 69.3966} and venue["address"] == "Кокшетау, ул. Абая, 89"
    assert "Акмолинская" in venue["title"]
    kazakh = await citizen("kk")
    kazakh_card = (await kazakh.tap(t("kk", "Contacts"))).sent[0].text
    assert "Кокшетау" not in kazakh_card, "the Russian address is not shown as the Kazakh one"
    assert "10:00–17:00" in kazakh_card


async def test_wrong_values_are_refused_with_an_example_and_change_nothing(operator, t, engine):
    coordinator = await operator("akmola", "en", "Nurlan", coordinator=True)
    await coordinator.send("/office phone +7 7162 25 46 11")
    for typed, problem in (
        ("/office phone 12345", "That is not a Kazakhstan phone number. Send it with the code, for example: +7 7172 55 66 77."),
        ("/office phone +7 495 123 45 67", "That is not a Kazakhstan phone number. Send it with the code, for example: +7 7172 55 66 77."),
        ("/office email not-an-address", "That is not an e-mail address, for example: astana@qazvolunteer.kz."),
        ("/office link http://example.com", "A link must be a full https address, for example: https://qazvolunteer.kz."),
        ("/office location 55.7558 37.6173", "Send the place as latitude and longitude in Kazakhstan, for example: /office location 51.1605 71.4704 (in a map app: share or copy the place's coordinates)."),
        ("/office location here", "Send the place as latitude and longitude in Kazakhstan, for example: /office location 51.1605 71.4704 (in a map app: share or copy the place's coordinates)."),
        ("/office hours 5-1 09:00-18:00", "Send the days (1 is Monday) and the hours, for example: /office hours 1-5 09:00-18:00."),
        ("/office hours 1-5 18:00-09:00", "Send the days (1 is Monday) and the hours, for example: /office hours 1-5 09:00-18:00."),
        ("/office hours 1-5 25:00-26:00", "Send the days (1 is Monday) and the hours, for example: /office hours 1-5 09:00-18:00."),
        ("/office address de Straße 1", "Send the address with its language (kk, ru or en), up to 200 characters, for example: /office address ru ул. Бейбітшілік, 10."),
        ("/office address ru " + "я" * 201, "Send the address with its language (kk, ru or en), up to 200 characters, for example: /office address ru ул. Бейбітшілік, 10."),
        ("/office phone +7 7172 55 66 77 ext 12345678901234567890", "That is not a Kazakhstan phone number. Send it with the code, for example: +7 7172 55 66 77."),
        ("/office link https://.....kz", "A link must be a full https address, for example: https://qazvolunteer.kz."),
        ("/office location 5_1 7_1", "Send the place as latitude and longitude in Kazakhstan, for example: /office location 51.1605 71.4704 (in a map app: share or copy the place's coordinates)."),
    ):
        assert (await coordinator.send(typed)).text == t("en", problem), typed
    stored = await rows(engine, "SELECT phone, email, link, latitude, days, address FROM office_details")
    assert stored == [{"phone": "+7 7162 25 46 11", "email": None, "link": None, "latitude": None, "days": None, "address": {}}], "nothing wrong was kept"
    assert (await coordinator.send("/office akmola fax 123")).text.startswith(t("en", USAGE)[:40]), "an unknown detail: the usage"
    assert "Saved" in (await coordinator.send("/office location 51,1605 71,4704")).text, "decimal commas, as typed in Russian"
    cleared = await coordinator.send("/office phone -")
    assert t("en", "not yet published — use Qazvolunteer.kz") in cleared.text


async def test_who_may_keep_an_offices_details(operator, t, engine):
    regional = await operator("akmola", "ru", "Нұрлан", coordinator=True)
    other = await regional.send("/office almaty phone +7 727 250 00 00")
    assert other.text == t("ru", "This belongs to another front-office: you can act only on your own front-office's requests, people, deeds and announcements.")
    plain = await operator("akmola", "ru", "Оператор")
    assert (await plain.send("/office")).text == t("ru", "Your role does not allow this. Ask a coordinator of the national front-office.")
    national = await operator("national", "en", "Aigerim", coordinator=True)
    saved = await national.send("/office almaty phone +7 727 250 00 00")
    assert "+7 7272 50 00 00" in saved.text, "Almaty's code is 727(2): written as the numbering plan groups it"
    assert (await national.send("/office nowhere phone +7 727 250 00 00")).text == t("en", "There is no such region. The regions' names are in /invite.")
    assert await scalar(engine, "SELECT count(*) FROM office_details") == 1


async def test_an_offices_own_hours_are_what_its_requests_time_limits_count(bot, citizen, operator, engine, t):
    """The office works only on a day that is not today: a request now waits for that day."""
    today = today_in_kazakhstan()
    working = today + timedelta(days=2)
    coordinator = await operator("akmola", "en", "Nurlan", coordinator=True)
    await coordinator.send(f"/office hours {working.isoweekday()} 09:00-18:00")
    dana = await citizen("en")
    number = await open_question(dana, "en", "Hello?", t)
    assert "is closed now. It opens on" in dana.api.chat(dana.id)[-1].text
    due = {r["kind"]: r["due_at"] for r in await rows(engine, "SELECT kind, due_at FROM timers WHERE key = :key", key=str(number))}
    limits = bot.dispatcher["limits"]
    opening = datetime.combine(working, time(9), KAZAKHSTAN)
    assert abs(due["ticket_remind"] - (opening + limits.remind_after)) < timedelta(seconds=5), due
