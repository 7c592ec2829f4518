"""A coordinator invites an operator with a one-time link; the person who opens it becomes the
operator of that front-office; the link works once; nobody else can make one."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.support import people as chat
from tests.support.database import rows, scalar

COORDINATOR = 4242


@pytest.fixture
async def coordinated_bot(bot):
    """The running bot with a coordinator in ADMIN_IDS (created when the bot starts)."""
    await bot.stop()
    bot.settings = bot.settings.model_copy(update={"admin_ids": (COORDINATOR,)})
    await bot.start()
    return bot


async def operators(engine) -> list[tuple]:
    found = await rows(engine, "SELECT telegram_id, name, office, role, active FROM operators ORDER BY telegram_id")
    return [tuple(row.values()) for row in found]


def invite_link(reply_text: str) -> str:
    match = re.search(r"https://t\.me/qazvolunteer_bot\?start=(op_[A-Za-z0-9_-]+)", reply_text)
    assert match, reply_text
    return match.group(1)


async def test_an_invite_makes_an_operator_once(coordinated_bot, api, people, engine, t):
    coordinator = chat.Person(api, COORDINATOR, "Сәуле", "ru")
    invited = await coordinator.send("/invite almaty Асель Нұрланқызы")
    assert "Асель Нұрланқызы" in invited.text and "Алматы" in invited.text
    payload = invite_link(invited.text)

    newcomer = people("kk")
    welcome = await newcomer.send(f"/start {payload}")
    assert welcome.text.startswith(t("kk", "Welcome! You are now an operator of {office}.").format(office="Алматы"))
    assert "/queue" in welcome.text and "/my" in welcome.text, "told how requests reach them"
    assert (newcomer.id, "Асель Нұрланқызы", "almaty", "operator", True) in await operators(engine)

    # The same link a second time, by someone else: refused, nothing stored for them.
    other = people("en")
    refused = await other.send(f"/start {payload}")
    assert refused.text == t("en", "This invite link does not work: it has been used already or has expired. Ask your coordinator for a new one.")
    assert other.id not in [row[0] for row in await operators(engine)]


async def test_only_a_coordinator_invites_and_a_wrong_region_gets_the_usage(coordinated_bot, api, engine, citizen, t):
    someone = await citizen("ru")
    answer = await someone.send("/invite almaty Асель")
    assert answer.text == t("ru", "I do not know that command. Try /help, /settings or /privacy.")
    assert [row[0] for row in await operators(engine)] == [COORDINATOR]

    coordinator = chat.Person(api, COORDINATOR, "Saule", "en")
    usage = await coordinator.send("/invite mars Someone")
    assert usage.text.startswith("To invite an operator, send /invite, the region and the name")
    assert "astana almaty shymkent" in usage.text
    assert [row[0] for row in await operators(engine)] == [COORDINATOR]


async def test_a_made_up_invite_starts_nothing(coordinated_bot, people, engine, t):
    newcomer = people("ru")
    answer = await newcomer.send("/start op_madeUpTokenmadeUpToken12")
    assert answer.text == t("ru", "This invite link does not work: it has been used already or has expired. Ask your coordinator for a new one.")
    assert [row[0] for row in await operators(engine)] == [COORDINATOR]


async def test_an_operator_goes_off_and_on_duty(coordinated_bot, api, engine, citizen, t):
    coordinator = chat.Person(api, COORDINATOR, "Сәуле", "kk")
    off = await coordinator.send("/duty")
    office = "Ұлттық волонтерлер фронт-кеңсесі"  # from the directory, in her language
    assert off.text == t("kk", "You are off duty ({office}). Send /duty to come back on duty.").format(office=office)
    assert await on_duty(engine, COORDINATOR) is False
    on = await coordinator.send("/duty")
    assert on.text.startswith(t("kk", "You are on duty ({office}). Send /duty to go off duty.").format(office=office))
    assert await on_duty(engine, COORDINATOR) is True

    # A citizen has no duty to take: the command is unknown to them.
    someone = await citizen("ru")
    answer = await someone.send("/duty")
    assert answer.text == t("ru", "I do not know that command. Try /help, /settings or /privacy.")


async def on_duty(engine, telegram_id: int) -> bool:
    return await scalar(engine, "SELECT on_duty FROM operators WHERE telegram_id = :id", id=telegram_id)


async def test_a_coordinator_lists_moves_and_removes_operators_in_the_bot(coordinated_bot, api, engine, people, citizen, t):
    coordinator = chat.Person(api, COORDINATOR, "Saule", "en")
    newcomer = people("kk")
    await newcomer.send(f"/start {invite_link((await coordinator.send('/invite almaty Асель')).text)}")

    someone = await citizen("ru")
    assert (await someone.send("/operators")).text == t("ru", "I do not know that command. Try /help, /settings or /privacy.")
    listed = await coordinator.send("/operators")
    assert f"{newcomer.id} Асель: operator, Almaty, on duty" in listed.text
    assert f"{COORDINATOR} Coordinator {COORDINATOR}: coordinator, National Volunteer Front-Office, on duty" in listed.text

    moved = await coordinator.send(f"/move_operator {newcomer.id} akmola")
    assert moved.text == f"Moved: {newcomer.id} Асель: operator, Akmola Region, on duty"
    for wrong in (f"/move_operator {newcomer.id} mars", "/move_operator Асель akmola", "/move_operator 404 akmola"):
        refused = await coordinator.send(wrong)
        assert refused.text.startswith("Send /move_operator, the operator's id and the new region")
    removed = await coordinator.send(f"/remove_operator {newcomer.id}")
    assert removed.text == f"Removed: {newcomer.id} Асель: operator, Akmola Region, off duty"
    assert (newcomer.id, "Асель", "akmola", "operator", False) in await operators(engine)

    # The removed operator has no duty any more: /duty is just a message from someone not set up.
    after = await newcomer.send("/duty")
    assert "/duty" not in after.text and await on_duty(engine, newcomer.id) is False


async def test_the_list_of_a_national_call_centres_operators_reaches_the_coordinator_whole(
    coordinated_bot, api, engine, content
):
    """Three operators for each of the 21 front-offices, with the longest names: more than one
    message holds (Telegram refuses a text over 4096 characters), so the list comes in several,
    each operator once, in order."""
    from bot.db.engine import create_session_factory
    from bot.services.operators import add_operator

    offices = ["national", *(office.slug for office in content.directory.regions)]
    assert len(offices) == 21
    async with create_session_factory(engine)() as session, session.begin():
        for n in range(63):
            await add_operator(session, content.directory, 700_000 + n, f"Оператор {n:02d} " + "Ә" * 50, offices[n % 21])
    coordinator = chat.Person(api, COORDINATOR, "Saule", "en")
    listed = await coordinator.send("/operators")
    assert len(listed.sent) > 1 and all(len(m.text) <= 4096 for m in listed.sent)
    whole = "\n".join(m.text for m in listed.sent)
    order = [int(line.split()[0]) for line in whole.splitlines() if line.split() and line.split()[0].isdigit()]
    assert sorted(order) == sorted([*range(700_000, 700_063), COORDINATOR]), "each operator once"
    assert listed.sent[0].text.startswith("Operators") and listed.sent[-1].text.endswith("/remove_operator and their id.")


async def test_an_invite_expires_a_day_after_it_was_made(coordinated_bot, api, people, engine, t):
    coordinator = chat.Person(api, COORDINATOR, "Сәуле", "ru")
    invited = await coordinator.send("/invite almaty Асель")
    payload = invite_link(invited.text)
    async with engine.connect() as conn:
        lifetime = await conn.scalar(text("SELECT expires_at - created_at FROM operator_invites"))
    assert lifetime == timedelta(hours=24)
    # A day passes: the link's last moment is behind it.
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE operator_invites SET expires_at = now() - interval '1 second'"))
    newcomer = people("kk")
    refused = await newcomer.send(f"/start {payload}")
    assert refused.text == t("kk", "This invite link does not work: it has been used already or has expired. Ask your coordinator for a new one.")
    assert newcomer.id not in [row[0] for row in await operators(engine)]
    # A new link from the coordinator works.
    again = await newcomer.send(f"/start {invite_link((await coordinator.send('/invite almaty Асель')).text)}")
    assert again.text.startswith(t("kk", "Welcome! You are now an operator of {office}.").format(office="Алматы"))
