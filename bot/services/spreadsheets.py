"""Tables as CSV files and Excel workbooks, safe to open: the one place every export (tickets,
their full records, the marathon's) turns values into cells, and reads an export command's
filters (`export_filters`). Knows nothing of Telegram.

A cell holding people's words never runs as a formula. A spreadsheet takes a text that starts with
`=`, `+`, `-`, `@`, a TAB or a CR for a formula (OWASP, "CSV injection"): such a text gets a leading
apostrophe, which spreadsheets read as "this is text". Numbers stay numbers, negative ones too.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from openpyxl import Workbook

from bot.services.clock import KAZAKHSTAN
from bot.services.directory import Directory

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Spreadsheet-safe: no time zones (Excel has none) and no formulas from people's words."""
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.astimezone(KAZAKHSTAN).replace(tzinfo=None)  # the offices read local time
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def table_csv(columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> bytes:
    """A CSV file, UTF-8 with a byte-order mark so Excel reads Cyrillic. Every text is quoted: a
    spreadsheet that splits on semicolons (the Russian locale's list separator) then keeps
    "a;=1+1" in one cell instead of starting a new one with a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(columns)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def workbook(sheets: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]) -> bytes:
    """An Excel workbook with a sheet per table (name: (columns, rows))."""
    book = Workbook()
    book.remove(book.active)
    for name, (columns, rows) in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append(columns)
        for row in rows:
            sheet.append([safe_cell(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_filters(
    args: str | None, directory: Directory, states: tuple[str, ...]
) -> tuple[str | None, str | None, date | None, date | None] | None:
    """An export command's words, in any order: a region, one of `states`, a first and a last day
    (YYYY-MM-DD). None if a word is none of these."""
    region, state, days = None, None, []
    for word in (args or "").lower().split():
        if directory.is_region(word):
            region = word
        elif word in states:
            state = word
        elif _is_day(word) and len(days) < 2:
            days.append(date.fromisoformat(word))
        else:
            return None
    since, until = (days + [None, None])[:2]
    return region, state, since, until


def _is_day(word: str) -> bool:
    try:
        date.fromisoformat(word)
    except ValueError:
        return False
    return True
