"""The Marathon of Good Deeds: joining, logging deeds (and every refusal), review by the right
front-office, and the totals and leaderboards that only approved deeds reach."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.db.engine import create_session_factory
from bot.services import marathon
from bot.services.clock import today_in_kazakhstan
from tests.support.bot import run_bot
from tests.support.database import count, scalar
from tests.support.scenarios import deed_up_to_photos, join, log_deed, run_marathon


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_joining_and_logging_a_deed_in_each_language(citizen, engine, content, t, language):
    await run_marathon(engine, content.rules)
    person = await citizen(language)
    await join(person, t, language)
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT kind, display_name, region FROM participants WHERE telegram_id = :id"), {"id": person.id})).one()
    assert tuple(row) == ("person", "Айгерім", "akmola")

    litter = content.rules.kind("litter")
    done = await log_deed(person, t, language, litter.name[language], "120,5", photos=2)
    assert "№" in done
    mine = await person.press(t(language, "📋 My deeds"))
    assert "120.5" in mine.text and t(language, "⏳ waiting for review") in mine.text
    assert t(language, "nothing approved yet") in mine.text


async def test_a_deed_of_each_kind_and_anonymous_organisations(citizen, engine, content, t, api):
    api.without_chat_limits("a deed of every kind logged at machine speed: a person takes minutes")
    await run_marathon(engine, content.rules)
    person = await citizen("en")
    await join(person, t, "en", "🏢 As an organisation", name=None)
    for kind in content.rules.kinds:
        amount = "1" if kind.max < 10 else "3"
        assert "is logged" in await log_deed(person, t, "en", kind.name["en"], amount)
    async with engine.connect() as conn:
        kinds = (await conn.execute(text("SELECT kind FROM deeds WHERE participant_id = :id ORDER BY id"), {"id": person.id})).scalars().all()
        name = await conn.scalar(text("SELECT display_name FROM participants WHERE telegram_id = :id"), {"id": person.id})
    assert kinds == [kind.slug for kind in content.rules.kinds]
    assert name is None


async def test_every_refusal_stores_nothing(citizen, engine, content, t, api):
    api.without_chat_limits("every wrong answer tried at machine speed: a person takes minutes")
    await run_marathon(engine, content.rules, daily_limit=2)
    person = await citizen("ru")
    await join(person, t, "ru")
    trees = content.rules.kind("trees")
    await person.press(t("ru", "📝 Log a deed"))
    await person.press(trees.name["ru"])
    for typed, reason in (
        ("много", "Please send the amount as a number, for example 12 (whole for things you count)."),
        ("0", "The amount must be more than zero."),
        ("-3", "The amount must be more than zero."),
        ("2,5", "Please send the amount as a number, for example 12 (whole for things you count)."),
    ):
        assert t("ru", reason) in (await person.send(typed)).text
    too_much = await person.send("5000")
    assert "2000" in too_much.text
    sticker = await person.send_sticker()
    assert t("ru", "Please use the buttons or answer in words.") in sticker.text
    await person.send("10")
    tomorrow = (today_in_kazakhstan() + timedelta(days=1)).strftime("%d.%m.%Y")
    assert t("ru", "That date has not come yet: a deed is logged once it is done.") in (await person.send(tomorrow)).text
    long_ago = (today_in_kazakhstan() - timedelta(days=60)).strftime("%d.%m.%Y")
    assert t("ru", "That date is outside the marathon's dates.") in (await person.send(long_ago)).text
    assert t("ru", "Please type the date as DD.MM.YYYY, for example 28.11.2026.") in (await person.send("31.02.2026")).text
    # Back twice, then forward again: the answers so far are kept.
    await person.press(t("ru", "⬅️ Back"))
    await person.press(t("ru", "⬅️ Back"))
    await person.press(trees.name["ru"])
    await person.send("10")
    await person.press(t("ru", "Yesterday"))
    await person.send("Кокшетау")
    assert t("ru", "That is too long: up to {limit} characters, please.").format(limit=500) in (await person.send("д" * 10_000)).text
    await person.send("Посадили аллею")
    await person.send_photo("the alley")
    alley = person.sent_last()
    again = await person.send_again(alley)  # from the app's recent files: the same file
    assert t("ru", "This photo already proves another deed. Please send a photo of this deed.") in again.text
    document = await person.send_document(b"%PDF", "proof.pdf", "application/pdf")
    assert t("ru", "Please send the proof as a photo, or as a picture file (JPEG, PNG or WebP, up to 10 MB).") in document.text
    await person.press(t("ru", "✅ Done"))
    await person.press(t("ru", "✅ Log it"))
    assert await count(engine, "deeds") == 1

    # The same photo for a second deed is refused, with the deed it proves. (A picture uploaded
    # again, a new file to Telegram: tests/test_deed_photos.py.)
    await person.press(t("ru", "📝 Log a deed"))
    await person.press(trees.name["ru"])
    await person.send("5")
    await person.press(t("ru", "Today"))
    await person.send("Кокшетау")
    await person.send("Ещё деревья")
    reused = await person.forward(alley)  # forwarded from their own chat with the bot
    assert t("ru", "This photo, or one made from it (re-saved, resized, a screenshot), already proves deed №{number}. Please send a photo of this deed.").format(
        number=await scalar(engine, "SELECT max(id) FROM deeds")) in reused.text
    await person.send_photo("a new photo")
    await person.press(t("ru", "✅ Done"))
    await person.press(t("ru", "✅ Log it"))
    assert await count(engine, "deeds") == 2

    # The daily limit (2 here).
    refused = await log_deed(person, t, "ru", trees.name["ru"], "1")
    assert t("ru", "You have logged {limit} deeds today, the most for one day. Please come back tomorrow.").format(limit=2) in refused
    assert await count(engine, "deeds") == 2

    # The marathon over: nothing can be logged.
    await run_marathon(engine, content.rules, days_before=40, days_after=-10)
    closed = await person.press(t("ru", "📝 Log a deed"))
    assert t("ru", "The marathon is not running now, so deeds cannot be logged.") in closed.text
    assert await count(engine, "deeds") == 2


async def test_review_by_the_right_office_and_results_from_approved_deeds_only(citizen, operator, engine, content, t):
    await run_marathon(engine, content.rules)
    first, second = await citizen("kk"), await citizen("en")
    await join(first, t, "kk", name="Айгерім")
    await join(second, t, "en", name=None)
    trees, litter = content.rules.kind("trees"), content.rules.kind("litter")
    await log_deed(first, t, "kk", trees.name["kk"], "30")
    await log_deed(first, t, "kk", litter.name["kk"], "900")
    await log_deed(second, t, "en", trees.name["en"], "12")
    await log_deed(second, t, "en", trees.name["en"], "1000")

    almaty = await operator("almaty", "en", "Asel")
    nothing = await almaty.send("/deeds")
    assert "No deeds are waiting for review" in nothing.text
    akmola = await operator("akmola", "en", "Nurlan")
    card = (await akmola.send("/deeds")).last
    assert card.photo and "30" in card.caption
    forged = await almaty.press_forged(card, card.button("✅ Approve")["callback_data"])
    assert "not one of your front-office's" in forged.answer["text"]

    approved = await akmola.press("✅ Approve", card)
    told = await first.receive("30 ағаш отырғызылды")
    assert told.text.startswith(t("kk", "✅ Your deed №{number} is approved: {words}. Thank you!").split("№")[0])
    # Corrected: 900 kg of litter were 0.9 tonnes; the reviewer makes it 450.
    await akmola.press("✏️ Correct the amount", approved.last)
    await akmola.send("450")
    corrected = await first.receive("тонна")
    assert "0,5 тонна қоқыс жиналды" in corrected.text and "900" in corrected.text  # in tonnes; what they claimed
    card = akmola.api.chat(akmola.id)[-1]
    await akmola.press("❌ Reject", card)
    await akmola.press("The photos do not show this deed.")
    rejected = await second.receive("The photos do not show this deed.")
    assert rejected.text.startswith("❌ Your deed №")
    card = akmola.api.chat(akmola.id)[-1]
    await akmola.press("✅ Approve", card)
    await second.receive("1,000 trees planted")

    results = await second.press("🏆 Results")
    assert "1,030 trees planted" in results.text and "0.5 tonnes of litter collected" in results.text
    assert "1. Айгерім (Akmola Region): 2\n2. anonymous (Akmola Region): 1" in results.text
    assert "1. Akmola Region: 3" in results.text
    async with engine.connect() as conn:
        states = (await conn.execute(text("SELECT state, amount, claimed_amount FROM deeds ORDER BY id"))).all()
    assert [s[0] for s in states] == ["approved", "approved", "rejected", "approved"]
    assert states[1][1] == 450 and states[1][2] == 900


async def seed_reviewed(engine, content, api, people: int = 3) -> None:
    """Participants of Akmola and Almaty with an approved, a rejected and a pending deed each,
    stored through the service as the bot would (they joined in the bot, so it may write to them)."""
    for n in range(people):
        api.add_person(7000 + n, f"Участник {n}", "ru", started=True)
    from bot.services.operators import Role, add_operator

    today = today_in_kazakhstan()
    async with create_session_factory(engine)() as session, session.begin():
        # A real coordinator: the review checks the reviewer's record in its transaction.
        reviewer = await add_operator(session, content.directory, 1, "Reviewer", "national", Role.COORDINATOR)
        for n in range(people):
            who = await marathon.join(session, 7000 + n, "person", f"Участник {n}", "akmola" if n % 2 == 0 else "almaty")
            for m, kind in enumerate(("trees", "animals", "litter")):
                deed = await marathon.log_deed(
                    session, content.rules, who, content.rules.kind(kind), marathon.parse_amount(content.rules.kind(kind), "10"),
                    today, "Кокшетау", "=HYPERLINK(\"http://evil\")" if m == 0 else "Доброе дело",
                    [marathon.Photo(f"file-{n}-{m}", f"unique-{n}-{m}")],
                )
                if m < 2:
                    await marathon.review(session, content.rules, reviewer, deed, approve=m == 0, reason="preset:photo")


async def test_export_for_the_committee_from_the_bot_and_the_command_line(bot, operator, engine, content, api, tmp_path, database_url):
    import csv
    import io

    from openpyxl import load_workbook


    await run_marathon(engine, content.rules)
    await seed_reviewed(engine, content, api)
    coordinator = await operator("national", "en", "Saule", coordinator=True)
    sent = await coordinator.send("/marathon_export akmola approved")
    xlsx, participants_csv, deeds_csv = (api.files[m.document["file_id"]].content for m in sent.sent)
    assert sent.sent[0].caption == "2 participants, 2 deeds."
    book = load_workbook(io.BytesIO(xlsx))
    deeds = list(book["deeds"].iter_rows(values_only=True))
    assert deeds[0][:6] == ("deed", "participant", "participant_name", "region", "kind", "amount")
    assert {row[3] for row in deeds[1:]} == {"akmola"} and {row[9] for row in deeds[1:]} == {"approved"}
    assert deeds[1][8] == "'=HYPERLINK(\"http://evil\")", "a formula from someone's words is not run"
    assert [row[0] for row in csv.reader(io.StringIO(participants_csv.decode("utf-8-sig")))] == ["participant", "7000", "7002"]
    assert len(list(csv.reader(io.StringIO(deeds_csv.decode("utf-8-sig"))))) == 3

    refused = await coordinator.send("/marathon_export atlantis")
    assert "/marathon_export akmola approved 2026-09-01 2026-09-30" in refused.text
    today = today_in_kazakhstan()
    later = await coordinator.send(f"/marathon_export {today + timedelta(days=1)}")
    assert later.sent[0].caption == "3 participants, 0 deeds."
    within = await coordinator.send(f"/marathon_export {today - timedelta(days=1)} {today}")
    assert within.sent[0].caption == "3 participants, 9 deeds."
    operator_only = await operator("akmola", "en", "Nurlan")
    not_allowed = await operator_only.send("/marathon_export")
    assert all(m.document is None for m in not_allowed.sent), "exports are for coordinators"

    url = database_url.replace("+asyncpg", "")
    written = run_bot(tmp_path, "marathon", "export", "--out", str(tmp_path / "all.xlsx"), DATABASE_URL=url)
    assert written.returncode == 0, written.stderr
    assert written.stdout.strip().startswith("3 participants and 9 deeds written to")
    book = load_workbook(tmp_path / "all.xlsx")
    assert book["deeds"].max_row == 10 and book["participants"].max_row == 4
    pending = run_bot(tmp_path, "marathon", "export", "--format", "csv", "--state", "pending", "--out", str(tmp_path / "csv"), DATABASE_URL=url)
    assert pending.returncode == 0, pending.stderr
    rows = list(csv.reader((tmp_path / "csv" / "deeds.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert len(rows) == 4 and {row[9] for row in rows[1:]} == {"pending"}
    wrong = run_bot(tmp_path, "marathon", "export", "--region", "atlantis", "--out", str(tmp_path / "x.xlsx"), DATABASE_URL=url)
    assert wrong.returncode == 2 and wrong.stderr.strip() == "Cannot export: unknown region 'atlantis'"


async def test_nominations_shortlist_winners_and_the_announcement_to_every_participant(
    citizen, operator, engine, content, t, api, tmp_path, database_url
):

    await run_marathon(engine, content.rules)
    aigerim, emma = await citizen("kk"), await citizen("en")
    await join(aigerim, t, "kk", name="Айгерім")
    await join(emma, t, "en", name=None)
    coordinator = await operator("national", "en", "Saule", coordinator=True)

    saved = await coordinator.send("/nomination eco | Экология | Экология и природа | Ecology")
    assert "Ecology" in saved.text
    bad = await coordinator.send("/nomination eco | only one name")
    assert "separated by |" in bad.text
    url = database_url.replace("+asyncpg", "")
    cli = run_bot(tmp_path, "marathon", "nomination", "--slug", "kind-heart", "--kk", "Мейірімді жүрек",
                  "--ru", "Доброе сердце", "--en", "Kind heart", DATABASE_URL=url)
    assert cli.returncode == 0, cli.stderr

    not_yet = await coordinator.send(f"/winner eco {aigerim.id}")
    assert "shortlisted first" in not_yet.text
    for slug, who in (("eco", aigerim), ("eco", emma), ("kind-heart", emma)):
        assert "Shortlisted" in (await coordinator.send(f"/shortlist {slug} {who.id}")).text
    assert "shortlisted first" in (await coordinator.send("/shortlist eco 999")).text  # not a participant
    await coordinator.send(f"/winner eco {aigerim.id}")
    early = await coordinator.send("/announce_winners")
    assert "needs a winner" in early.text
    await coordinator.send(f"/winner kind-heart {emma.id}")
    listing = await coordinator.send("/nominations")
    assert "2 of 10" in listing.text and f"🏆 Айгерім (Akmola Region), {aigerim.id}" in listing.text

    preview = (await coordinator.send("/announce_winners")).last
    assert "Ecology</b>" not in preview.text and "Ecology: Айгерім (Akmola Region)" in preview.text
    await coordinator.press("📣 Announce to 2 participants", preview)
    told_kk = await aigerim.receive("Экология: Айгерім (Ақмола облысы)")
    assert "Мейірімді жүрек: " + t("kk", "anonymous") in told_kk.text
    told_en = await emma.receive("Kind heart: anonymous (Akmola Region)")
    assert told_en.text.startswith("🏆")
    assert preview.buttons == []
    again = await coordinator.press_forged(preview, "win:1")  # a press already on its way
    assert "announced already" in again.text
    twice = run_bot(tmp_path, "marathon", "announce", DATABASE_URL=url)
    assert twice.returncode == 2 and "announced already" in twice.stderr
    async with engine.connect() as conn:
        owed = await conn.scalar(text("SELECT count(*) FROM outbox WHERE kind = 'winners'"))
    assert owed == 2


async def test_coordinators_change_a_kinds_limit_and_the_dates(citizen, operator, engine, content, t, tmp_path, database_url):

    await run_marathon(engine, content.rules)
    person = await citizen("en")
    await join(person, t, "en")
    coordinator = await operator("national", "en", "Saule", coordinator=True)
    changed = await coordinator.send("/marathon_limit trees 100")
    assert "trees 🌳 Trees planted: 100 pcs" in changed.text
    assert "/marathon_limit trees 1500" in (await coordinator.send("/marathon_limit trees lots")).text
    assert "/marathon_limit trees 1500" in (await coordinator.send("/marathon_limit unicorns 5")).text

    await person.press("📝 Log a deed")
    asked = await person.press("🌳 Trees planted")
    assert "up to 100" in asked.text
    refused = await person.send("150")
    assert "at most 100 pcs" in refused.text

    url = database_url.replace("+asyncpg", "")
    cli = run_bot(tmp_path, "marathon", "limit", "--kind", "trees", "--max", "3000", DATABASE_URL=url)
    assert cli.returncode == 0 and cli.stdout.strip() == "one deed of trees is at most 3000 (count)", cli.stderr
    assert run_bot(tmp_path, "marathon", "limit", "--kind", "trees", "--max", "many", DATABASE_URL=url).returncode == 2
    await person.send("150")  # now within the limit
    dates = run_bot(tmp_path, "marathon", "dates", "--starts", "2026-09-01", "--ends", "2026-12-05", "--daily-limit", "4", DATABASE_URL=url)
    assert dates.stdout.strip() == "the marathon runs 2026-09-01 to 2026-12-05, at most 4 deeds a day"
    shown = await coordinator.send("/marathon_dates")
    assert "01.09.2026" in shown.text and "05.12.2026" in shown.text and "4" in shown.text
    assert "2026-09-01 2026-12-05 5" in (await coordinator.send("/marathon_dates 2026-12-31 2026-01-01")).text
    across = await coordinator.send("/marathon_dates 2026-11-01 2027-01-15")
    assert "within one calendar year" in across.text
    refused = run_bot(tmp_path, "marathon", "dates", "--starts", "2026-11-01", "--ends", "2027-01-15", DATABASE_URL=url)
    assert refused.returncode == 2 and "within one calendar year" in refused.stderr
    assert "05.12.2026" in (await coordinator.send("/marathon_dates")).text  # unchanged


async def test_a_kind_no_longer_offered_is_not_on_the_buttons_and_its_deeds_still_count(citizen, operator, engine, content, t, api):
    await run_marathon(engine, content.rules)
    await seed_reviewed(engine, content, api, people=1)  # an approved deed of trees
    person = await citizen("en")
    await join(person, t, "en")
    coordinator = await operator("national", "en", "Saule", coordinator=True)
    await person.press("📝 Log a deed")
    await person.press("🐾 Animals helped")  # on the way when the kind is switched off
    switched = await coordinator.send("/marathon_kind animals off")
    assert "animals 🐾 Animals helped: 500 pcs (not offered)" in switched.text
    assert "/marathon_kind trees off" in (await coordinator.send("/marathon_kind animals maybe")).text
    await person.send("3")
    await person.press("Today")
    await person.send("Кокшетау")
    await person.send("Накормили собак")
    await person.send_photo("dogs")
    await person.press("✅ Done")
    refused = await person.press("✅ Log it")
    assert "This kind of deed is no longer offered in the marathon." in refused.text
    offered = await person.press("📝 Log a deed")
    labels = [b["text"] for b in offered.last.buttons]
    assert "🐾 Animals helped" not in labels and "🌳 Trees planted" in labels
    await person.tap("Marathon of Good Deeds")
    results = await person.press("🏆 Results")
    assert "10 trees planted" in results.text  # approved before; stopping offering a kind changes no total


async def test_forget_takes_the_participation_away_and_the_totals_stay(citizen, operator, engine, content, t):
    await run_marathon(engine, content.rules)
    stays, leaves = await citizen("en"), await citizen("en")
    for person, amount in ((stays, "4"), (leaves, "6")):
        await join(person, t, "en", name=f"P{person.id}")
        await log_deed(person, t, "en", "🌳 Trees planted", amount)
    coordinator = await operator("national", "en", "Saule", coordinator=True)
    for _ in range(2):
        card = (await coordinator.send("/deeds")).last
        await coordinator.press("✅ Approve", card)
    await leaves.send("/forget")
    await leaves.press("🗑")
    async with engine.connect() as conn:
        totals = (await conn.execute(text("SELECT kind, amount, deeds FROM deed_totals WHERE amount > 0 OR deeds > 0"))).all()
        left = (await conn.execute(text("SELECT participant_id, description FROM deeds ORDER BY id"))).all()
        names = (await conn.execute(text("SELECT display_name FROM participants"))).scalars().all()
    # The deed stays in the totals, anonymous: whose it was and what it said are gone.
    assert [(kind, int(amount), deeds) for kind, amount, deeds in totals] == [("trees", 10, 2)]
    assert left[0][0] == stays.id and left[1] == (None, "") and names == [f"P{stays.id}"]


async def test_small_amounts_read_right(content):
    litter = content.rules.kind("litter")
    assert litter.total_words(marathon.parse_amount(litter, "20"), "en") == "0.02 tonnes of litter collected"
    with pytest.raises(marathon.Refused) as refused:
        marathon.parse_amount(litter, "0,001")
    assert refused.value.reason is marathon.Refusal.NOT_POSITIVE


async def test_who_turned_announcements_off_is_not_sent_the_winners(citizen, operator, engine, content, t, api, settled):
    from bot.services import nominations

    await run_marathon(engine, content.rules)
    wants, does_not = await citizen("ru"), await citizen("ru")
    for person in (wants, does_not):
        await join(person, t, "ru", name=f"P{person.id}")
    settings = await does_not.tap(t("ru", "Settings"))
    assert t("ru", "Announcements: on") in settings.text
    turned = await does_not.press(t("ru", "🔕 Turn announcements off"))
    assert t("ru", "Announcements: off") in turned.edited[0].text
    assert turned.answer["text"] == t("ru", "Announcements are off.")
    async with create_session_factory(engine)() as session, session.begin():
        await nominations.set_nomination(session, "eco", {"kk": "Экология", "ru": "Экология", "en": "Ecology"})
        await nominations.shortlist(session, "eco", wants.id)
        await nominations.choose_winner(session, "eco", wants.id)
    coordinator = await operator("national", "en", "Saule", coordinator=True)
    preview = (await coordinator.send("/announce_winners")).last
    await coordinator.press("📣 Announce", preview)
    await wants.receive("Экология")
    await settled()  # everything owed is sent: what has not come will not
    assert not any("Экология" in (m.text or "") for m in does_not.received())


async def test_the_fourth_photo_is_refused_and_a_long_deed_reaches_the_reviewer_whole(citizen, operator, engine, content, t):
    await run_marathon(engine, content.rules)
    person = await citizen("en")
    await join(person, t, "en")
    # The longest description, as Telegram counts it twice over: 500 emoji are 1,000 units.
    description = "🌳" * 499 + "&"
    await deed_up_to_photos(person, t, "en", content.rules.kind("trees").name["en"], "7", description)
    sent = []
    for n in range(3):
        await person.send_photo(f"the alley, side {n}")
        sent.append(person.sent_last().photo[-1]["file_unique_id"])
    fourth = await person.send_photo("the alley, side 3")
    assert fourth.text == t("en", "That is three photos already, the most for one deed. Press “Done”.")
    await person.press(t("en", "✅ Done"))
    await person.press(t("en", "✅ Log it"))
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT file_unique_id FROM deed_photos ORDER BY position"))).scalars().all()
        assert await conn.scalar(text("SELECT description FROM deeds")) == description
    assert stored == sent, "the three photos, not the fourth"

    akmola = await operator("akmola", "en")
    review = await akmola.send("/deeds")
    photos = [m for m in review.sent if m.photo]
    assert [m.photo[-1]["file_unique_id"] for m in photos] == sent, "the reviewer sees the participant's photos"
    albums = {m.extra.get("media_group_id") for m in photos}
    assert len(albums) == 1 and None not in albums, "as one album"
    card = review.last
    assert card.photo is None and card.text.endswith(f"What: {description}"), "too long for a caption: a message"
    assert [b["text"] for b in card.buttons] == ["✅ Approve", "❌ Reject", "✏️ Correct the amount"]
    await akmola.press("✅ Approve", card)
    await person.receive("7 trees planted")


async def test_the_command_lines_marathon_commands_on_the_server(citizen, engine, content, t, tmp_path, database_url):
    """What the organising committee does from the server: the dates shown and refused in the
    wrong order, a kind switched off and on, a nomination, its shortlist and winner; each mistake is
    one clear line and exit code 2, and changes nothing."""

    url = database_url.replace("+asyncpg", "")

    def cli(*args: str) -> tuple[int, str]:
        done = run_bot(tmp_path, "marathon", *args, DATABASE_URL=url)
        return done.returncode, (done.stdout if done.returncode == 0 else done.stderr).strip()

    assert cli("dates") == (0, "the marathon runs 2026-09-01 to 2026-12-05, at most 5 deeds a day"), "the rules' own"
    await run_marathon(engine, content.rules)
    code, shown = cli("dates")
    assert code == 0 and shown.endswith("at most 20 deeds a day") and shown != "the marathon runs 2026-09-01 to 2026-12-05, at most 5 deeds a day"
    assert cli("dates", "--starts", "2026-12-31", "--ends", "2026-01-01") == (
        2, "Cannot set the dates: the marathon cannot end before it starts")
    assert cli("dates") == (0, shown), "unchanged"

    assert cli("kind", "--kind", "trees", "off") == (0, "trees is not offered to participants")
    assert cli("kind", "--kind", "unicorns", "off") == (
        2, "Cannot change the kind: no deed kind 'unicorns'; one of: animals, trees, litter, people, blood, hours, other")
    person = await citizen("en")
    await join(person, t, "en")
    offered = [b["text"] for b in (await person.press("📝 Log a deed")).last.buttons]
    assert "🌳 Trees planted" not in offered and "🐾 Animals helped" in offered
    assert cli("kind", "--kind", "trees", "on") == (0, "trees is offered to participants")
    await person.press("✖️ Cancel")
    assert "🌳 Trees planted" in [b["text"] for b in (await person.press("📝 Log a deed")).last.buttons]

    assert cli("nomination", "--slug", "kind-heart", "--kk", "Мейірімді жүрек", "--ru", "Доброе сердце", "--en", "Kind heart") == (
        0, "saved: kind-heart\tМейірімді жүрек\tДоброе сердце\tKind heart")
    assert cli("shortlist", "--nomination", "kind-heart", "--participant", "404") == (
        2, "Cannot shortlist: 404 is not a participant of the marathon")
    assert cli("shortlist", "--nomination", "kind-heart", "--participant", str(person.id)) == (0, f"shortlisted {person.id} for kind-heart")
    assert cli("winner", "--nomination", "kind-heart", "--participant", str(person.id)) == (0, f"{person.id} wins kind-heart")
    assert cli("nominations") == (0, f"kind-heart\tKind heart\n\twinner\t{person.id}\tАйгерім")
