"""The requests' time limits count the offices' working time only: weekly hours, Kazakhstan's public
holidays (the `holidays` package) and the days off coordinators add (/days_off). A request at 17:50
on a Friday with a one-hour limit is due at 09:50 on Monday, not at 18:50."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from bot.app import Content
from bot.services.calendar import WorkingCalendar
from bot.services.clock import today_in_kazakhstan
from bot.services.directory import Directory, ServiceHours
from tests.support.database import rows, scalar
from tests.support.scenarios import open_question

USAGE = (
    "Days off besides weekends and public holidays: the time limits of requests opened afterwards do not run on them. "
    "To add one: /days_off add 31.12.2026 and a note; the national office's coordinators name the region or all "
    "(every office), for example: /days_off add 31.12.2026 akmola staff training. To remove one: /days_off remove "
    "31.12.2026 and the same region."
)
OFFICE_HOURS = ServiceHours(frozenset(range(1, 6)), time(9), time(18), 5)
ASTANA = OFFICE_HOURS.zone


def at(day: str, clock: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), ASTANA)


@pytest.mark.parametrize(
    ("start", "limit", "due", "why"),
    [
        (at("2026-12-04", "17:50"), timedelta(hours=1), at("2026-12-07", "09:50"), "Friday evening: on Monday"),
        (at("2026-12-07", "10:00"), timedelta(hours=1), at("2026-12-07", "11:00"), "within the day"),
        (at("2026-12-07", "07:30"), timedelta(minutes=30), at("2026-12-07", "09:30"), "before opening"),
        (at("2026-12-07", "09:00"), timedelta(hours=20), at("2026-12-09", "11:00"), "over three working days"),
        (at("2026-03-20", "17:50"), timedelta(hours=1), at("2026-03-26", "09:50"), "Nauryz and its moved days off"),
        (at("2026-12-15", "17:30"), timedelta(hours=1), at("2026-12-17", "09:30"), "Independence Day"),
        (at("2026-12-31", "17:00"), timedelta(hours=2), at("2027-01-05", "10:00"), "New Year, its weekend and moved day off"),
    ],
)
def test_a_limit_counts_working_time_only(start, limit, due, why):
    assert WorkingCalendar(OFFICE_HOURS).deadline(start, limit) == due, why


def test_days_off_a_coordinator_added_and_an_office_that_never_closes():
    monday = date(2026, 12, 7)
    assert WorkingCalendar(OFFICE_HOURS, frozenset({monday})).deadline(at("2026-12-04", "17:50"), timedelta(hours=1)) == at("2026-12-08", "09:50")
    around_the_clock = ServiceHours(frozenset(range(1, 8)), time(0), time.max, 5, public_holidays=False)
    start = at("2026-12-16", "23:30")  # a public holiday, but this office works on them
    assert WorkingCalendar(around_the_clock).deadline(start, timedelta(hours=1)) == start + timedelta(hours=1)
    calendar = WorkingCalendar(OFFICE_HOURS)
    assert calendar.next_opening(at("2026-12-16", "10:00")) == at("2026-12-17", "09:00"), "closed on a holiday"
    assert calendar.next_opening(at("2026-12-17", "10:00")) is None


async def test_a_request_on_a_day_off_is_reminded_about_on_the_next_working_day(bot, citizen, operator, content, engine, t):
    """Today is made a day off by a coordinator: a request now is not reminded about within T1
    but T1 after the office opens next, and the citizen is told when that is."""
    every_day = Directory.load()
    every_day.service_hours = ServiceHours(frozenset(range(1, 8)), time(9), time(18), 5, public_holidays=False)
    bot.content = Content(kb=content.kb, directory=every_day)
    await bot.restart()
    today = today_in_kazakhstan()
    coordinator = await operator("akmola", "en", "Nurlan", coordinator=True)
    added = await coordinator.send(f"/days_off add {today:%d.%m.%Y} inventory day")
    assert added.text.startswith(t("en", "Added: {day} is a day off for {office}. The time limits of requests opened from now on skip it.").split("{")[0])
    listed = await coordinator.send("/days_off")
    assert f"{today:%d.%m.%Y}: Akmola Region — inventory day" in listed.text

    dana = await citizen("en")
    number = await open_question(dana, "en", "Hello?", t)
    registered = dana.api.chat(dana.id)[-1].text
    tomorrow = today + timedelta(days=1)
    assert "is closed now. It opens on" in registered and "09:00 (Astana time)" in registered
    due = {r["kind"]: r["due_at"] for r in await rows(engine, "SELECT kind, due_at FROM timers WHERE key = :key", key=str(number))}
    opening = datetime.combine(tomorrow, time(9), ASTANA)
    limits = bot.dispatcher["limits"]
    # Set as "in so long from now" by the database's clock: within a few seconds of the moment.
    assert abs(due["ticket_remind"] - (opening + limits.remind_after)) < timedelta(seconds=5), due
    # Escalation counts the national office's time, which its day off does not stop: a closed
    # regional office's request goes up to the national one as usual.
    national = WorkingCalendar(every_day.service_hours).deadline(datetime.now(ASTANA), limits.escalate_after)
    assert abs(due["ticket_escalate"] - national) < timedelta(seconds=5), due


async def test_who_may_add_days_off_and_bad_input(operator, engine, t):
    regional = await operator("akmola", "ru", "Нұрлан", coordinator=True)
    other = await regional.send("/days_off add 31.12.2030 almaty")
    assert other.text == t("ru", "This belongs to another front-office: you can act only on your own front-office's requests, people, deeds and announcements.")
    plain_operator = await operator("akmola", "ru", "Оператор")
    refused = await plain_operator.send("/days_off")
    assert refused.text == t("ru", "Your role does not allow this. Ask a coordinator of the national front-office.")
    for typed in ("/days_off add 31.02.2030", "/days_off add tomorrow", "/days_off remove"):
        assert (await regional.send(typed)).text == t("ru", USAGE)
    assert (await regional.send("/days_off add 01.01.2020")).text == t("ru", "That day has passed. Add days from today on.")
    assert await scalar(engine, "SELECT count(*) FROM days_off") == 0

    national = await operator("national", "en", "Aigerim", coordinator=True)
    typo = await national.send("/days_off add 31.12.2030 akmolla")
    assert typo.text == t("en", USAGE), "a mistyped region never reaches every office"
    assert await scalar(engine, "SELECT count(*) FROM days_off") == 0
    await national.send("/days_off add 31.12.2030 all <b>party</b>")
    assert await scalar(engine, "SELECT office FROM days_off") == "", "the national office's day off is every office's"
    shown = (await regional.send("/days_off")).text
    assert "31.12.2030" in shown and "&lt;b&gt;" not in shown and "<b>party</b>" in shown, "a note is shown as typed"
    again = await national.send("/days_off add 31.12.2030 all")
    assert again.text == t("en", "{day} is already a day off for {office}.").format(day="31.12.2030", office=t("en", "every office"))
    await national.send("/days_off remove 31.12.2030 ALL")
    assert await scalar(engine, "SELECT count(*) FROM days_off") == 0
