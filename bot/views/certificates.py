"""What a participant's record and the certificates look like: the check anyone gets from a
certificate's link, the record as a message, a keyboard and an Excel file, and the certificate as a
PDF (A4, the Kazakh letters in DejaVu Sans, shipped in `bot/assets/fonts`; a QR code of the link
that checks it). All in the current language."""

from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path

import segno
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from fpdf import FPDF

from bot.i18n import N_
from bot.services.clock import KAZAKHSTAN
from bot.services.directory import Directory
from bot.services.marathon import DEEP_LINK_PREFIX, Certificate, Deed, Record, Rules
from bot.services.spreadsheets import workbook
from bot.views.callbacks import MarathonNav
from bot.views.common import office_name
from bot.views.marathon import STATES, UNITS, totals_words

FONTS = Path(__file__).resolve().parent.parent / "assets" / "fonts"
NAVY = (22, 54, 92)
GOLD = (191, 144, 0)
GREY = (90, 90, 90)


def certificate_link(bot_username: str, code: str) -> str:
    """The deep link that checks a certificate: `/start cert_<code>` in the bot."""
    return f"https://t.me/{bot_username}?start={DEEP_LINK_PREFIX}{code}"


def _name(certificate: Certificate) -> str:
    return certificate.display_name or _("anonymous participant")


def _day(moment: datetime) -> str:
    return moment.astimezone(KAZAKHSTAN).strftime("%d.%m.%Y")


def _what(certificate: Certificate, rules: Rules, directory: Directory, language: str) -> list[str]:
    """What a certificate that holds certifies, in plain words (no markup)."""
    lines = []
    if certificate.nomination is not None:
        lines.append(_("{name} ({region}) won the nomination “{nomination}” of the Marathon of Good Deeds {year}.").format(
            name=_name(certificate), region=office_name(directory, certificate.region or ""),
            nomination=_nomination(certificate, language), year=certificate.year,
        ))
    else:
        lines.append(_("{name} ({region}) took part in the Marathon of Good Deeds {year}.").format(
            name=_name(certificate), region=office_name(directory, certificate.region or ""), year=certificate.year,
        ))
    if certificate.deeds:
        lines.append(_deeds_line(certificate, rules, language))
    return lines


def _deeds_line(certificate: Certificate, rules: Rules, language: str) -> str:
    return _("Good deeds approved by the volunteer front-office: {count}. In all: {totals}.").format(
        count=certificate.deeds, totals=totals_words(certificate.amounts, rules, language))


def _nomination(certificate: Certificate, language: str) -> str:
    return certificate.nomination.get(language) or next(iter(certificate.nomination.values()))


def check_text(certificate: Certificate | None, typed_code: str, rules: Rules, directory: Directory, language: str) -> str:
    """What anyone who opens a certificate's link (or types its code) is shown."""
    if certificate is None:
        return _("❌ There is no certificate with the code {code}. Check the code: it is 10 letters and digits, as printed on the certificate.").format(
            code=escape(typed_code[:32]))
    if certificate.withdrawn:
        return _("❌ Certificate {code} has been withdrawn: it certifies nothing.").format(code=certificate.code)
    if not certificate.valid:
        return _("❌ Certificate {code} certifies nothing any longer: none of the deeds of {year} it was issued for is approved now.").format(
            code=certificate.code, year=certificate.year)
    return "\n".join([
        _("✅ <b>Certificate {code} is valid.</b>").format(code=certificate.code),
        *(escape(line) for line in _what(certificate, rules, directory, language)),
        _("Issued on {date}; what it certifies is shown as it stands today.").format(date=_day(certificate.issued_at)),
    ])


def sent_caption(certificate: Certificate, link: str) -> str:
    return _("📜 Your certificate, code <code>{code}</code>. Anyone can check it by its QR code or this link: {link}").format(
        code=certificate.code, link=escape(link))


def winner_caption(certificate: Certificate, link: str, language: str) -> str:
    return "\n".join([
        _("🏆 Congratulations! You won the nomination “{nomination}” of the Marathon of Good Deeds {year}.").format(
            nomination=escape(_nomination(certificate, language)), year=certificate.year),
        sent_caption(certificate, link),
    ])


# --- the PDF --------------------------------------------------------------------------------------


def _qr(pdf: FPDF, link: str, x: float, y: float, size: float) -> None:
    """The link as a QR code drawn in squares (sharp at any zoom or print size), clickable too."""
    code = segno.make(link, error="m")
    modules = code.matrix
    module = size / len(modules)
    pdf.set_fill_color(0, 0, 0)
    for row, line in enumerate(modules):
        for column, dark in enumerate(line):
            if dark:
                pdf.rect(x + column * module, y + row * module, module, module, style="F")
    pdf.link(x, y, size, size, link)


def certificate_pdf(certificate: Certificate, rules: Rules, directory: Directory, link: str, language: str) -> bytes:
    """The certificate as a one-page PDF in the current language. CPU-bound (~0.1 s): call it off
    the event loop."""
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    winner = certificate.nomination is not None
    title = _("Winner's diploma") if winner else _("Certificate of participation")
    pdf.set_title(f"{title} {certificate.code}")
    pdf.set_lang(language)
    pdf.set_creator("Qazvolunteer")
    pdf.add_page()
    width = pdf.w - 2 * pdf.l_margin

    pdf.set_draw_color(*GOLD)
    pdf.set_line_width(1.5)
    pdf.rect(8, 8, pdf.w - 16, pdf.h - 16)
    pdf.set_line_width(0.4)
    pdf.rect(11, 11, pdf.w - 22, pdf.h - 22)

    pdf.set_y(24)
    pdf.set_text_color(*NAVY)
    pdf.set_font("DejaVu", "B", 30)
    pdf.cell(width, 14, title.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 16)
    pdf.cell(width, 10, _("Marathon of Good Deeds {year}").format(year=certificate.year), align="C", new_x="LMARGIN", new_y="NEXT")

    pdf.ln(10)
    pdf.set_text_color(0, 0, 0)
    _fit(pdf, "B", _name(certificate), width, 26, 14)
    pdf.cell(width, 13, _name(certificate), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 14)
    pdf.cell(width, 9, office_name(directory, certificate.region or ""), align="C", new_x="LMARGIN", new_y="NEXT")

    pdf.ln(6)
    if winner:
        body = [_("winner of the nomination “{nomination}” of the Marathon of Good Deeds {year}").format(
            nomination=_nomination(certificate, language), year=certificate.year)]
    else:
        body = [_("took part in the Marathon of Good Deeds {year}").format(year=certificate.year)]
    if certificate.deeds:
        body.append(_deeds_line(certificate, rules, language))
    # The foot: who issued it and when on the left, how to check it on the right.
    qr_size = 38
    foot = pdf.h - 22 - qr_size
    # The body (a long nomination's name, every kind of deed) in the room above the foot.
    for size in (13, 12, 11, 10, 9):
        pdf.set_font("DejaVu", "", size)
        lines = pdf.multi_cell(width - 50, size * 0.6, "\n".join(body), align="C", dry_run=True, output="LINES")
        if pdf.get_y() + len(lines) * size * 0.6 <= foot - 4:
            break
    pdf.set_x(pdf.l_margin + 25)
    pdf.multi_cell(width - 50, size * 0.6, "\n".join(body), align="C", new_x="LMARGIN", new_y="NEXT")
    _qr(pdf, link, pdf.w - 22 - qr_size, foot, qr_size)
    pdf.set_text_color(*GREY)
    pdf.set_font("DejaVu", "", 10)
    pdf.set_xy(22, foot + 4)
    pdf.multi_cell(pdf.w - 44 - qr_size - 10, 6, "\n".join([
        _("Issued by the national volunteer Call-centre of Kazakhstan on {date}.").format(date=_day(certificate.issued_at)),
        _("Code: {code}").format(code=certificate.code),
        _("To check it, scan the QR code or open {link}").format(link=link),
    ]), align="L")
    return bytes(pdf.output())


def _fit(pdf: FPDF, style: str, line: str, width: float, largest: int, smallest: int) -> None:
    """The largest font size, down to `smallest`, that puts `line` on one line of `width`."""
    for size in range(largest, smallest - 1, -1):
        pdf.set_font("DejaVu", style, size)
        if pdf.get_string_width(line) <= width:
            return


# --- the record -----------------------------------------------------------------------------------


def record_text(record: Record, rules: Rules, directory: Directory, language: str) -> str:
    lines = [_("📒 <b>My participation in the Marathon of Good Deeds</b>")]
    if not record.years:
        lines.append(_("No deed of yours has been approved yet: your record starts with the first one."))
    for year in record.years:
        lines.append(_("<b>{year}:</b> approved deeds: {count}; {totals}.").format(
            year=year.year, count=year.deeds, totals=escape(totals_words(year.amounts, rules, language))))
    if record.years:
        lines.append(_("Approved deeds in all: {count}.").format(count=record.deeds))
    if record.wins:
        lines.append("")
        lines.extend(_("🏆 {year}: winner of the nomination “{nomination}”").format(
            year=year, nomination=escape(names.get(language, ""))) for year, names in record.wins)
    if record.certificates:
        lines.append("")
        lines.append(_("<b>Certificates</b>"))
        lines.extend(f"• {escape(certificate_title(c, language))}: <code>{c.code}</code>" for c in record.certificates)
    return "\n".join(lines)


def certificate_title(certificate: Certificate, language: str) -> str:
    if certificate.nomination is not None:
        return _("{year}, winner: {nomination}").format(year=certificate.year, nomination=_nomination(certificate, language))
    return _("{year}, participation").format(year=certificate.year)


def record_keyboard(record: Record, language: str) -> InlineKeyboardMarkup:
    """A certificate for each year with approved deeds (the same one again if issued), each
    nomination's certificate again, and the Excel file."""
    builder = InlineKeyboardBuilder()
    for year in record.years:
        builder.button(text=_("📜 Certificate of participation, {year}").format(year=year.year),
                       callback_data=MarathonNav(action="certificate", value=str(year.year)))
    for certificate in record.certificates:
        if certificate.nomination is not None:
            builder.button(text="🏆 " + certificate_title(certificate, language),
                           callback_data=MarathonNav(action="certificate", value=certificate.code))
    builder.button(text=_("📊 As an Excel file"), callback_data=MarathonNav(action="record_file"))
    builder.button(text=_("⬅️ Back"), callback_data=MarathonNav(action="home"))
    builder.adjust(1)
    return builder.as_markup()


SHEETS = {"years": N_("Years"), "deeds": N_("Deeds"), "awards": N_("Awards and certificates")}


def record_xlsx(record: Record, deeds: list[Deed], rules: Rules, directory: Directory, language: str, link_of) -> bytes:
    """The record as a workbook: the years by kind, the deeds still kept in full (a finished
    marathon's deeds keep only their counts, see the privacy notice), the awards and certificates."""
    years = []
    for year in record.years:
        for slug, amount in sorted(year.amounts.items()):
            kind = rules.kind(slug)
            years.append((year.year, kind.name[language] if kind else slug, year.counts[slug], float(amount),
                          _(UNITS[kind.unit]) if kind else "", kind.total_words(amount, language) if kind else ""))
    deed_rows = []
    for deed in deeds:
        kind = rules.kind(deed.kind)
        deed_rows.append((deed.id, deed.deed_date, kind.name[language] if kind else deed.kind, float(deed.amount),
                          _(UNITS[kind.unit]) if kind else "", _(STATES[deed.state.value]), deed.locality, deed.description,
                          office_name(directory, deed.region)))
    awards = [(year, _("winner: {nomination}").format(nomination=names.get(language, "")), "", "") for year, names in record.wins]
    awards += [(c.year, certificate_title(c, language), c.code, link_of(c.code)) for c in record.certificates]
    return workbook({
        _(SHEETS["years"]): ((_("Year"), _("Kind of deed"), _("Approved deeds"), _("Approved amount"), _("Unit"), _("Summary")), years),
        _(SHEETS["deeds"]): ((_("Deed №"), _("Date"), _("Kind of deed"), _("Amount"), _("Unit"), _("State"), _("Where"),
                              _("What was done"), _("Region")), deed_rows),
        _(SHEETS["awards"]): ((_("Year"), _("Description"), _("Certificate code"), _("Link to check it")), awards),
    })
