"""The operator's desk at the scale of the national call-centre: 63 operators over 21 offices, dozens
of requests waiting, 50 + 50 saved replies. Every screen stays within what Telegram accepts (4,096
characters, 100 buttons: the stand-in refuses more, as Telegram does) and every office, operator,
request and reply can still be reached, through pages."""

from __future__ import annotations

from sqlalchemy import text

from bot.db.engine import create_session_factory
from bot.services.operators import add_operator
from bot.standin.html import utf16_length
from bot.views.callbacks import DeskView
from tests.support.database import ticket_row
from tests.support.people import Person
from tests.support.scenarios import open_question, taken_question

NEXT, PREVIOUS = "▶️", "◀️"
LONGEST_NAME = 64  # bot/services/operators.py: MAX_NAME_LENGTH


def long_name(n: int) -> str:
    """An operator's name as long as the bot accepts, Kazakh letters (two bytes each in UTF-8)."""
    name = f"Оператор {n:02d} "
    return name + "Ә" * (LONGEST_NAME - len(name))


def offices_of(content) -> list[str]:
    return ["national", *(office.slug for office in content.directory.regions)]


def within_telegrams_limits(message) -> None:
    assert utf16_length(message.text or "") <= 4096
    assert len(message.buttons) <= 100


async def every_page(person: Person, message) -> list[tuple[str, list[str]]]:
    """The screens a person sees pressing ▶️ until there is none: (text, button labels) each."""
    seen = [(message.text, [b["text"] for b in message.buttons])]
    within_telegrams_limits(message)
    while NEXT in seen[-1][1]:
        message = (await person.press(NEXT, message)).edited[0]
        within_telegrams_limits(message)
        seen.append((message.text, [b["text"] for b in message.buttons]))
        assert len(seen) < 50, "the pages never end"
    return seen


def numbers_on(pages: list[tuple[str, list[str]]]) -> list[int]:
    return [int(label[1:]) for _, labels in pages for label in labels if label.startswith("№") and label[1:].isdigit()]


async def seed_operators(api, engine, content, people: list[tuple[int, str, str]]) -> dict[int, Person]:
    """Operators on duty (id, name, office), each having opened the bot."""
    seeded = {}
    async with create_session_factory(engine)() as session, session.begin():
        for telegram_id, name, office in people:
            seeded[telegram_id] = Person(api, telegram_id, name, "en", started=True)
            await add_operator(session, content.directory, telegram_id, name, office, language="en")
    return seeded


async def seed_requests(api, engine, office: str, count: int, *, first_citizen: int, operator_id: int | None = None) -> list[int]:
    """`count` requests at `office` from citizens who have opened the bot, older first: waiting to be
    taken, or held by `operator_id`."""
    numbers = []
    async with engine.begin() as conn:
        for n in range(count):
            citizen_id = first_citizen + n
            api.add_person(citizen_id, "Citizen", "ru", started=True)
            numbers.append(await conn.scalar(
                text(
                    """
                    INSERT INTO tickets (citizen_id, kind, category, region, office, language, status, operator_id, created_at, taken_at)
                    VALUES (:citizen, 'question', 'question', :region, :office, 'ru', :status, :operator,
                            now() - make_interval(mins => :age), CASE WHEN CAST(:operator AS bigint) IS NOT NULL THEN now() END)
                    RETURNING id
                    """
                ),
                {"citizen": citizen_id, "region": "akmola" if office == "national" else office, "office": office,
                 "status": "taken" if operator_id else "new", "operator": operator_id, "age": 600 - n},
            ))
    return numbers


async def test_a_national_coordinators_desk_reaches_every_office_operator_and_request_of_a_national_call_centre(
    api, citizen, operator, engine, content, t, settled
):
    offices = offices_of(content)
    assert len(offices) == 21
    coordinator = await operator("national", "en", "Marina", coordinator=True)
    staff = await seed_operators(
        api, engine, content, [(700_000 + n, long_name(n), offices[n % 21]) for n in range(63)]
    )
    office_of = {telegram_id: offices[(telegram_id - 700_000) % 21] for telegram_id in staff}
    waiting = []
    for index, office in enumerate(offices):
        waiting += await seed_requests(api, engine, office, 2, first_citizen=800_000 + 10 * index)
    busy = 700_000  # a national operator who holds many: their list has pages too
    held = await seed_requests(api, engine, "national", 25, first_citizen=810_000, operator_id=busy)
    held_by_other = await seed_requests(api, engine, "almaty", 1, first_citizen=820_000, operator_id=700_002)
    # The newest request, from a citizen in the bot: it is the one given to an operator below.
    aigerim = await citizen("en")
    newest = await open_question(aigerim, "en", "Where can I help this weekend?", t)
    waiting.append(newest)
    await settled()

    desk = await coordinator.send("/desk")
    overview = desk.last
    within_telegrams_limits(overview)

    # Every office has its button, on the overview's pages.
    office_labels = [label for _, labels in await every_page(coordinator, overview) for label in labels]
    names = {slug: content.directory.get(slug).name["en"] for slug in offices}
    for slug, name in names.items():
        assert [label for label in office_labels if label.split(" · ")[0] == name], f"no button for {name}"
    if any(NEXT in b["text"] or PREVIOUS in b["text"] for b in overview.buttons):
        overview = (await coordinator.send("/desk")).last

    # Each office's page names its waiting requests and each of its operators (on its pages); an
    # operator's button lists every request they hold (on its pages), wherever it is.
    holders = {"national": (f"👤 {long_name(0)}: 25", held), "almaty": (f"👤 {long_name(2)}: 1", held_by_other)}
    seen_operators: dict[str, str] = {}
    for slug, name in names.items():
        label = next(b["text"] for b in overview.buttons if b["text"].split(" · ")[0] == name)
        page = (await coordinator.press(label, overview)).edited[0]
        screens = await every_page(coordinator, page)
        whole = "\n".join(screen for screen, _ in screens)
        count = 3 if slug == "akmola" else 2  # (the newest request is Akmola's)
        assert t("en", "{office}: {count}, the oldest waits").format(office=name, count=count) in whole
        for telegram_id, person_name in ((i, long_name(i - 700_000)) for i in staff):
            if person_name in whole:
                seen_operators[person_name] = slug
        if slug in holders:
            button, theirs = holders[slug]
            listed = (await coordinator.press(button, page)).edited[0]
            assert numbers_on(await every_page(coordinator, listed)) == theirs
            page = (await coordinator.press(t("en", "⬅️ Back"), listed)).edited[0]
            assert page.text.startswith(f"🖥 {name}"), "back on the office's page"
        overview = (await coordinator.press(t("en", "⬅️ Back"), page)).edited[0]  # (the same message, on its last page)
    assert seen_operators == {long_name(i - 700_000): office_of[i] for i in staff}, "each operator on their office's page"

    # Every waiting request can be reached, through the pages, oldest first; the newest, on the last
    # page, is given to an Akmola operator.
    everyone = (await coordinator.press(t("en", "🟡 Waiting: {count}").format(count=len(waiting)), overview)).edited[0]
    listed = numbers_on(await every_page(coordinator, everyone))
    assert listed == sorted(waiting)
    assert any(b["text"] == f"№{newest}" for b in everyone.buttons)
    picked = (await coordinator.press(f"№{newest}", everyone)).edited[0]
    within_telegrams_limits(picked)
    akmola_people = [i for i in staff if office_of[i] == "akmola"]
    target = akmola_people[0]
    choice = f"{long_name(target - 700_000)} ({names['akmola']})"
    assert choice in [b["text"] for b in picked.buttons]
    given = await coordinator.press(choice, picked)
    assert given.edited[0].text == t("en", "✅ Request №{number} is now with {name}: they have its card and conversation.").format(
        number=newest, name=long_name(target - 700_000)
    )
    await staff[target].receive(t("en", "👤 {name} gave you request №{number}: its card and conversation follow.").format(
        name="Marina", number=newest
    ))
    await aigerim.receive(f"№{newest}")
    row = await ticket_row(engine, newest)
    assert (row["status"], row["operator_id"]) == ("taken", target)


async def test_a_regional_coordinator_with_a_large_office_pages_through_it_and_reaches_no_other_office(
    api, operator, engine, content, t, settled
):
    coordinator = await operator("akmola", "en", "Saule", coordinator=True)
    staff = await seed_operators(api, engine, content, [(710_000 + n, long_name(n), "akmola") for n in range(45)])
    almaty_staff = await seed_operators(api, engine, content, [(720_000, "Asel", "almaty")])
    busy = 710_007
    held = await seed_requests(api, engine, "akmola", 25, first_citizen=830_000, operator_id=busy)
    waiting = await seed_requests(api, engine, "akmola", 30, first_citizen=840_000)
    almaty_waiting = await seed_requests(api, engine, "almaty", 2, first_citizen=850_000)
    await settled()

    desk = await coordinator.send("/desk")
    screens = await every_page(coordinator, desk.last)
    assert len(screens) > 1, "45 operators with long names do not fit one message"
    whole = "\n".join(screen for screen, _ in screens)
    assert t("en", "{office}: {count}, the oldest waits").format(office="Akmola Region", count=30) in whole
    for telegram_id in staff:
        assert long_name(telegram_id - 710_000) in whole
    assert "Saule" in whole and "Asel" not in whole and not any(f"/ticket_{n}" in whole for n in almaty_waiting)

    # The busy operator's 25 requests, and the 30 waiting, over pages; none of another office.
    desk = (await coordinator.send("/desk")).last
    while not any(b["text"] == f"👤 {long_name(7)}: 25" for b in desk.buttons):
        desk = (await coordinator.press(NEXT, desk)).edited[0]
    theirs = (await coordinator.press(f"👤 {long_name(7)}: 25", desk)).edited[0]
    assert numbers_on(await every_page(coordinator, theirs)) == held
    back = (await coordinator.press(t("en", "⬅️ Back"), theirs)).edited[0]
    waiting_list = (await coordinator.press(t("en", "🟡 Waiting: {count}").format(count=30), back)).edited[0]
    assert numbers_on(await every_page(coordinator, waiting_list)) == waiting

    # ◀️ goes back; a page past the end (a list that shrank) shows the last one.
    first = (await coordinator.press(PREVIOUS, waiting_list)).edited[0]
    assert numbers_on([(first.text, [b["text"] for b in first.buttons])]) == waiting[:20]
    late = await coordinator.press_forged(first, DeskView(action="held", office="akmola", page=99).pack())
    assert numbers_on([(late.edited[0].text, [b["text"] for b in late.edited[0].buttons])]) == waiting[20:]
    # Forged data for another office is refused.
    other_office = t("en", "This belongs to another front-office: you can act only on your own front-office's requests, people, deeds and announcements.")
    for forged in (
        DeskView(action="office", office="almaty"),
        DeskView(action="office", office="almaty", page=1),
        DeskView(action="held", office="almaty"),
    ):
        told = await coordinator.press_forged(waiting_list, forged.pack())
        assert told.answer["text"] == other_office and not told.edited, forged
    no_such = await coordinator.press_forged(waiting_list, DeskView(action="pick", ticket=almaty_waiting[0], page=1).pack())
    assert no_such.answer["text"] == t("en", "There is no such request among those of your front-office.")
    assert (await ticket_row(engine, almaty_waiting[0]))["status"] == "new"
    assert almaty_staff  # (Asel is on duty at Almaty: seen by nobody here)


async def seed_saved_replies(engine, office: str, count: int) -> list[str]:
    names = [f"{office}_answer_number_{n:02d}"[:32] for n in range(count)]
    async with engine.begin() as conn:
        for n, name in enumerate(names):
            await conn.execute(
                text("INSERT INTO saved_replies (office, name, texts) VALUES (:office, :name, CAST(:texts AS jsonb))"),
                {"office": office, "name": name,
                 "texts": '{"en": "%s reply %d", "ru": "Ответ %d"}' % (office, n, n)},
            )
    return names


async def test_fifty_office_and_fifty_national_saved_replies_all_reach_the_operator_in_pages(citizen, operator, engine, t):
    akmola_coord = await operator("akmola", "en", "Akmola coordinator", coordinator=True)
    akmola = await operator("akmola", "en", "Nurlan")
    own = await seed_saved_replies(engine, "akmola", 50)
    national = await seed_saved_replies(engine, "national", 50)
    emma = await citizen("en")
    number = await taken_question(emma, akmola, "en", "en", t, "How do I register?")

    card = (await akmola.send(f"/ticket {number}")).last
    choose = await akmola.press(t("en", "⚡ Saved replies"), card)
    within_telegrams_limits(choose.last)
    pages = await every_page(akmola, choose.last)
    labels = [label for _, labels in pages for label in labels if label.split(" ")[0] in own + national]
    assert labels == own + national, "every reply once, the office's own first"
    assert all(t("en", "✖️ Cancel") in labels for _, labels in pages), "a way out on every page"

    # /r lists them the same way; a national reply on the last page goes out.
    typed = await akmola.send("/r")
    within_telegrams_limits(typed.last)
    assert [b["text"] for b in typed.last.buttons][0] == own[0]
    last = typed.last
    while not any(b["text"] == national[-1] for b in last.buttons):
        last = (await akmola.press(NEXT, last)).edited[0]
    back = (await akmola.press(PREVIOUS, last)).edited[0]
    assert national[-1] not in [b["text"] for b in back.buttons]
    last = (await akmola.press(NEXT, back)).edited[0]
    ready = await akmola.press(national[-1], last)
    assert "national reply 49" in ready.text
    await akmola.press(t("en", "📨 Send"), ready.last)
    await emma.receive("national reply 49")

    # The coordinator's /replies lists all 50 of the office's, in messages Telegram accepts.
    kept = await akmola_coord.send("/replies")
    assert all(utf16_length(m.text) <= 4096 for m in kept.sent)
    whole = "\n".join(m.text for m in kept.sent)
    assert all(name in whole for name in own)


async def test_the_fullest_page_of_each_desk_screen_fits_in_every_language(i18n, content):
    """What no seeding above reaches: every operator on a page off duty with the longest name, the
    longest office name, the longest waits and counts, in each language."""
    from datetime import UTC, datetime, timedelta

    from bot.services.tickets.workload import (
        CANDIDATES_PER_PAGE, OFFICES_PER_PAGE, OPERATORS_PER_PAGE, REQUESTS_PER_PAGE, OfficeDesk, OfficeLoad,
        OperatorLoad, Overview, Page,
    )
    from bot.views import workload as views

    directory = content.directory
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=9999, hours=23, minutes=59)
    offices = offices_of(content)
    for language in ("kk", "ru", "en"):
        with i18n.context(), i18n.use_locale(language):
            longest = max(offices, key=lambda slug: len(views.office_name(directory, slug)))
            loads = [OfficeLoad(offices[n % 21], 99_999, long_ago, 9_999_999, 999, 99_999) for n in range(OFFICES_PER_PAGE)]
            overview = Overview(Page(loads, 1, 99, 99 * OFFICES_PER_PAGE), 9_999_999, 99_999, 9_999_999)
            people = [OperatorLoad(9_999_999_999 + n, "Ә" * LONGEST_NAME, longest, False, 9_999, long_ago) for n in range(OPERATORS_PER_PAGE)]
            desk = OfficeDesk(OfficeLoad(longest, 99_999, long_ago, 9_999_999, 999, 99_999), Page(people, 1, 99, 99 * OPERATORS_PER_PAGE))
            screens = [
                (views.overview_text(overview, directory, now), views.overview_keyboard(overview, directory)),
                (views.office_text(desk, directory, now), views.office_keyboard(desk, True)),
            ]
            for text_, markup in screens:
                assert utf16_length(text_) <= 4000, (language, utf16_length(text_))
                assert sum(len(row) for row in markup.inline_keyboard) <= 100
                assert all(len(b.callback_data.encode()) <= 64 for row in markup.inline_keyboard for b in row)
    # A list of requests or of candidates: a page of buttons, ◀️ ▶️ and ⬅️ Back.
    assert REQUESTS_PER_PAGE + 3 <= 100 and CANDIDATES_PER_PAGE + 3 <= 100
