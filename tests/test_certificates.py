"""Certificates anyone can verify and a participant's record to keep: the PDF in the participant's
language (opened and read here), its code and QR link checked by a stranger, what it certifies
changing with a deed rejected later and with /forget, the winners' certificates, and the record as
a message and an Excel file."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import text

from bot.services.clock import today_in_kazakhstan
from tests.support.scenarios import join, log_deed, run_marathon

LINK = re.compile(r"https://t\.me/(\w+)\?start=cert_([a-z0-9]{10})")


def pdf_of(api, message) -> tuple[str, list[str]]:
    """The PDF's text (as a reader extracts it, lines joined) and the links it holds."""
    reader = PdfReader(io.BytesIO(api.files[message.document["file_id"]].content))
    page = reader.pages[0]
    links = [annotation.get_object()["/A"]["/URI"] for annotation in page.get("/Annots", [])]
    return " ".join(page.extract_text().split()), links


async def approve_all(reviewer) -> list:
    """Approve every deed waiting for this reviewer; the messages saying each was approved."""
    approvals = []
    card = (await reviewer.send("/deeds")).last
    while card.buttons:
        reaction = await reviewer.press("✅ Approve", card)
        approvals.append(next(m for m in reaction.sent if "approved" in (m.text or "")))
        card = reaction.last
    return approvals


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_a_certificate_in_each_language_checked_by_anyone(citizen, operator, people, engine, content, t, api, language):
    await run_marathon(engine, content.rules)
    person = await citizen(language)
    await join(person, t, language, name="Әсел Құрманғазы")
    trees, litter = content.rules.kind("trees"), content.rules.kind("litter")
    await log_deed(person, t, language, trees.name[language], "30")
    await log_deed(person, t, language, litter.name[language], "120")
    await log_deed(person, t, language, trees.name[language], "4")  # stays waiting for review: not certified
    reviewer = await operator("akmola", "en", "Nurlan")
    card = (await reviewer.send("/deeds")).last
    await reviewer.press("✅ Approve", card)
    await reviewer.press("✅ Approve", reviewer.api.chat(reviewer.id)[-1])
    year = today_in_kazakhstan().year
    words = [trees.total_words(Decimal(30), language), litter.total_words(Decimal(120), language)]

    await person.tap(t(language, "Marathon of Good Deeds"))
    record = await person.press(t(language, "📒 My record"))
    assert str(year) in record.text and all(w in record.text for w in words)
    sent = await person.press(t(language, "📜 Certificate of participation, {year}").format(year=year))
    document = sent.last
    assert document.document["file_name"].endswith(".pdf")
    bot_name, code = LINK.search(document.caption).groups()
    written, links = pdf_of(api, document)
    assert t(language, "Certificate of participation").upper() in written
    assert "Әсел Құрманғазы" in written and str(year) in written and code in written
    assert t(language, "Marathon of Good Deeds {year}").format(year=year) in written
    assert all(w in written for w in words)
    assert content.directory.get("akmola").name[language] in written
    assert links == [f"https://t.me/{bot_name}?start=cert_{code}"]  # the QR code's link

    again = await person.press(t(language, "📜 Certificate of participation, {year}").format(year=year), record.last)
    assert LINK.search(again.last.caption).group(2) == code, "one certificate a year: asked again, the same code"

    stranger = people("en")  # never set up in the bot
    checked = await stranger.send(f"/start cert_{code}")
    assert checked.sent[0].text.startswith(f"✅ Certificate {code} is valid.")
    assert "Әсел Құрманғазы" in checked.text and "Good deeds approved by the volunteer front-office: 2" in checked.text
    assert "30 trees planted" in checked.text and "send /start" in checked.text

    book = await person.press(t(language, "📊 As an Excel file"), record.last)
    sheets = load_workbook(io.BytesIO(api.files[book.last.document["file_id"]].content))
    years = sheets[t(language, "Years")]
    assert [c.value for c in years[1]][:4] == [t(language, "Year"), t(language, "Kind of deed"), t(language, "Approved deeds"),
                                               t(language, "Approved amount")]
    kinds = {row[1]: (row[0], row[2], row[3]) for row in years.iter_rows(min_row=2, values_only=True)}
    assert kinds == {trees.name[language]: (year, 1, 30), litter.name[language]: (year, 1, 120)}
    deeds = list(sheets[t(language, "Deeds")].iter_rows(min_row=2, values_only=True))
    assert len(deeds) == 3 and t(language, "⏳ waiting for review") in {row[5] for row in deeds}
    awards = list(sheets[t(language, "Awards and certificates")].iter_rows(min_row=2, values_only=True))
    assert awards == [(year, t(language, "{year}, participation").format(year=year), code, f"https://t.me/{bot_name}?start=cert_{code}")]


async def test_a_deed_rejected_later_and_forget_change_what_it_certifies(citizen, operator, people, engine, content, t, api):
    await run_marathon(engine, content.rules)
    person = await citizen("ru")
    await join(person, t, "ru", name="Айгерім")
    trees, animals = content.rules.kind("trees"), content.rules.kind("animals")
    await log_deed(person, t, "ru", trees.name["ru"], "30")
    await log_deed(person, t, "ru", animals.name["ru"], "7")
    await log_deed(person, t, "ru", trees.name["ru"], "5")
    reviewer = await operator("akmola", "en", "Nurlan")
    first, second, third = await approve_all(reviewer)
    await person.tap(t("ru", "Marathon of Good Deeds"))
    record = await person.press(t("ru", "📒 My record"))
    year = today_in_kazakhstan().year
    sent = await person.press(t("ru", "📜 Certificate of participation, {year}").format(year=year))
    code = LINK.search(sent.last.caption).group(2)
    stranger = people("ru")
    assert "помогли 7 животным" in (await stranger.send(f"/start cert_{code}")).text

    # A new shown name: a certificate never confirms a name it was not printed with.
    await person.tap(t("ru", "Marathon of Good Deeds"))
    await person.press(t("ru", "✏️ How I take part"))
    await person.press(t("ru", "👤 As a person"))
    await person.send("Айгерім Н.")
    await person.press("✅")
    old_code = code
    record = await person.press(t("ru", "📒 My record"), (await person.tap(t("ru", "Marathon of Good Deeds"))).last)
    sent = await person.press(t("ru", "📜 Certificate of participation, {year}").format(year=year), record.last)
    code = LINK.search(sent.last.caption).group(2)
    assert code != old_code and "Айгерім Н." in pdf_of(api, sent.last)[0]
    assert t("ru", "❌ Certificate {code} has been withdrawn: it certifies nothing.").format(code=old_code) in (
        await stranger.send(f"/start cert_{old_code}")).text

    # The reviewer finds the animals' photo was another deed's: the approval is taken back.
    await reviewer.press("↩️ Withdraw approval", second)
    await reviewer.press("This deed has already been logged.")
    told = await person.receive(t("ru", "This deed has already been logged."))
    assert told.text == t("ru", "❌ The approval of your deed №{number} has been withdrawn: it no longer counts in the results or your certificate. Reason: {reason}").format(
        number=second.text.split("№")[1].split()[0], reason=t("ru", "This deed has already been logged."))
    audit = await (await operator("national", "en", "Saule", coordinator=True)).send("/audit")
    assert f"withdrew the approval of deed №{second.text.split('№')[1].split()[0]}, given by Nurlan ({reviewer.id})" in audit.text
    checked = await stranger.send(f"/start cert_{code}")
    assert "высадили 35 деревьев" in checked.text and "животн" not in checked.text
    assert t("ru", "Good deeds approved by the volunteer front-office: {count}. In all: {totals}.").format(
        count=2, totals="высадили 35 деревьев") in checked.text
    async with engine.connect() as conn:
        totals = dict((await conn.execute(text("SELECT kind, deeds FROM deed_totals WHERE region = 'akmola'"))).all())
        approved = await conn.scalar(text("SELECT approved_deeds FROM participants WHERE telegram_id = :id"), {"id": person.id})
    assert totals.get("animals", 0) == 0 and totals["trees"] == 2 and approved == 2
    await person.tap(t("ru", "Marathon of Good Deeds"))
    results = await person.press(t("ru", "🏆 Results"))
    assert "животн" not in results.text

    # A stale button, pressed twice, or a forged one for a deed waiting for review: nothing changes.
    twice = await reviewer.press_forged(second, second.button("↩️ Withdraw approval")["callback_data"])
    assert "reviewed already" in twice.answer["text"]
    # The other approvals taken back, one in the reviewer's own words: the certificate certifies nothing.
    await reviewer.press("↩️ Withdraw approval", third)
    await reviewer.press("The photos do not show this deed.")
    await reviewer.press("↩️ Withdraw approval", first)
    await reviewer.press("✍️ Other reason")
    await reviewer.send("На фото другое место")
    await person.receive("На фото другое место")
    nothing = await stranger.send(f"/start cert_{code}")
    assert nothing.sent[0].text == t("ru", "❌ Certificate {code} certifies nothing any longer: none of the deeds of {year} it was issued for is approved now.").format(code=code, year=year)
    refused = await person.press(t("ru", "📜 Certificate of participation, {year}").format(year=year), record.last)
    assert refused.answer["show_alert"]

    # Whoever forges or mistypes a code is told so, in their language.
    for typed in ("cert_aaaaaaaaaa", "cert_<b>x</b>", "cert_" + "9" * 60):
        unknown = await stranger.send(f"/start {typed}")
        assert unknown.text.startswith(t("ru", "❌ There is no certificate with the code {code}. Check the code: it is 10 letters and digits, as printed on the certificate.").split("{code}")[0])
        assert typed.removeprefix("cert_")[:32] in unknown.sent[0].text  # shown as typed (markup escaped), cut short

    await person.send("/forget")
    await person.press(t("ru", "🗑 Yes, delete my data"))
    withdrawn = await stranger.send(f"/start cert_{code}")
    assert t("ru", "❌ Certificate {code} has been withdrawn: it certifies nothing.").format(code=code) in withdrawn.text
    # An approved deed of someone who left stays counted: there is nobody left to take it from.
    other = await citizen("en")
    await join(other, t, "en", name=None)
    await log_deed(other, t, "en", trees.name["en"], "3")
    (kept,) = await approve_all(reviewer)
    await other.send("/forget")
    await other.press(t("en", "🗑 Yes, delete my data"))
    late = await reviewer.press("↩️ Withdraw approval", kept)
    assert "reviewed already" in late.answer["text"]
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT deeds FROM deed_totals WHERE region = 'akmola' AND kind = 'trees'")) == 1
        assert await conn.scalar(text("SELECT count(*) FROM participation_years WHERE participant_id = :id"), {"id": person.id}) == 0
        assert await conn.scalar(text("SELECT participant_id FROM certificates WHERE code = :code"), {"code": code}) is None


async def test_winners_certificates_once_in_each_winners_language_and_the_record_across_years(
    citizen, operator, people, engine, content, t, api
):
    await run_marathon(engine, content.rules)
    aigerim, emma = await citizen("kk"), await citizen("en")
    await join(aigerim, t, "kk", name="Айгерім")
    await join(emma, t, "en", name=None)
    await log_deed(aigerim, t, "kk", content.rules.kind("trees").name["kk"], "12")
    await approve_all(await operator("akmola", "en", "Nurlan"))
    year = today_in_kazakhstan().year
    async with engine.begin() as conn:  # Aigerim took part last year too (the record outlives the deeds' retention)
        await conn.execute(text("INSERT INTO participation_years VALUES (:id, :year, 'litter', 3, 2500)"), {"id": aigerim.id, "year": year - 1})

    coordinator = await operator("national", "en", "Saule", coordinator=True)
    early = await coordinator.send("/certificates")
    assert "No nomination has a winner yet" in early.text
    await coordinator.send("/nomination eco | Экология | Экология и природа | Ecology")
    await coordinator.send("/nomination kind-heart | Мейірімді жүрек | Доброе сердце | Kind heart")
    for slug, who in (("eco", aigerim), ("kind-heart", emma)):
        await coordinator.send(f"/shortlist {slug} {who.id}")
        await coordinator.send(f"/winner {slug} {who.id}")
    issued = await coordinator.send("/certificates")
    assert f"Winners' diplomas of {year} issued: 2." in issued.text

    sent_kk = await aigerim.receive("Экология")
    written, _ = pdf_of(api, sent_kk)
    assert t("kk", "Winner's diploma").upper() in written and "Экология" in written and "Айгерім" in written
    sent_en = await emma.receive("Kind heart")
    written, links = pdf_of(api, sent_en)
    assert "Kind heart" in written and "anonymous participant" in written
    code = LINK.search(sent_en.caption).group(2)
    assert links == [LINK.search(sent_en.caption).group(0)]
    checked = await people("ru").send(f"/start cert_{code}")
    assert "Доброе сердце" in checked.text and t("ru", "anonymous participant") in checked.text

    again = await coordinator.send("/certificates")
    assert f"Every winner has their diploma of {year} already" in again.text
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM outbox WHERE kind = 'certificate'")) == 2

    # A diploma issued in error is withdrawn by a coordinator, once, and the check says so.
    withdrawn = await coordinator.send(f"/certificates withdraw {code.upper()}")
    assert f"Certificate {code} is withdrawn" in withdrawn.text
    assert t("ru", "❌ Certificate {code} has been withdrawn: it certifies nothing.").format(code=code) in (
        await people("ru").send(f"/start cert_{code}")).text
    for wrong in (f"withdraw {code}", "withdraw <b>", "withdraw", "revoke everything"):
        assert "/certificates withdraw k7m2xq9p4t" in (await coordinator.send(f"/certificates {wrong}")).text
    assert f"withdrew certificate {code}" in (await coordinator.send("/audit")).text
    # Withdrawn is withdrawn: not issued again to the winner, nor by the participant's own button.
    assert f"Every winner has their diploma of {year} already" in (await coordinator.send("/certificates")).text
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM outbox WHERE kind = 'certificate'")) == 2
    assert code not in (await emma.press(t("en", "📒 My record"), (await emma.tap(t("en", "Marathon of Good Deeds"))).last)).text

    await aigerim.tap(t("kk", "Marathon of Good Deeds"))
    record = await aigerim.press(t("kk", "📒 My record"))
    assert f"\n{year} жыл: " in record.text and f"\n{year - 1} жыл: " in record.text
    assert record.text.count("🏆") == 1, "a win is listed once, with or without its certificate"
    assert content.rules.kind("litter").total_words(Decimal(2500), "kk") in record.text  # 2.5 tonnes last year
    assert "🏆" in record.text and "Экология" in record.text
    assert record.text.index(f"\n{year} жыл: ") < record.text.index(f"\n{year - 1} жыл: ")
    last_year = await aigerim.press(t("kk", "📜 Certificate of participation, {year}").format(year=year - 1), record.last)
    written, _ = pdf_of(api, last_year.last)
    assert str(year - 1) in written and content.rules.kind("litter").total_words(Decimal(2500), "kk") in written
    diploma = await aigerim.press("🏆 " + t("kk", "{year}, winner: {nomination}").format(year=year, nomination="Экология"), record.last)
    assert pdf_of(api, diploma.last)[0].count("Экология") >= 1
    this_year = await aigerim.press(t("kk", "📜 Certificate of participation, {year}").format(year=year), record.last)
    participation = LINK.search(this_year.last.caption).group(2)
    await coordinator.send(f"/certificates withdraw {participation}")
    refused = await aigerim.press(t("kk", "📜 Certificate of participation, {year}").format(year=year), record.last)
    assert refused.answer["show_alert"] and refused.answer["text"] == t(
        "kk", "Your certificate of {year} was withdrawn by the marathon's coordinators. If this is a mistake, write to your front-office.").format(year=year)
