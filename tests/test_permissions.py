"""The permission table (`bot/services/access.py`, README "Who may do what") walked through the bot:
for every action an allowed member of staff succeeds, and each one who is not (a citizen, an
operator, another office's operator or regional coordinator, a removed operator) is refused with a
clear message while nothing stored changes. Forged button data naming another office's request,
deed or announcement is refused the same way."""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta

from sqlalchemy import text

from bot.db.engine import create_session_factory
from bot.services import announcements
from bot.services.announcements import Audience, AudienceKind, Version
from bot.services.operators import Role, add_operator, get_operator
from bot.views.callbacks import (
    AnnouncementControl, AnnouncementStep, DeedReview, DeskView, EraseChoice, SavedReplyUse, TicketAction,
)
from tests.support.bot import TEST_TOKEN
from tests.support.database import blocks
from tests.support.scenarios import join, log_deed, onboard, open_question, run_marathon

# What is kept about people and their requests; a refused action changes none of it.
WATCHED = (
    "tickets", "ticket_messages", "operators", "operator_invites", "deeds", "announcements", "audit_log",
    "marathon_settings", "nominations", "nominees", "deed_kind_limits", "users", "saved_replies",
)

REFUSED = {
    "not_staff": "This is for active operators of the front-offices. If you were one, ask your coordinator.",
    "not_allowed": "Your role does not allow this. Ask a coordinator of the national front-office.",
    "other_office": "This belongs to another front-office: you can act only on your own front-office's requests, people, deeds and announcements.",
}


async def snapshot(engine) -> dict[str, list]:
    async with engine.connect() as conn:
        return {
            table: sorted(map(repr, (await conn.execute(text(f"SELECT * FROM {table}"))).all())) for table in WATCHED
        }


async def forge(person, data: str):
    """Press a button with `data` under the person's latest message from the bot."""
    return await person.press_forged(person.last_bot_message(), data)


def said(reaction) -> str:
    """What the person was told: the button's alert, or the messages sent."""
    return (reaction.answer or {}).get("text") or reaction.text


class Walk:
    """Try an action as someone who may not: told `expected`, nothing stored changes."""

    def __init__(self, engine, t) -> None:
        self.engine, self.t = engine, t

    async def refused(self, action, expected: str, language: str = "en") -> None:
        await self.refused_any(action, (expected,), language)

    async def refused_any(self, action, expected: tuple[str, ...], language: str = "en") -> None:
        before = await snapshot(self.engine)
        reaction = await action
        told = said(reaction)
        wanted = [self.t(language, REFUSED.get(one, one)) for one in expected]
        assert any(one in told for one in wanted), f"expected one of {wanted!r}, was told {told!r}"
        after = await snapshot(self.engine)
        changed = [table for table in WATCHED if before[table] != after[table]]
        assert not changed, f"a refused action changed {changed}"


async def test_every_action_of_the_table_allows_whom_it_says_and_refuses_everyone_else(
    bot, citizen, people, operator, engine, content, t, api
):
    await run_marathon(engine, content.rules)
    walk = Walk(engine, t)
    akmola_op = await operator("akmola", "en", "Akmola operator")
    akmola_second = await operator("akmola", "en", "Akmola second")
    almaty_op = await operator("almaty", "en", "Almaty operator")
    akmola_coord = await operator("akmola", "en", "Akmola coordinator", coordinator=True)
    national_op = await operator("national", "en", "National operator")
    national_coord = await operator("national", "en", "National coordinator", coordinator=True)
    removed = await operator("akmola", "en", "Removed")
    await national_coord.send(f"/remove_operator {removed.id}")
    await removed.send("/start")  # a chat with the bot, to press an old button in
    someone = await citizen("en")

    # Objects of two offices: a request and a deed each; announcements to Almaty and to everyone.
    akmola_citizen, almaty_citizen = await citizen("en"), people("en")
    await onboard(almaty_citizen, "en", "Almaty")
    akmola_ticket = await open_question(akmola_citizen, "en", "Akmola question", t)
    almaty_ticket = await open_question(almaty_citizen, "en", "Almaty question", t)
    await join(almaty_citizen, t, "en")
    await log_deed(almaty_citizen, t, "en", content.rules.kind("trees").name["en"], "30")
    async with create_session_factory(engine)() as session, session.begin():
        to_almaty = await announcements.create(
            session, created_by=national_coord.id, language="en", audience=Audience(AudienceKind.REGION, "almaty"),
            versions={"all": Version(html="Almaty news")},
        )
        to_everyone = await announcements.create(
            session, created_by=national_coord.id, language="en", audience=Audience(AudienceKind.EVERYONE),
            versions={"all": Version(html="News")},
        )
        for made in (to_almaty, to_everyone):  # held, so the sender leaves them as they are
            await announcements.control(session, made.id, "pause")
    card = await akmola_op.receive(f"№{akmola_ticket}")
    await akmola_op.press("Take", card)

    # Requests: another office's request through forged buttons and numbers.
    for action in ("take", "history", "transfer", "close", "reply"):
        forged = TicketAction(action=action, ticket=almaty_ticket).pack()
        await walk.refused(forge(akmola_op, forged), "There is no such request among those of your front-office.")
        await walk.refused(forge(akmola_coord, forged), "There is no such request among those of your front-office.")
    await walk.refused(akmola_op.send(f"/ticket {almaty_ticket}"), "Send /ticket and the number of a request of your front-office")
    # (no longer staff, and not set up as a citizen either)
    await walk.refused(forge(removed, TicketAction(action="take", ticket=akmola_ticket).pack()), "Please send /start first.")
    await walk.refused(forge(someone, TicketAction(action="take", ticket=akmola_ticket).pack()), "This button is no longer active.")
    assert f"№{almaty_ticket}" in (await national_op.send(f"/ticket {almaty_ticket}")).text

    # Saved replies and notes on another office's request; keeping another office's replies.
    not_found = "There is no such request among those of your front-office."
    for action in ("list", "show", "send", "edit"):
        await walk.refused(forge(akmola_op, SavedReplyUse(action=action, ticket=almaty_ticket, reply=1).pack()), not_found)
    await walk.refused(forge(akmola_op, TicketAction(action="note", ticket=almaty_ticket).pack()), not_found)
    await walk.refused(akmola_op.send(f"/note №{almaty_ticket} A note"), not_found)
    await walk.refused(akmola_coord.send("/replies almaty set hello ru\nЗдравствуйте"), "other_office")
    await walk.refused(akmola_op.send("/replies set hello ru\nЗдравствуйте"), "not_allowed")
    await walk.refused(national_op.send("/replies set hello ru\nЗдравствуйте"), "not_allowed")
    assert "✅" in (await akmola_coord.send("/replies set hello ru\nЗдравствуйте")).text
    assert "✅" in (await national_coord.send("/replies almaty set hello ru\nЗдравствуйте")).text
    await walk.refused(akmola_op.send("/desk"), "not_allowed")
    await walk.refused(forge(akmola_coord, DeskView(action="to", ticket=almaty_ticket, operator=almaty_op.id).pack()), not_found)
    await walk.refused(forge(akmola_coord, DeskView(action="pick", ticket=almaty_ticket).pack()), not_found)
    assert "Almaty operator" not in (await akmola_coord.send("/desk")).text
    national_desk = (await national_coord.send("/desk")).last  # offices first; each office's page lists its operators
    assert "Almaty operator" in (await national_coord.press("Almaty · ", national_desk)).edited[0].text

    # Supervising: a colleague cannot read the History of a request someone else holds; a
    # coordinator of that office and the national office's coordinators can.
    history = TicketAction(action="history", ticket=akmola_ticket).pack()
    await walk.refused(forge(akmola_second, history), "Request №{number} has already been taken by".format(number=akmola_ticket))
    await walk.refused(forge(national_op, history), "Request №{number} has already been taken by".format(number=akmola_ticket))
    assert "Akmola question" in (await forge(akmola_coord, history)).text
    assert "Akmola question" in (await forge(national_coord, history)).text

    # Exports, records, erasure and the audit log.
    await walk.refused(akmola_coord.send("/tickets_export almaty"), "other_office")
    exported = await akmola_coord.send("/tickets_export")
    assert exported.sent[0].caption.startswith("Requests: 1.")  # Akmola's one, not Almaty's
    await walk.refused(akmola_coord.send(f"/ticket_record {almaty_ticket}"), "other_office")
    # (an operator who never set up the bot as a citizen is led to do so; a citizen is told no)
    await walk.refused(akmola_op.send(f"/ticket_record {akmola_ticket}"), "Please choose your language:")
    await walk.refused(someone.send(f"/ticket_record {akmola_ticket}"), "I do not know that command.")
    assert (await akmola_coord.send(f"/ticket_record {akmola_ticket}")).sent[0].document
    erase_almaty = EraseChoice(ticket=almaty_ticket, confirm=True).pack()
    await walk.refused(forge(akmola_coord, erase_almaty), "other_office")
    await walk.refused(forge(akmola_op, erase_almaty), "Please send /start first.")
    await walk.refused(akmola_coord.send("/audit"), "not_allowed")
    assert "exported the full record of request" in (await national_coord.send("/audit")).text

    # Operators: a regional coordinator manages their own office's operators only.
    listed = (await akmola_coord.send("/operators")).text
    assert "Akmola second" in listed and "Almaty operator" not in listed and "National coordinator" not in listed
    assert "Almaty operator" in (await national_coord.send("/operators")).text
    await walk.refused(akmola_coord.send("/invite almaty Асель"), "other_office")
    await walk.refused(akmola_coord.send("/invite national Асель"), "other_office")
    assert "https://t.me/" in (await akmola_coord.send("/invite akmola Асель")).text
    await walk.refused(akmola_coord.send(f"/remove_operator {almaty_op.id}"), "other_office")
    await walk.refused(akmola_coord.send(f"/remove_operator {national_coord.id}"), "other_office")
    await walk.refused(akmola_coord.send(f"/move_operator {akmola_second.id} almaty"), "not_allowed")
    await walk.refused(akmola_op.send(f"/remove_operator {akmola_second.id}"), "Please choose your language:")

    # Announcements: a regional coordinator addresses their region's residents only.
    await akmola_coord.send("/announce")
    await akmola_coord.press("One text for everyone")
    audiences = await akmola_coord.send("Akmola news")
    assert [b["text"] for b in audiences.last.buttons][:1] == [t("en", "📍 One region")] and len(audiences.last.buttons) == 2
    for kind in (AudienceKind.EVERYONE, AudienceKind.PARTICIPANTS, AudienceKind.OPERATORS):
        await walk.refused(forge(akmola_coord, AnnouncementStep(action="audience", value=kind).pack()), "other_office")
    await walk.refused(forge(akmola_coord, AnnouncementStep(action="region", value="almaty").pack()), "other_office")
    await walk.refused(forge(akmola_coord, AnnouncementStep(action="language", value="en").pack()), "other_office")
    await akmola_coord.press("One region", audiences.last)
    assert [b["text"] for b in akmola_coord.last_bot_message().buttons][0] == "Akmola Region"
    preview = await akmola_coord.press("Akmola Region")
    assert "To: everyone in Akmola Region." in preview.text
    for announcement in (to_almaty, to_everyone):
        forged = AnnouncementControl(announcement=announcement.id, action="cancel").pack()
        await walk.refused(forge(akmola_coord, forged), "other_office")
    listing = (await akmola_coord.send("/announcements")).text
    assert f"№{to_almaty.id}" not in listing and f"№{to_everyone.id}" not in listing
    assert f"№{to_almaty.id}" in (await national_coord.send("/announcements")).text

    # The marathon: deeds of one's own region, and settings for the national office.
    async with engine.connect() as conn:
        deed_id = await conn.scalar(text("SELECT id FROM deeds"))
    approve = DeedReview(action="approve", deed=deed_id).pack()
    await walk.refused(forge(akmola_op, approve), "This deed has been reviewed already, or is not one of your front-office's.")
    await walk.refused(forge(akmola_coord, approve), "This deed has been reviewed already, or is not one of your front-office's.")
    assert "No deeds are waiting for review" in (await akmola_coord.send("/deeds")).text
    await walk.refused(akmola_coord.send("/marathon_export almaty"), "other_office")
    today = date.today()
    await walk.refused(akmola_coord.send(f"/marathon_dates {today} {today + timedelta(days=9)}"), "not_allowed")
    await walk.refused(akmola_coord.send("/marathon_limit trees 10"), "not_allowed")
    await walk.refused(akmola_coord.send("/marathon_kind trees off"), "not_allowed")
    await walk.refused(akmola_coord.send("/nominations"), "not_allowed")

    # Statistics: a regional coordinator sees their own region.
    assert "Statistics of Akmola Region" in (await akmola_coord.send("/stats")).text

    # What the allowed do, last (it changes things): the Almaty operator takes their request, the
    # Akmola coordinator removes their own operator and erases their own request's citizen.
    almaty_card = await almaty_op.receive(f"№{almaty_ticket}")
    assert "is yours" in (await almaty_op.press("Take", almaty_card)).answer["text"]
    assert "Removed:" in (await akmola_coord.send(f"/remove_operator {akmola_second.id}")).text
    await akmola_coord.send(f"/erase {akmola_ticket}")
    erased = await akmola_coord.press("Yes, erase")
    assert erased.edited and "Erased" in erased.edited[0].text
    assert "Moved:" in (await national_coord.send(f"/move_operator {almaty_op.id} akmola")).text
    log = (await national_coord.send("/audit")).text
    for entry in (f"moved operator {almaty_op.id} to akmola", f"removed operator {akmola_second.id} (akmola)",
                  "erased the data of the citizen of request", "made an invite link for a new operator of akmola"):
        assert entry in log


async def test_a_take_racing_the_removal_of_its_operator_never_leaves_the_request_with_them(
    citizen, operator, engine, t, api
):
    coordinator = await operator("national", "en", "Saule", coordinator=True)
    # The Take owes the other operator's card a refresh ("taken by"). When that refresh goes out only
    # after the removal has put the request back (here: a loaded machine; reproduced by holding it
    # back with a 429 longer than a card edit waits out), it renders the card as it already is, and
    # Telegram refuses the edit as "not modified" (the bot lets that pass). A defect of the refresh,
    # which does not know what a card shows, left open for now: not what this test is about.
    api.expect_refusal("editMessageText", "message is not modified", "a Take undone before its card refresh went out")
    for attempt in range(3):
        leaving, staying = await operator("akmola", "en", f"Leaving {attempt}"), await operator("akmola", "en", f"Staying {attempt}")
        asker = await citizen("en")
        number = await open_question(asker, "en", f"Race {attempt}", t)
        card = await leaving.receive(f"№{number}")
        await staying.receive(f"№{number}")
        take, _query = await api.press(leaving.id, card.message_id, card.button("✋ Take")["callback_data"])
        removal, *_ = await api.send_text(coordinator.id, f"/remove_operator {leaving.id}")
        await api.wait_for(lambda: {take, removal} <= api.handled_updates)
        async with engine.connect() as conn:
            status, holder = (await conn.execute(text("SELECT status, operator_id FROM tickets WHERE id = :id"), {"id": number})).one()
            active = await conn.scalar(text("SELECT active FROM operators WHERE telegram_id = :id"), {"id": leaving.id})
        assert active is False
        assert holder != leaving.id, f"attempt {attempt}: request №{number} is held by a removed operator"
        assert status == "new"
        async with engine.connect() as conn:
            await conn.execute(text("UPDATE tickets SET status = 'closed' WHERE id = :id"), {"id": number})
            await conn.commit()


async def test_an_invite_is_spent_only_by_an_operator_created_and_dies_with_its_inviters_power(
    bot, operator, people, engine, content, t
):
    coordinator = await operator("akmola", "en", "Akmola coordinator", coordinator=True)
    national = await operator("national", "en", "Saule", coordinator=True)
    made = (await coordinator.send("/invite akmola Асель")).text
    payload = made.split("?start=", 1)[1].split()[0]
    await national.send(f"/remove_operator {coordinator.id}")

    newcomer = people("en")
    refused = await newcomer.send(f"/start {payload}")
    assert refused.text == t("en", "This invite link does not work: it has been used already or has expired. Ask your coordinator for a new one.")
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM operators WHERE telegram_id = :id"), {"id": newcomer.id}) == 0
        assert await conn.scalar(text("SELECT count(*) FROM operator_invites WHERE used_at IS NOT NULL")) == 0

    # Back in office, their link works again, once, and the joining is in the audit log.
    async with create_session_factory(engine)() as session, session.begin():
        await add_operator(session, content.directory, coordinator.id, "Akmola coordinator", "akmola", Role.COORDINATOR)
    assert (await newcomer.send(f"/start {payload}")).text.startswith(t("en", "Welcome! You are now an operator of {office}.").split("{")[0])
    async with create_session_factory(engine)() as session:
        joined = await get_operator(session, newcomer.id)
    assert joined is not None and joined.office == "akmola" and joined.active
    log = (await national.send("/audit")).text
    assert "became an operator of" in log and "made an invite link" in log and "removed operator" in log


async def test_no_staff_command_does_anything_for_a_citizen_an_operator_or_a_removed_operator(
    bot, citizen, operator, engine, t
):
    walk = Walk(engine, t)
    national = await operator("national", "en", "Saule", coordinator=True)
    akmola_op = await operator("akmola", "en", "Asel")
    removed = await operator("akmola", "en", "Gone")
    await national.send(f"/remove_operator {removed.id}")
    asker = await citizen("en")
    number = await open_question(asker, "en", "A question", t)
    await akmola_op.send("/start")  # an operator who also uses the bot as a citizen
    await akmola_op.press("English")
    await akmola_op.press("✅")
    await akmola_op.press("Akmola Region")
    await removed.send("/start")
    commands = (
        "/audit", f"/ticket_record {number}", f"/erase {number}", "/tickets_export", "/operators",
        "/invite akmola Асель", f"/remove_operator {akmola_op.id}", f"/move_operator {akmola_op.id} almaty",
        "/announce", "/announcements", "/marathon_export", "/marathon_dates 2026-12-01 2026-12-31",
        "/marathon_limit trees 5", "/marathon_kind trees off", "/nominations", f"/block {number} spam",
        f"/unblock {number}",
    )
    told = {
        asker: ("I do not know that command.",),
        akmola_op: ("I do not know that command.", "Announcements are sent by the front-offices' coordinators.",
                    "Only coordinators can block and unblock people."),
        removed: ("Please finish this step first: choose one of the buttons.",),
    }
    for person, answers in told.items():
        for command in commands:
            await walk.refused_any(person.send(command), answers)


async def blocks_of(engine) -> list[tuple]:
    return [(block["telegram_id"], block["ticket_id"]) for block in await blocks(engine)]


async def test_a_regional_coordinator_cannot_reach_another_offices_request_through_an_old_one_of_their_own(
    citizen, operator, engine, t
):
    """/block through an old Akmola request must not close the person's open request at Almaty,
    and /unblock through it must not lift a block made through Almaty's request."""
    emma = await citizen("en")
    akmola_op, almaty_op = await operator("akmola", "en", "Nurlan"), await operator("almaty", "en", "Asel")
    akmola_coord = await operator("akmola", "en", "Akmola coordinator", coordinator=True)
    national = await operator("national", "en", "Saule", coordinator=True)
    first = await open_question(emma, "en", "First question", t)
    card = await akmola_op.receive(f"№{first}")
    await akmola_op.press("Take", card)
    await akmola_op.press("Close", card)
    await akmola_op.send("Answered")
    await emma.receive("Answered")  # the resolution, with the request to rate it
    second = await open_question(emma, "en", "I moved to Almaty", t)
    card = await akmola_op.receive(f"№{second}")
    await akmola_op.press("Transfer", card)
    await akmola_op.press("Almaty")
    await akmola_op.send("She lives in Almaty now")
    await almaty_op.receive(f"№{second}")

    refused = await akmola_coord.send(f"/block {first} spam")
    assert refused.text == t("en", "Request №{number} belongs to another front-office: only its coordinators or the national office's can block or unblock its author.").format(number=second)
    async with engine.connect() as conn:
        status = await conn.scalar(text("SELECT status FROM tickets WHERE id = :id"), {"id": second})
    assert status == "new" and await blocks_of(engine) == []

    await national.send(f"/block {second} spam")
    assert await blocks_of(engine) == [(emma.id, second)]
    refused = await akmola_coord.send(f"/unblock {first}")
    assert refused.text == t("en", "Request №{number} belongs to another front-office: only its coordinators or the national office's can block or unblock its author.").format(number=second)
    assert await blocks_of(engine) == [(emma.id, second)]


async def test_forged_ids_too_large_for_the_database_are_answered_not_crashed(operator, t):
    coordinator = await operator("national", "en", "Saule", coordinator=True)
    await coordinator.send("/erase 12")  # a message with buttons to press under
    huge = 10**20
    erased = await forge(coordinator, EraseChoice(ticket=huge, confirm=True).pack())
    assert erased.edited and erased.edited[0].text == t("en", "There is no request №{number}, or its citizen's data is already erased.").format(number=huge)
    paused = await forge(coordinator, AnnouncementControl(announcement=huge, action="pause").pack())
    assert paused.answer["text"] == t("en", "This announcement has already finished.")
    assert "something went wrong" not in erased.text + paused.text


async def test_a_reply_to_an_old_message_of_a_request_since_passed_on_does_not_take_it_back(citizen, operator, engine, t):
    emma = await citizen("en")
    national = await operator("national", "en", "Saule")
    almaty = await operator("almaty", "en", "Asel")
    number = await open_question(emma, "en", "Who answers?", t)  # Akmola has nobody on duty: national
    card = await national.receive(f"№{number}")
    await national.press("Take", card)
    relayed = await national.receive("Who answers?")
    await national.press("Transfer", card)
    await national.press("Almaty")
    await national.send("Almaty's volunteers can help")
    await almaty.receive(f"№{number}")

    late = await national.send("One more thing", reply_to=relayed)

    assert late.text == t("en", "Request №{number} is now with {office}: to answer it, press ✋ Take on its card first (/ticket {number}).").format(number=number, office="Almaty")
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT status, office, operator_id FROM tickets WHERE id = :id"), {"id": number})).one()
        said = await conn.scalar(text("SELECT count(*) FROM ticket_messages WHERE author = 'operator'"))
    assert tuple(row) == ("new", "almaty", None) and said == 0


async def test_a_prompt_is_shown_only_to_whoever_may_finish_it(bot, citizen, operator, engine, content, t):
    """Close on a request a colleague holds, and the reasons or amount of another region's deed,
    are refused before anyone types a word."""
    await run_marathon(engine, content.rules)
    emma = await citizen("en")
    holder, colleague = await operator("akmola", "en", "Nurlan"), await operator("akmola", "en", "Aidana")
    almaty = await operator("almaty", "en", "Asel")
    number = await open_question(emma, "en", "Help", t)
    card = await holder.receive(f"№{number}")
    await holder.press("Take", card)
    await colleague.receive(f"№{number}")
    closing = await forge(colleague, TicketAction(action="close", ticket=number).pack())
    assert closing.answer["text"] == t("en", "Request №{number} has already been taken by {name}.").format(number=number, name="Nurlan")
    assert not closing.sent

    await join(emma, t, "en")
    await log_deed(emma, t, "en", content.rules.kind("trees").name["en"], "30")
    async with engine.connect() as conn:
        deed = await conn.scalar(text("SELECT id FROM deeds"))
    await almaty.send("/deeds")
    for action in ("reject", "other", "correct"):
        prompt = await forge(almaty, DeedReview(action=action, deed=deed).pack())
        assert prompt.answer["text"] == t("en", "This deed has been reviewed already, or is not one of your front-office's.")
        assert not prompt.sent


async def test_staff_work_happens_in_a_private_chat_only(citizen, operator, engine, t, api):
    """An operator who added the bot to a group and replies there: message ids are per chat, so a
    group message's id must not be looked up among their private chat's links (and cards and
    histories must not be shown to a group)."""
    emma = await citizen("en")
    akmola = await operator("akmola", "en", "Nurlan")
    number = await open_question(emma, "en", "Private question", t)
    card = await akmola.receive(f"№{number}")
    group = {"id": -1001234567890, "type": "supergroup", "title": "Volunteers of Akmola"}
    api.add_person(group["id"], "Volunteers of Akmola", None, started=True)  # a group the bot was added to
    bot_user = {"id": int(TEST_TOKEN.split(":")[0]), "is_bot": True, "first_name": "Qazvolunteer"}
    quoted = {"message_id": card.message_id, "date": int(time.time()), "chat": group, "from": bot_user, "text": "hi"}
    reply = {
        "message_id": card.message_id + 1, "date": int(time.time()), "chat": group,
        "from": api.person(akmola.id).api(), "text": "Hello from the group", "reply_to_message": quoted,
    }
    update = await api._push_update("message", reply)
    await api.wait_for(lambda: update in api.handled_updates or None, 10)
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT status, operator_id FROM tickets WHERE id = :id"), {"id": number})).one()
        said = await conn.scalar(text("SELECT count(*) FROM ticket_messages WHERE author = 'operator'"))
    assert tuple(row) == ("new", None) and said == 0


async def test_a_citizens_message_waiting_for_a_removed_operator_never_reaches_them(citizen, operator, engine, t, api):
    """What the outbox owes an operator about a request is checked when it is sent: removed meanwhile
    (the message held up by flood control), they get nothing of it; the request's new taker does."""
    emma = await citizen("en")
    national = await operator("national", "en", "Saule", coordinator=True)
    leaving, staying = await operator("akmola", "en", "Leaving"), await operator("akmola", "en", "Staying")
    number = await open_question(emma, "en", "First words", t)
    card = await leaving.receive(f"№{number}")
    await staying.receive(f"№{number}")
    await leaving.press("Take", card)
    await leaving.receive("First words")
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2, chat_id=leaving.id)
    await emma.send("A private detail for the operator")
    await national.send(f"/remove_operator {leaving.id}")

    again = await staying.receive(f"№{number}")
    await staying.press("Take", again)
    await staying.receive("A private detail for the operator")

    async def settled() -> bool | None:
        async with engine.connect() as conn:
            waiting = await conn.scalar(
                text("SELECT count(*) FROM outbox WHERE chat_id = :id AND sent_at IS NULL AND failed IS NULL"), {"id": leaving.id}
            )
        return waiting == 0 or None

    for _ in range(100):
        if await settled():
            break
        await asyncio.sleep(0.1)
    assert await settled(), "the message owed to the removed operator is still waiting"
    assert not [m for m in api.chat(leaving.id) if "A private detail" in (m.text or "")]


async def test_erase_does_not_wipe_an_active_operators_working_data(operator, engine, t):
    """The author of a request may be an operator who also uses the bot as a citizen: /erase of that
    request must not take their desk (links to the requests they answer, what is owed to them)."""
    national = await operator("national", "en", "Saule", coordinator=True)
    asel = await operator("akmola", "en", "Asel")
    await onboard(asel, "en")
    number = await open_question(asel, "en", "A question of my own", t)
    await asel.receive(f"№{number}")  # their own request's card, as an on-duty operator of Akmola

    async def linked() -> int:
        async with engine.connect() as conn:
            return await conn.scalar(text("SELECT count(*) FROM ticket_links WHERE chat_id = :id"), {"id": asel.id})

    for _ in range(100):  # the card's link commits just after Telegram took the card
        if links := await linked():
            break
        await asyncio.sleep(0.05)
    assert links

    await national.send(f"/erase {number}")
    refused = await national.press("Yes, erase")

    assert refused.answer["text"] == t("en", "The author of request №{number} is an operator of the front-offices: remove them first (/remove_operator), or ask them to send /forget themselves.").format(number=number)
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM ticket_links WHERE chat_id = :id"), {"id": asel.id}) >= links
        assert await conn.scalar(text("SELECT count(*) FROM users WHERE telegram_id = :id"), {"id": asel.id}) == 1
        assert await conn.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'erase_person'")) == 0


async def test_the_help_lists_only_what_the_member_of_staff_may_do(operator):
    regional = await operator("akmola", "en", "Akmola coordinator", coordinator=True)
    national = await operator("national", "en", "Saule", coordinator=True)
    plain = await operator("akmola", "en", "Asel")
    await regional.send("/duty")  # off duty
    await national.send("/duty")
    await plain.send("/duty")
    regional_help, national_help, plain_help = [
        (await person.send("/duty")).text for person in (regional, national, plain)
    ]
    assert "/ticket_record" in regional_help and "/audit" not in regional_help and "/move_operator" not in regional_help
    assert "/ticket_record" in national_help and "/audit" in national_help and "/move_operator" in national_help
    assert "/queue" in plain_help and "/ticket_record" not in plain_help and "/audit" not in plain_help
