"""Texts that more than one handler shows. Each is built at call time, in the current language."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import I18n, get_i18n
from babel.dates import get_day_names
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.services import personal_data
from bot.services.directory import Directory
from bot.services.offices import Published
from bot.services.lengths import utf16_length

# Longest question the search accepts: a question, not a letter; Telegram allows 4096.
MAX_QUESTION_LENGTH = 300


def choose_language_prompt(i18n: I18n, order: list[str]) -> str:
    """Asked before the person has a language, so shown in all three, theirs first."""
    return "\n".join(i18n.gettext("Please choose your language:", locale=code) for code in order)


def consent_request() -> str:
    return "\n\n".join(
        [
            _("<b>Before we begin: your personal data</b>"),
            _(
                "To answer you in your language and connect you with your region's front-office, "
                "the bot stores your Telegram ID and the language and region you choose. If you later "
                "write to an operator or ask volunteers for help, it also keeps what you send and the "
                "phone number you decide to share."
            ),
            _(
                "Your data is used only to answer you, is not passed to anyone else and can be "
                "deleted at any time with /forget. The full notice: /privacy."
            ),
            _("Do you agree to the processing of your personal data?"),
        ]
    )


def privacy_notice(retention_days: int) -> str:
    return "\n\n".join(
        [
            _("<b>Personal data notice</b>"),
            _(
                "This bot is the Telegram channel of the national volunteer Call-centre and the "
                "volunteer front-offices of Kazakhstan. It processes personal data under the Law of "
                "the Republic of Kazakhstan \"On personal data and their protection\", only with your "
                "consent."
            ),
            _(
                "<b>What is stored.</b> Your Telegram ID, the language and the region you chose, and "
                "when you gave consent. Only if you write to an operator or ask volunteers for help: "
                "the messages, photos and files you send, and the phone number you share for that "
                "request. Your Telegram name and username are not stored."
            ),
            _(
                "<b>The Marathon of Good Deeds.</b> If you take part: the name you show (or none, if "
                "you stay anonymous), and your deeds with their descriptions, places and photos (with "
                "each photo's fingerprint, to recognise it if it is sent again). Your record (the number "
                "and amounts of your approved deeds per year, your nominations and certificates) is kept "
                "until you withdraw your consent. Anyone with a certificate's code can see what it "
                "certifies: your name as shown (or “anonymous participant”), region, year and approved "
                "deeds; /forget withdraws your certificates."
            ),
            how_long(retention_days),
            _(
                "<b>Why.</b> To answer you in your language, to pass your request to your region's "
                "front-office and to keep anonymous statistics of the call-centre's work."
            ),
            _(
                "<b>Who sees it.</b> Only the staff of the front-office that handles your request. "
                "Nothing is sold or passed to third parties."
            ),
            _(
                "<b>Your rights.</b> You can see what is stored in /settings, change it at any time, "
                "and withdraw your consent with /forget: the bot then deletes your data. Anonymous "
                "counts (for example, that a question came from your region) stay so statistics remain "
                "true."
            ),
        ]
    )


def how_long(retention_days: int) -> str:
    """Each retention the job enforces (`bot/services/personal_data.py`), as the notice states it."""
    drafts, deliveries = personal_data.DRAFTS_KEPT.days, personal_data.DELIVERIES_KEPT.days
    lines = [
        _("<b>How long.</b>"),
        ngettext(
            "• a request's messages, files and phone number: {days} day after it is closed;",
            "• a request's messages, files and phone number: {days} days after it is closed;", retention_days,
        ).format(days=retention_days),
        ngettext(
            "• everything about you, once you have not written to the bot for {days} day: it is then deleted as with /forget;",
            "• everything about you, once you have not written to the bot for {days} days: it is then deleted as with /forget;",
            retention_days,
        ).format(days=retention_days),
        ngettext(
            "• the descriptions, places and photos of your marathon deeds: {days} day after the marathon ends;",
            "• the descriptions, places and photos of your marathon deeds: {days} days after the marathon ends;",
            retention_days,
        ).format(days=retention_days),
        ngettext(
            "• who an announcement was sent to: {days} day after it was sent;",
            "• who an announcement was sent to: {days} days after it was sent;", retention_days,
        ).format(days=retention_days),
        ngettext(
            "• a form or choice you did not finish: {days} day after your last step;",
            "• a form or choice you did not finish: {days} days after your last step;", drafts,
        ).format(days=drafts),
        ngettext(
            "• the bot's records of the messages it sent you: {days} day.",
            "• the bot's records of the messages it sent you: {days} days.", deliveries,
        ).format(days=deliveries),
        _("What stays after that is anonymous."),
    ]
    return "\n".join(lines)


def office_name(directory: Directory, slug: str) -> str:
    """A front-office as people call it, in the current language."""
    office = directory.get(slug)
    return office.name[get_i18n().current_locale] if office else slug


def _field(value: str) -> str:
    return escape(value) if value else _("not yet published — use Qazvolunteer.kz")


def _hours_text(published: Published, language: str) -> str:
    hours = published.hours
    if hours is None:
        return _field(published.office.hours.get(language, ""))
    names = get_day_names("abbreviated", locale=language)  # 0 is Monday
    days = sorted(hours.days)
    span = names[days[0] - 1] if len(days) == 1 else f"{names[days[0] - 1]}–{names[days[-1] - 1]}"
    if days != list(range(days[0], days[-1] + 1)):
        span = ", ".join(names[day - 1] for day in days)
    return f"{escape(span)} {hours.opens:%H:%M}–{hours.closes:%H:%M}"


def office_card(published: Published, language: str) -> str:
    office = published.office
    if office.is_national:
        title = office.name[language]
    else:
        title = _("{region}: regional volunteer front-office").format(region=office.name[language])
    lines = [
        f"<b>{escape(title)}</b>",
        _("📍 Address: {value}").format(value=_field(published.address.get(language, ""))),
        _("☎️ Phone: {value}").format(value=_field(office.phone)),
        _("✉️ E-mail: {value}").format(value=_field(office.email)),
        _("🕘 Hours: {value}").format(value=_hours_text(published, language)),
    ]
    if published.link:
        lines.append(_("🔗 Website: {value}").format(value=escape(published.link)))
    return "\n".join(lines)


def contacts(offices: list[Published], language: str) -> str:
    """The person's region's office (if they chose one) and the national one."""
    parts = [_("<b>Contacts of the volunteer front-offices</b>")]
    parts.extend(office_card(published, language) for published in offices)
    parts.append(
        _(
            "Projects, news and the volunteer register are on the national platform Qazvolunteer.kz. "
            "You can change your region in /settings."
        )
    )
    return "\n\n".join(parts)


def venue_title(published: Published, language: str) -> str:
    """A map pin's title: the office as people call it."""
    office = published.office
    if office.is_national:
        return office.name[language]
    return _("{region}: regional volunteer front-office").format(region=office.name[language])


def in_parts(text: str, limit: int = 4000) -> list[str]:
    """A text cut at line ends into messages Telegram accepts (4,096 characters each), for lists
    that grow with the data (shortlists, winners). Counted in UTF-16 units of the HTML, which is
    never shorter than the visible text Telegram counts (an emoji in a name is two)."""
    parts, current = [], ""
    for line in text.split("\n"):
        if current and utf16_length(current) + 1 + utf16_length(line) > limit:
            parts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    parts.append(current[:limit])
    return parts
