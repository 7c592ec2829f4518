"""What the Marathon shows: the deed form's keyboards and summary, a participant's deeds and the
results, the refusals, the outcome of a review told to the participant when the outbox sends it (in
their language), and the preset reasons reviewers pick."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html import escape
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import N_
from bot.services import marathon
from bot.services.directory import Directory
from bot.services.marathon import Dates, Deed, Kind, Refusal, Rules, State
from bot.services.nominations import Nomination
from bot.services.users import Person
from bot.views.callbacks import DeedReview, MarathonNav, WinnersChoice
from bot.views.common import office_name


UNITS = {"count": N_("pcs"), "kg": N_("kg"), "hours": N_("h")}
STATES = {"pending": N_("⏳ waiting for review"), "approved": N_("✅ approved"), "rejected": N_("❌ not accepted")}


def refusal_text(
    reason: Refusal, kind: Kind | None = None, language: str = "en", daily_limit: int = 0, deed: int | None = None
) -> str:
    if reason is Refusal.PHOTO_USED and deed is not None:
        return _("This photo, or one made from it (re-saved, resized, a screenshot), already proves deed №{number}. Please send a photo of this deed.").format(
            number=deed)
    texts = {
        Refusal.NOT_RUNNING: _("The marathon is not running now, so deeds cannot be logged."),
        Refusal.NOT_A_NUMBER: _("Please send the amount as a number, for example 12 (whole for things you count)."),
        Refusal.NOT_POSITIVE: _("The amount must be more than zero."),
        Refusal.IN_THE_FUTURE: _("That date has not come yet: a deed is logged once it is done."),
        Refusal.OUTSIDE_DATES: _("That date is outside the marathon's dates."),
        Refusal.PHOTO_USED: _("This photo already proves another deed. Please send a photo of this deed."),
        Refusal.DAILY_LIMIT: _("You have logged {limit} deeds today, the most for one day. Please come back tomorrow.").format(limit=daily_limit),
        Refusal.NOT_JOINED: _("Join the marathon first."),
        Refusal.NOT_OFFERED: _("This kind of deed is no longer offered in the marathon."),
    }
    if reason is Refusal.TOO_MUCH and kind is None:
        return _("That is more than one deed of this kind can plausibly be.")
    if reason is Refusal.TOO_MUCH:
        return _("That is more than one deed can plausibly be: at most {max} {unit} for “{kind}”. If it is true, log it as several deeds.").format(
            max=marathon.plain(kind.max), unit=_(UNITS[kind.unit]), kind=escape(kind.name[language])
        )
    return texts[reason]

# Reasons a reviewer picks with one press; stored as "preset:<key>" and shown to the participant in
# their own language.
PRESET_REASONS = {
    "photo": N_("The photos do not show this deed."),
    "amount": N_("The amount does not match the photos."),
    "duplicate": N_("This deed has already been logged."),
    "dates": N_("The deed was not done during the marathon."),
}
PRESET_PREFIX = "preset:"


def reason_text(stored: str | None) -> str:
    if stored and stored.startswith(PRESET_PREFIX):
        return _(PRESET_REASONS.get(stored.removeprefix(PRESET_PREFIX), PRESET_REASONS["photo"]))
    return escape(stored or "")


def review_outcome(deed: Deed, rules: Rules, outcome: str | None = None) -> str:
    """What the participant is told of a review: `outcome` is what that review did ("approved",
    "rejected", "withdrawn"), the deed's state now if not given (a message owed before it was kept)."""
    language = get_i18n().current_locale
    kind = rules.kind(deed.kind)
    words = kind.total_words(deed.amount, language) if kind else str(deed.amount)
    outcome = outcome or deed.state.value
    if outcome == "withdrawn":
        return _("❌ The approval of your deed №{number} has been withdrawn: it no longer counts in the results or your certificate. Reason: {reason}").format(
            number=deed.id, reason=reason_text(deed.reject_reason))
    if outcome == State.APPROVED.value:
        text = _("✅ Your deed №{number} is approved: {words}. Thank you!").format(number=deed.id, words=escape(words))
        if deed.claimed_amount is not None:
            text += "\n" + _("The front-office corrected the amount you gave ({amount}).").format(amount=marathon.plain(deed.claimed_amount))
        return text
    return _("❌ Your deed №{number} was not accepted. Reason: {reason}").format(number=deed.id, reason=reason_text(deed.reject_reason))


def winners_text(found: list[Nomination], directory: Directory) -> str:
    """The announcement of the winners, in the current language."""
    language = get_i18n().current_locale
    lines = [_("🏆 <b>Marathon of Good Deeds: the winners</b>"), ""]
    for nomination in found:
        names = ", ".join(
            f"{escape(w.display_name) if w.display_name else _('anonymous')} ({escape(office_name(directory, w.region))})"
            for w in nomination.winners
        )
        lines.append(f"<b>{escape(nomination.name[language])}</b>: {names}")
    lines.extend(["", _("Congratulations to the winners, and thank you, everyone, for every good deed!")])
    return "\n".join(lines)


PARTICIPANT_KINDS = {"person": N_("👤 As a person"), "organisation": N_("🏢 As an organisation"),
                     "group": N_("👥 As an initiative group")}


def button_row(builder: InlineKeyboardBuilder, back: bool = True) -> None:
    if back:
        builder.button(text=_("⬅️ Back"), callback_data=MarathonNav(action="back"))
    builder.button(text=_("✖️ Cancel"), callback_data=MarathonNav(action="cancel"))


def nav_keyboard(back: bool = True) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    button_row(builder, back)
    builder.adjust(2)
    return builder.as_markup()


def summary_text(data: dict[str, Any], rules: Rules, user: Person) -> str:
    kind = rules.kind(data["kind"])
    return "\n".join([
        _("<b>Your deed</b>"),
        "",
        f"{escape(kind.name[user.language])}: {marathon.plain(Decimal(data['amount']))} {_(UNITS[kind.unit])}",
        _("Date: {date}").format(date=date.fromisoformat(data["day"]).strftime("%d.%m.%Y")),
        _("Where: {place}").format(place=escape(data["locality"])),
        _("What: {text}").format(text=escape(data["description"])),
        _("Photos: {count}").format(count=len(data["photos"])),
        "",
        _("Log it?"),
    ])


def forward_keyboard(label: str, action: str) -> InlineKeyboardMarkup:
    """The deed form's step forward above its Back and Cancel row."""
    builder = InlineKeyboardBuilder()
    builder.button(text=label, callback_data=MarathonNav(action=action))
    button_row(builder)
    builder.adjust(1, 2)
    return builder.as_markup()


def photos_keyboard() -> InlineKeyboardMarkup:
    return forward_keyboard(_("✅ Done"), "photos_done")


def photos_text(count: int, full: bool) -> str:
    if full:
        return _("That is three photos already, the most for one deed. Press “Done”.")
    return _("Photo {count} of up to {limit} received. Send another, or press “Done”.").format(count=count, limit=marathon.MAX_PHOTOS)


def deed_line(deed: marathon.Deed, rules: Rules, language: str) -> str:
    kind = rules.kind(deed.kind)
    name = kind.name[language] if kind else deed.kind
    unit = _(UNITS[kind.unit]) if kind else ""
    line = f"№{deed.id} · {escape(name)} · {marathon.plain(deed.amount)} {unit} · {deed.deed_date.strftime('%d.%m.%Y')} · {_(STATES[deed.state.value])}"
    if deed.claimed_amount is not None:
        line += " " + _("(corrected from {amount})").format(amount=marathon.plain(deed.claimed_amount))
    return line


def totals_words(found: dict[str, Decimal], rules: Rules, language: str) -> str:
    words = [kind.total_words(found[kind.slug], language) for kind in rules.kinds if found.get(kind.slug)]
    return ", ".join(words) if words else _("nothing approved yet")


def leader_line(place: int, leader: marathon.Leader, directory: Directory) -> str:
    name = escape(leader.display_name) if leader.display_name else _("anonymous")
    return _("{place}. {name} ({region}): {deeds}").format(
        place=place, name=name, region=escape(office_name(directory, leader.region)), deeds=leader.approved_deeds
    )


def review_keyboard(deed_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Approve"), callback_data=DeedReview(action="approve", deed=deed_id))
    builder.button(text=_("❌ Reject"), callback_data=DeedReview(action="reject", deed=deed_id))
    builder.button(text=_("✏️ Correct the amount"), callback_data=DeedReview(action="correct", deed=deed_id))
    builder.adjust(2, 1)
    return builder.as_markup()


# --- the participant's screens ----------------------------------------------------------------------


def home_text(running: Dates) -> str:
    return "\n\n".join([
        _("🏃 <b>Marathon of Good Deeds</b>"),
        _("Do good deeds, log them here with a photo, and see what Kazakhstan achieves together. The front-office of your region checks each deed."),
        _("Dates: {starts} – {ends}.").format(starts=running.starts_on.strftime("%d.%m.%Y"), ends=running.ends_on.strftime("%d.%m.%Y")),
    ])


def home_keyboard(joined: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if not joined:
        builder.button(text=_("🙌 Join"), callback_data=MarathonNav(action="join"))
        builder.button(text=_("🏆 Results"), callback_data=MarathonNav(action="results"))
    else:
        builder.button(text=_("📝 Log a deed"), callback_data=MarathonNav(action="log"))
        builder.button(text=_("📋 My deeds"), callback_data=MarathonNav(action="mine"))
        builder.button(text=_("📒 My record"), callback_data=MarathonNav(action="record"))
        builder.button(text=_("🏆 Results"), callback_data=MarathonNav(action="results"))
        builder.button(text=_("✏️ How I take part"), callback_data=MarathonNav(action="join"))
    builder.adjust(2 if joined else 1)
    return builder.as_markup()


def participant_kind_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for slug, label in PARTICIPANT_KINDS.items():
        builder.button(text=_(label), callback_data=MarathonNav(action="as", value=slug))
    button_row(builder, back=False)
    builder.adjust(1)
    return builder.as_markup()


def display_name_prompt() -> str:
    return _("The name to show on the results (yours, your organisation's or your group's), up to {limit} characters. Or stay anonymous.").format(
        limit=marathon.MAX_NAME_LENGTH
    )


def anonymous_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🕶 Stay anonymous"), callback_data=MarathonNav(action="anonymous"))
    button_row(builder, back=False)
    builder.adjust(1)
    return builder.as_markup()


def keep_region_keyboard(region_name: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ {region}").format(region=region_name), callback_data=MarathonNav(action="keep_region"))
    return builder.as_markup()


def deed_kinds_keyboard(offered: list[Kind], language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for each in offered:
        builder.button(text=each.name[language], callback_data=MarathonNav(action="kind", value=each.slug))
    button_row(builder, back=False)
    builder.adjust(*([2] * ((len(offered) + 1) // 2)), 1)
    return builder.as_markup()


def step_prompt(step: str, kind: Kind | None, language: str) -> str:
    """What the deed form asks at a step after the kind (the summary has its own text)."""
    if step == "amount":
        prompts = {
            "count": _("How many? A whole number, up to {max}."),
            "kg": _("How many kilograms? Up to {max} kg."),
            "hours": _("How many hours? Up to {max}."),
        }
        return f"{escape(kind.name[language])}\n" + prompts[kind.unit].format(max=marathon.plain(kind.max))
    if step == "day":
        return _("When was it? Press a button or type the date as DD.MM.YYYY.")
    if step == "locality":
        return _("Where? The locality: a city, a district or a village (up to {limit} characters).").format(limit=marathon.MAX_LOCALITY_LENGTH)
    if step == "description":
        return _("Describe the deed in a sentence or two (up to {limit} characters).").format(limit=marathon.MAX_DESCRIPTION_LENGTH)
    return _("Send one to three photos of the deed as proof.")


def step_keyboard(step: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if step == "day":
        builder.button(text=_("Today"), callback_data=MarathonNav(action="date", value="0"))
        builder.button(text=_("Yesterday"), callback_data=MarathonNav(action="date", value="1"))
    button_row(builder)
    builder.adjust(*([2] if step == "day" else []), 2)
    return builder.as_markup()


def summary_keyboard() -> InlineKeyboardMarkup:
    return forward_keyboard(_("✅ Log it"), "confirm")


def my_deeds_text(found: list[Deed], approved: dict[str, Decimal], rules: Rules, language: str) -> str:
    return "\n".join([
        _("<b>My deeds</b>"), *(deed_line(d, rules, language) for d in found), "",
        _("Approved: {totals}.").format(totals=totals_words(approved, rules, language)),
    ])


def results_text(
    national: dict[str, Decimal], regional: dict[str, Decimal], leaders: list[marathon.Leader],
    local_leaders: list[marathon.Leader], ranking: list[tuple[str, int]], home_region: str, rules: Rules,
    directory: Directory, language: str,
) -> str:
    region = escape(office_name(directory, home_region))
    return "\n".join([
        _("🏆 <b>Marathon results</b> (approved deeds)"),
        "",
        _("<b>Kazakhstan:</b> {totals}.").format(totals=totals_words(national, rules, language)),
        _("<b>{region}:</b> {totals}.").format(region=region, totals=totals_words(regional, rules, language)),
        "",
        _("<b>Most deeds, Kazakhstan</b>"),
        *([leader_line(n, leader, directory) for n, leader in enumerate(leaders, 1)] or [_("nobody yet")]),
        "",
        _("<b>Most deeds, {region}</b>").format(region=region),
        *([leader_line(n, leader, directory) for n, leader in enumerate(local_leaders, 1)] or [_("nobody yet")]),
        "",
        _("<b>Regions by deeds</b>"),
        *([f"{n}. {escape(office_name(directory, slug))}: {deeds}" for n, (slug, deeds) in enumerate(ranking, 1)] or [_("nobody yet")]),
    ])


def reasons_keyboard(deed_id: int, retract: bool = False) -> InlineKeyboardMarkup:
    """Why a deed is rejected (`retract`: an approved one, after all): the preset reasons, or the
    reviewer's own words."""
    builder = InlineKeyboardBuilder()
    prefix = "retract_" if retract else ""
    for key, reason in PRESET_REASONS.items():
        builder.button(text=_(reason), callback_data=DeedReview(action=prefix + "reason", deed=deed_id, value=key))
    builder.button(text=_("✍️ Other reason"), callback_data=DeedReview(action=prefix + "other", deed=deed_id))
    builder.adjust(1)
    return builder.as_markup()


def approved_keyboard(deed_id: int) -> InlineKeyboardMarkup:
    """Under "Deed №N approved": the approval withdrawn if it proves wrong (a reused photo seen later)."""
    builder = InlineKeyboardBuilder()
    builder.button(text=_("↩️ Withdraw approval"), callback_data=DeedReview(action="retract", deed=deed_id))
    return builder.as_markup()


def announce_winners_keyboard(participants: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("📣 Announce to {count} participants").format(count=participants), callback_data=WinnersChoice(confirm=True))
    builder.button(text=_("✖️ Cancel"), callback_data=WinnersChoice(confirm=False))
    builder.adjust(1)
    return builder.as_markup()
