"""/stats: a month of requests, deeds and people seeded in the database, its figures computed here
independently and compared with the service's and with the report a coordinator reads; every chart
opened as a picture; a regional front-office sees its own region only; bad dates; citizens get
nothing. Also the knowledge base's "Ask an operator", which the statistics count."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

import psutil
import pytest
from sqlalchemy import text

from bot.config import PROJECT_ROOT
from bot.db.engine import create_session_factory
from bot.services import charts, statistics
from bot.services.chart_pool import WORKER_NICENESS
from bot.services.clock import today_in_kazakhstan
from bot.services.marathon import Dates
from bot.services.operators import Operator, Role
from bot.services.statistics import Period, PeriodError, PeriodProblem
from tests.support.statistics import (
    NOVEMBER, NOVEMBER_TYPED, Expected, check_collected, opened_picture, report_lines, seed, seeded_month,
)


async def test_a_coordinator_reads_a_seeded_month_and_its_charts(bot, operator, engine, api, stored):
    month = seeded_month(random.Random(2026))
    await seed(engine, month)
    expected = Expected.of(month, NOVEMBER)
    async with create_session_factory(engine)() as session:
        check_collected(await statistics.collect(session, NOVEMBER, None), expected)

    coordinator = await operator("national", "en", "Сәуле", coordinator=True)
    choice = await coordinator.send("/stats")
    assert "Statistics of all regions" in choice.text
    assert [b["text"] for b in choice.last.buttons] == ["This week", "This month", "The marathon", "📅 Custom dates"]
    prompt = await coordinator.press("Custom dates")
    assert "DD.MM.YYYY-DD.MM.YYYY" in prompt.text

    started = time.perf_counter()
    answer = await coordinator.send(NOVEMBER_TYPED)
    elapsed = time.perf_counter() - started
    print(f"\n/stats for a month with three charts: {elapsed:.2f} s")

    texts = [m for m in answer.sent if m.text]
    photos = [m for m in answer.sent if m.photo]
    report = "\n".join(m.text for m in texts)
    assert all(len(m.text) <= 4096 for m in texts)
    for line in report_lines(expected, None):
        assert line in report, f"{line!r} not in the report:\n{report}"
    assert len(photos) == 3, "requests per region, requests and deeds per day, ratings"
    assert [p.caption.split(" · ")[0] for p in photos] == ["Requests and deeds per day", "Ratings of answers", "Requests by region"]
    for photo in photos:
        opened_picture(api.files[photo.photo[-1]["file_id"]].content)
    assert not any(call.method == "sendMediaGroup" for call in api.calls)
    assert (await stored.fsm(coordinator.id))[0] is None, "the dates step is over once the report is sent"


def chart_workers(parent: int) -> list[psutil.Process]:
    """The processes drawing charts for the bot running in `parent` (not those of an earlier
    test's bot still on their way out)."""
    found = []
    for child in psutil.Process(parent).children():
        with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            if "spawn_main" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
    return found


async def until(condition, timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := condition()):
        assert asyncio.get_running_loop().time() < deadline, "not within the time"
        await asyncio.sleep(0.02)
    return found


def two_workers(parent: int):
    return lambda: (found := chart_workers(parent)) and len(found) == 2 and found


async def test_chart_workers_killed_while_drawing_or_idle_are_replaced_and_every_chart_arrives(bot, operator, engine, api):
    """The workers drawing the charts die (out of memory, a kill), once in the middle of a drawing
    and once while idle: the coordinator still gets the text and all three charts, drawn by new
    workers, and /stats still works afterwards."""
    await seed(engine, seeded_month(random.Random(2026)))
    coordinator = await operator("national", "en", coordinator=True)
    expected = ["Requests and deeds per day", "Ratings of answers", "Requests by region"]

    # In the middle of a drawing: the text goes out once the charts are given to the workers, and
    # drawing them takes ~0.1-0.3 s more.
    await coordinator.send("/stats")
    await coordinator.press("Custom dates")
    workers = await until(two_workers(os.getpid()))
    # They draw with what the bot's own work leaves: the report's text and others' answers first.
    # (Each lowers its own priority as it starts, a moment after its process appears.)
    lowered = min(19, psutil.Process().nice() + WORKER_NICENESS)  # (19 is the lowest there is)
    await until(lambda: all(worker.nice() == lowered for worker in workers), 10)
    before = len(api.chat(coordinator.id))
    await api.send_text(coordinator.id, NOVEMBER_TYPED)
    await until(lambda: any("Statistics" in (m.text or "") for m in api.chat(coordinator.id)[before:]), 10)
    drawing = chart_workers(os.getpid())
    for worker in drawing:
        worker.send_signal(signal.SIGKILL)
    await api.wait_for(lambda: sum(1 for m in api.chat(coordinator.id)[before:] if m.photo) >= 3 or None, 30)
    photos = [m for m in api.chat(coordinator.id)[before:] if m.photo]
    assert [p.caption.split(" · ")[0] for p in photos] == expected
    for photo in photos:
        opened_picture(api.files[photo.photo[-1]["file_id"]].content)
    replaced = await until(two_workers(os.getpid()))
    assert not {w.pid for w in drawing} & {w.pid for w in replaced}, "new workers took the dead ones' place"

    # While idle, between two reports: the next /stats finds them dead and starts new ones.
    for worker in replaced:
        worker.send_signal(signal.SIGKILL)
    psutil.wait_procs(replaced, timeout=10)
    choice = await coordinator.send("/stats")
    assert [b["text"] for b in choice.last.buttons] == ["This week", "This month", "The marathon", "📅 Custom dates"]
    await coordinator.press("Custom dates")
    answer = await coordinator.send(NOVEMBER_TYPED)
    assert "Statistics" in answer.text
    assert [p.caption.split(" · ")[0] for p in answer.sent if p.photo] == expected


async def test_a_killed_bot_leaves_no_chart_workers_behind():
    """The bot is killed (SIGKILL: no goodbye) while its chart workers wait for work: they exit by
    themselves rather than stay on the host for ever."""
    program = (
        "import asyncio\n"
        "from bot.services.chart_pool import ChartPool\n"
        "async def main():\n"
        "    pool = ChartPool()\n"
        "    pool.warm_up()\n"
        "    print('warm', flush=True)\n"
        "    await asyncio.sleep(600)\n"
        "asyncio.run(main())\n"
    )
    bot = subprocess.Popen([sys.executable, "-c", program], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                           env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    try:
        assert bot.stdout.readline().strip() == b"warm"
        workers = await until(two_workers(bot.pid))
        bot.send_signal(signal.SIGKILL)
        bot.wait(10)
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, f"chart workers left running after the bot was killed: {alive}"
    finally:
        if bot.poll() is None:
            bot.kill()


async def test_a_regional_operator_sees_only_their_region(bot, operator, engine, api):
    month = seeded_month(random.Random(7))
    await seed(engine, month)
    expected = Expected.of(month, NOVEMBER, "almaty")
    everyone = Expected.of(month, NOVEMBER)
    async with create_session_factory(engine)() as session:
        check_collected(await statistics.collect(session, NOVEMBER, "almaty"), expected)
    assert len(expected.tickets) < len(everyone.tickets) and expected.tickets

    almaty = await operator("almaty", "en", "Asel")
    assert "Statistics of Almaty" in (await almaty.send("/stats")).text
    await almaty.press("Custom dates")
    answer = await almaty.send(NOVEMBER_TYPED)
    report = "\n".join(m.text for m in answer.sent if m.text)
    for line in report_lines(expected, "almaty"):
        assert line in report, f"{line!r} not in the report:\n{report}"
    assert f"Requests: {len(everyone.tickets)}" not in report
    assert "Astana" not in report and "Akmola" not in report and "By region" not in report
    photos = [m for m in answer.sent if m.photo]
    assert [p.caption.split(" · ")[:2] for p in photos] == [["Requests and deeds per day", "Almaty"], ["Ratings of answers", "Almaty"]]
    for photo in photos:
        opened_picture(api.files[photo.photo[-1]["file_id"]].content)

    # Nothing to press or type reaches another region: the scope comes from who they are.
    assert statistics.scope_of(Operator(1, "A", "almaty", Role.OPERATOR, True, True)) == "almaty"
    assert statistics.scope_of(Operator(2, "N", "national", Role.OPERATOR, True, True)) is None
    assert statistics.scope_of(Operator(3, "C", "almaty", Role.COORDINATOR, True, True)) == "almaty"  # its own office only
    assert statistics.scope_of(Operator(4, "D", "national", Role.COORDINATOR, True, True)) is None
    for forged in ("stp:week:astana", "stp:astana", "stp:region"):
        pressed = await almaty.press_forged(answer.sent[0], forged)
        assert not [m for m in pressed.sent if m.photo] and "Astana" not in pressed.text


async def test_the_period_buttons_and_an_empty_period(bot, operator, engine):
    coordinator = await operator("national", "en", coordinator=True)
    today = today_in_kazakhstan()
    # A request today, so this week and this month have one.
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO tickets (citizen_id, kind, category, region, office, language) VALUES (1, 'question', 'question', 'astana', 'astana', 'kk')"
        ))
    for button, first in (("This week", today - timedelta(days=today.weekday())), ("This month", today.replace(day=1))):
        await coordinator.send("/stats")
        answer = await coordinator.press(button)
        shown = first.strftime("%d.%m.%Y") if first == today else f"{first:%d.%m.%Y} – {today:%d.%m.%Y}"
        assert shown in answer.text and "Requests: 1" in answer.text
        assert [m.caption.split(" · ")[0] for m in answer.sent if m.photo] == ["Requests and deeds per day", "Requests by region"]
    await coordinator.send("/stats")
    marathon_dates = Dates(date(2026, 9, 1), date(2026, 12, 5), 5)  # bot/content/marathon.toml
    expected = Period.marathon(marathon_dates, today)
    assert f"{expected.first:%d.%m.%Y} – {expected.last:%d.%m.%Y}" in (await coordinator.press("The marathon")).text

    await coordinator.send("/stats")
    await coordinator.press("Custom dates")
    empty = await coordinator.send("01.01.2025 - 31.01.2025")
    assert "Nothing happened in this period: no requests, no deeds, nobody joined." in empty.text
    assert not [m for m in empty.sent if m.photo], "no empty charts"


async def test_bad_dates_are_answered_and_cancel_ends_the_step(bot, operator, stored):
    coordinator = await operator("national", "en", coordinator=True)
    await coordinator.send("/stats")
    await coordinator.press("Custom dates")
    for typed, answer in (
        ("November", "I could not read those dates. Please send them as DD.MM.YYYY-DD.MM.YYYY, for example 01.11.2026-30.11.2026."),
        ("01.11.2026", "I could not read those dates."),
        ("31.02.2026-01.03.2026", "I could not read those dates."),
        ("30.11.2026-01.11.2026", "The first day comes after the last one. Please send the earlier day first"),
        ("01.01.2025-31.12.2026", "That is more than 366 days. Please choose a shorter period."),
    ):
        reaction = await coordinator.send(typed)
        assert answer in reaction.text and not [m for m in reaction.sent if m.photo]
        assert reaction.last.buttons[0]["text"] == "✖️ Cancel"
    assert (await stored.fsm(coordinator.id))[0] == "StatsDates:dates"
    cancelled = await coordinator.press("Cancel")
    assert cancelled.edited[0].text == "Cancelled."
    assert (await stored.fsm(coordinator.id))[0] is None
    stale = await coordinator.press_forged(cancelled.edited[0], "stp:cancel")
    assert stale.answer["text"] == "This button is no longer active."
    after = await coordinator.send("01.11.2026-30.11.2026")
    assert "Statistics" not in after.text, "the dates are no longer awaited"


async def test_a_citizen_gets_no_statistics(citizen, api):
    person = await citizen("en")
    reaction = await person.send("/stats")
    assert "Statistics" not in reaction.text and not [m for m in reaction.sent if m.photo]
    assert "I do not know that command" in reaction.text
    forged = await person.press_forged(reaction.last, "stp:month")
    assert "Statistics" not in forged.text and not [m for m in forged.sent if m.photo]


async def test_a_question_after_a_knowledge_base_answer_is_remembered(citizen, operator, engine, t):
    await operator("akmola", "ru")
    person = await citizen("en")
    answer = (await person.send("how do I become a volunteer")).last
    assert max(len(b["callback_data"].encode()) for b in answer.buttons) <= 64
    await person.press(t("en", "💬 Ask an operator"), answer)
    await person.send("The answer did not help me")
    await person.receive("№")

    other = await citizen("en")
    answer = (await other.send("how do I become a volunteer")).last
    await other.press(t("en", "💬 Ask an operator"), answer)
    await other.press(t("en", "✖️ Cancel"))
    await other.tap(t("en", "Ask an operator"))  # from the menu this time: not after an answer
    await other.send("A question of my own")
    await other.receive("№")

    earlier = await citizen("en")  # the button of an answer sent before answers were told apart
    answer = (await earlier.send("how do I become a volunteer")).last
    await earlier.press_forged(answer, "rq:ask:0")
    await earlier.send("An older answer did not help me")
    await earlier.receive("№")

    async with engine.connect() as conn:
        rows = dict((await conn.execute(text("SELECT citizen_id, details FROM tickets"))).all())
    assert rows == {person.id: {"via": "knowledge", "kb": "become/start"}, other.id: {}, earlier.id: {"via": "knowledge"}}
    async with create_session_factory(engine)() as session:
        today = today_in_kazakhstan()
        figures = await statistics.collect(session, Period(today, today))
    assert figures.via_knowledge == 2 and figures.knowledge_entries == (("become/start", 1),)


# --- periods and charts without the bot ---------------------------------------------------------------

def test_periods():
    assert Period.parse(" 01.11.2026 – 30.11.2026 ") == NOVEMBER
    assert Period.parse("1.11.2026-1.11.2026").days == 1
    assert Period.parse("01.01.2024-31.12.2024").days == 366  # a leap year is the longest allowed
    for typed, problem in (("", PeriodProblem.MALFORMED), ("01.11.2026", PeriodProblem.MALFORMED),
                           ("2026-11-01-2026-11-30", PeriodProblem.MALFORMED), ("32.01.2026-01.02.2026", PeriodProblem.MALFORMED),
                           ("02.11.2026-01.11.2026", PeriodProblem.REVERSED), ("01.01.2025-02.01.2026", PeriodProblem.TOO_LONG)):
        with pytest.raises(PeriodError) as caught:
            Period.parse(typed)
        assert caught.value.problem is problem, typed
    wednesday = date(2026, 11, 18)
    assert Period.this_week(wednesday) == Period(date(2026, 11, 16), wednesday)
    assert Period.this_week(date(2026, 11, 16)).days == 1
    assert Period.this_month(wednesday) == Period(date(2026, 11, 1), wednesday)
    marathon = Dates(date(2026, 9, 1), date(2026, 12, 5), 5)
    assert Period.marathon(marathon, wednesday) == Period(date(2026, 9, 1), wednesday)
    assert Period.marathon(marathon, date(2027, 1, 10)) == Period(date(2026, 9, 1), date(2026, 12, 5))
    assert Period.marathon(marathon, date(2026, 8, 1)) == Period(date(2026, 9, 1), date(2026, 9, 1))
    assert NOVEMBER.start == datetime(2026, 10, 31, 19, tzinfo=UTC)
    assert NOVEMBER.end == datetime(2026, 11, 30, 19, tzinfo=UTC)


@pytest.mark.parametrize("days", [1, 2, 30, 366])
def test_every_chart_is_a_picture(days):
    period_days = [date(2026, 1, 1) + timedelta(days=n) for n in range(days)]
    regions = [("Шығыс Қазақстан облысы", 12_345, "12 345"), ("Ақмола облысы", 3, "3")] + [(f"Өңір {n}", 0, "0") for n in range(18)]
    pictures = [
        charts.tickets_per_region(regions[: min(days, 20)], "Өтініштер өңірлер бойынша\n01.11.2026 – 30.11.2026"),
        charts.per_day(period_days, [("Заявки", [n % 7 for n in range(days)]), ("Дела", [0] * days)], "По дням", "Число"),
        charts.ratings((0, 1, 0, 4, 9), ("0", "1", "0", "4", "9"), "Оценки", "Звёзды", "Оценки"),
    ]
    for picture in pictures:
        opened_picture(picture)
