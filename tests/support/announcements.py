"""Coordinators' announcements in tests: people seeded by the thousand, an announcement composed
in the bot, what reached whom, and waiting for the sending loop to finish or rest."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text

from bot.jobs.announcements import LOCK_KEY
from tests.support.people import SEND_METHODS


SEEDED_FROM = 3_000_000


LANGUAGES = ("kk", "ru", "en")


async def seed_people(api, engine, count: int, *, turned_off: int = 0, blocked: int = 0) -> dict[int, str]:
    """`count` onboarded people (languages in turn, every region Akmola), the first `turned_off`
    with announcements off, the next `blocked` blocking the bot in Telegram (the bot does not know
    yet). Returns {telegram_id: language} of everyone seeded."""
    people = {SEEDED_FROM + i: LANGUAGES[i % 3] for i in range(count)}
    for telegram_id in people:
        api.add_person(telegram_id, "Seeded", None, started=True)  # people of the database have written before
    for telegram_id in list(people)[turned_off:turned_off + blocked]:
        api.block(telegram_id)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO users (telegram_id, language, region, consent_version, consent_at, announcements) "
                "SELECT id, lang, 'akmola', 1, now(), NOT (ord <= :off) "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:langs AS text[])) WITH ORDINALITY AS p(id, lang, ord)"
            ),
            {"ids": list(people), "langs": list(people.values()), "off": turned_off},
        )
    return people


def delivered(api, chat_ids) -> dict[int, list]:
    """The bot's messages in each of these chats."""
    wanted = set(chat_ids)
    found: dict[int, list] = {chat_id: [] for chat_id in wanted}
    for call in api.calls:
        if call.ok and call.method in SEND_METHODS and call.chat_id in wanted:
            found[call.chat_id].append(call)
    return found


def sends_to(api, chat_ids) -> list:
    wanted = set(chat_ids)
    return [c for c in api.calls if c.ok and c.method in SEND_METHODS and c.chat_id in wanted]


async def state_of(engine, announcement_id: int = 1) -> dict:
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM announcements WHERE id = :id"), {"id": announcement_id})).mappings().one()
    return dict(row)


async def wait_until(predicate, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await predicate()
        if result:
            return result
        await asyncio.sleep(step)
    raise AssertionError("timed out")


async def announcer_at_rest(engine, announcement_id: int = 1, timeout: float = 20) -> None:
    """Wait until no process is sending announcements and nobody of this one is being sent to:
    the sending loop has seen the state (paused, cancelled, done) and let go of its advisory lock.
    What has not been sent by then will not be while the state stands."""
    async def at_rest() -> bool:
        async with engine.connect() as conn:
            sending_lock = await conn.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = :key"),
                {"key": LOCK_KEY},
            )
            in_flight = await conn.scalar(
                text("SELECT count(*) FROM announcement_recipients WHERE announcement_id = :id AND state = 'sending'"),
                {"id": announcement_id},
            )
        return sending_lock == 0 and in_flight == 0

    await wait_until(at_rest, timeout, step=0.05)


async def compose(coordinator, *, per_language: bool, audience: str = "👥 Everyone", say=lambda msgid: msgid) -> str:
    """/announce through to the preview; returns the preview's summary. `say` translates the
    buttons' labels into the coordinator's language."""
    await coordinator.send("/announce")
    if per_language:
        await coordinator.press(say("A version in each language"))
        await coordinator.send("Қайырлы күн! Волонтерлер марафоны 5 желтоқсанда аяқталады.")
        await coordinator.send("Добрый день! Марафон добрых дел завершается 5 декабря.")
        reaction = await coordinator.send_photo(caption="Hello! The Marathon of Good Deeds ends on 5 December.")
    else:
        await coordinator.press(say("One text for everyone"))
        reaction = await coordinator.send("Волонтерлер күні құтты болсын! С Днём волонтёра! Happy Volunteer Day!")
    assert say("Who is it for?") in reaction.text
    reaction = await coordinator.press(say(audience))
    return reaction.sent[-1].text


def max_in_any_second(calls) -> int:
    times = sorted(c.at for c in calls)
    most, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def sent_at_least(api, ids, at_least: int) -> bool:
    return len(sends_to(api, ids)) >= at_least


async def announcement_finished(engine, announcement_id: int = 1) -> dict | None:
    found = await state_of(engine, announcement_id)
    return found if found["state"] in ("done", "cancelled") else None
