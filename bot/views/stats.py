"""What /stats shows: the report's words (`report`), the charts' plan (`chart_plan`), and the
choice of a period. The figures themselves, and what each means, are `bot/services/statistics.py`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from html import escape

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.numbers import format_decimal

from bot.i18n import LANGUAGE_NAMES, N_
from bot.services import charts, marathon
from bot.services.directory import Directory
from bot.services.knowledge import KnowledgeBase
from bot.services.knowledge.gaps import Answering, Share
from bot.views.knowledge import label as shown_label
from bot.services.marathon import Rules
from bot.services.statistics import MAX_PERIOD_DAYS, Period, PeriodProblem, Statistics
from bot.services.tickets import Limits
from bot.views.callbacks import StatsPeriod
from bot.views.common import office_name
from bot.views.marathon import STATES as DEED_STATE_NAMES
from bot.views.marathon import UNITS
from bot.views.tickets import category_name

STATUS_NAMES = {"new": N_("waiting"), "taken": N_("in progress"), "closed": N_("closed")}
EXAMPLE = "01.11.2026-30.11.2026"
TOP_ENTRIES = 5  # knowledge-base answers listed

# --- words -----------------------------------------------------------------------------------------

def day_text(day) -> str:
    return day.strftime("%d.%m.%Y")


def choose_period_text(directory: Directory, region: str | None) -> str:
    return _("📊 Statistics of {scope}. For which period?").format(scope=escape(scope_text(directory, region)))


def period_text(period: Period) -> str:
    if period.first == period.last:
        return day_text(period.first)
    return f"{day_text(period.first)} – {day_text(period.last)}"


def scope_text(directory: Directory, region: str | None) -> str:
    return office_name(directory, region) if region else _("all regions")


def number(value: float, pattern: str = "#,##0.#") -> str:
    return format_decimal(value, format=pattern, locale=get_i18n().current_locale)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return _("{seconds} s").format(seconds=round(seconds))
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("{minutes} min").format(minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        if not minutes:
            return _("{hours} h").format(hours=hours)
        return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    days, hours = divmod(hours, 24)
    if not hours:
        return _("{days} d").format(days=days)
    return _("{days} d {hours} h").format(days=days, hours=hours)


def joined(pairs) -> str:
    return " · ".join(pairs) if pairs else "—"


def tickets_section(figures: Statistics, directory: Directory, kb: KnowledgeBase, limits: Limits) -> list[str]:
    language = get_i18n().current_locale
    lines = [_("<b>💬 Requests: {count}</b>").format(count=figures.tickets)]
    if not figures.tickets:
        return lines
    lines.append(_("By state: {list}").format(
        list=joined(f"{_(STATUS_NAMES[status])} {count}" for status, count in figures.tickets_by_status)))
    lines.append(_("By kind: {list}").format(
        list=joined(f"{escape(category_name(category))} {count}" for category, count in figures.tickets_by_category)))
    if figures.region is None:
        lines.append(_("By region: {list}").format(
            list=joined(f"{escape(office_name(directory, region))} {count}" for region, count in figures.tickets_by_region)))
    for label, spread in ((_("First answer"), figures.first_answer), (_("Closed"), figures.to_close)):
        if spread.count:
            lines.append(_("{what}: median {median}, 90% within {p90} (of {count})").format(
                what=label, median=duration(spread.median), p90=duration(spread.p90), count=spread.count))
        else:
            lines.append(_("{what}: none yet").format(what=label))
    missed = figures.missed
    lines.append(_("Time limits missed:"))
    lines.append("• " + _("not taken within {limit}: {count}").format(
        limit=duration(limits.remind_after.total_seconds()), count=missed.not_taken))
    lines.append("• " + _("sent up to the national office after {limit}: {count}").format(
        limit=duration(limits.escalate_after.total_seconds()), count=missed.escalated))
    lines.append("• " + _("a citizen waited over {limit} for an answer: {count}").format(
        limit=duration(limits.answer_after.total_seconds()), count=missed.unanswered))
    ratings = figures.ratings
    if ratings.count:
        stars = " · ".join(f"{n}★ {ratings.distribution[n - 1]}" for n in range(5, 0, -1))
        lines.append(_("Ratings: {count}, average {average} ({stars})").format(
            count=ratings.count, average=number(ratings.average, "0.0"), stars=stars))
    else:
        lines.append(_("Ratings: none yet"))
    lines.append(ngettext(
        "After a knowledge-base answer: {count} request",
        "After a knowledge-base answer: {count} requests",
        figures.via_knowledge,
    ).format(count=figures.via_knowledge))
    for entry, count in figures.knowledge_entries[:TOP_ENTRIES]:
        topic, _sep, question_id = entry.partition("/")
        question = kb.question(topic, question_id)
        title = shown_label(question.question, language) if question else entry
        lines.append(f"  • {escape(title)}: {count}")
    return lines


def deeds_section(figures: Statistics, directory: Directory, rules: Rules) -> list[str]:
    language = get_i18n().current_locale
    lines = [_("<b>🏃 Marathon deeds: {count}</b>").format(count=figures.deeds)]
    if not figures.deeds:
        return lines
    lines.append(joined(f"{_(DEED_STATE_NAMES[state])} {count}" for state, count in figures.deeds_by_state))
    if not figures.approved_deeds:
        return lines
    lines.append(_("Approved, by kind:"))
    for total in figures.deeds_by_kind:
        kind = rules.kind(total.kind)
        name = kind.name[language] if kind else total.kind
        unit = f" {_(UNITS[kind.unit])}" if kind else ""
        lines.append("• " + ngettext("{kind}: {count} deed, {amount}", "{kind}: {count} deeds, {amount}", total.deeds).format(
            kind=escape(name), count=total.deeds, amount=f"{marathon.plain(total.amount)}{unit}"))
    if figures.region is None:
        lines.append(_("Approved, by region: {list}").format(
            list=joined(f"{escape(office_name(directory, region))} {count}" for region, count in figures.deeds_by_region)))
    best = max(range(len(figures.deeds_per_day)), key=lambda index: figures.deeds_per_day[index])
    lines.append(_("Busiest day: {day} ({count} approved)").format(
        day=day_text(figures.period.each_day()[best]), count=figures.deeds_per_day[best]))
    return lines


def people_section(figures: Statistics, directory: Directory) -> list[str]:
    people = figures.people
    lines = [_("<b>👥 People: {total}</b>, joined in the period: {joined}").format(total=people.total, joined=people.joined)]
    if not people.total:
        return lines
    lines.append(_("By language: {list}").format(
        list=joined(f"{LANGUAGE_NAMES.get(code, code)} {counts.total} (+{counts.joined})" for code, counts in figures.people_by_language)))
    if figures.region is None:
        lines.append(_("By region: {list}").format(
            list=joined(f"{escape(office_name(directory, region))} {counts.total} (+{counts.joined})"
                        for region, counts in figures.people_by_region)))
    return lines


def _share(share: Share) -> str:
    if share.share is None:
        return "—"
    return _("{percent}% ({settled} of {asked})").format(
        percent=number(share.share * 100, "0"), settled=share.settled, asked=share.asked
    )


def knowledge_section(answering: Answering, kb: KnowledgeBase) -> list[str]:
    """How much the knowledge base answers by itself: typed questions it answered that did not go
    on to an operator, of all typed questions; per language and per topic; the groups still open."""
    language = get_i18n().current_locale
    lines = [_("<b>📚 Knowledge base: answered without an operator {share}</b>").format(share=_share(answering.total))]
    if not answering.total.asked:
        return lines
    lines.append(_("By language: {list}").format(
        list=joined(f"{LANGUAGE_NAMES.get(code, code)} {_share(share)}" for code, share in sorted(answering.by_language.items()))))
    topics = sorted(answering.by_topic.items(), key=lambda item: -item[1].asked)[:TOP_ENTRIES]
    for topic_id, share in topics:
        topic = kb.topic(topic_id)
        title = shown_label(topic.title, language) if topic else topic_id
        lines.append(f"  • {escape(title)}: {_share(share)}")
    lines.append(_("Not found: {count}; wordings still open in /gaps: {wordings}").format(
        count=answering.total.unanswered, wordings=answering.open_wordings))
    return lines


def report(
    figures: Statistics, directory: Directory, kb: KnowledgeBase, rules: Rules, limits: Limits,
    answering: Answering | None = None,
) -> str:
    head = [
        _("📊 <b>Statistics: {scope}</b>").format(scope=escape(scope_text(directory, figures.region))),
        period_text(figures.period),
    ]
    knowledge = [knowledge_section(answering, kb)] if answering is not None and answering.total.asked else []
    if figures.is_empty and not knowledge:
        return "\n".join([*head, "", _("Nothing happened in this period: no requests, no deeds, nobody joined.")])
    sections = [
        tickets_section(figures, directory, kb, limits),
        *knowledge,
        deeds_section(figures, directory, rules),
        people_section(figures, directory),
    ]
    return "\n\n".join(["\n".join(head), *("\n".join(section) for section in sections)])


# --- pictures --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Chart:
    caption: str
    draw: Callable[[], bytes]  # picklable: it runs in a worker process
    cost: int  # how long it takes to draw, roughly: the texts on it


def chart_plan(figures: Statistics, directory: Directory) -> list[Chart]:
    """The charts worth drawing, in the order they are shown, with every word already in the
    reader's language: the drawing runs in another process, where the context's language is not
    known. The regions' chart, the slowest to draw (two texts a region), comes last, so that the
    others go out while it is still being drawn."""
    when = period_text(figures.period)
    scope = scope_text(directory, figures.region)
    plan: list[Chart] = []
    if any(figures.tickets_per_day) or any(figures.deeds_per_day):
        series = [(_("Requests"), figures.tickets_per_day), (_("Approved deeds"), figures.deeds_per_day)]
        title = _("Requests and deeds per day")
        plan.append(Chart(f"{title} · {scope} · {when}", partial(
            charts.per_day, figures.period.each_day(), series, f"{title}\n{scope} · {when}", _("Number")), 20))
    if figures.ratings.count:
        title = _("Ratings of answers")
        plan.append(Chart(f"{title} · {scope} · {when}", partial(
            charts.ratings, figures.ratings.distribution, [number(count) for count in figures.ratings.distribution],
            f"{title}\n{scope} · {when}", _("Stars"), _("Ratings")), 15))
    if figures.region is None and figures.tickets:
        counts = dict(figures.tickets_by_region)
        slugs = sorted({office.slug for office in directory.regions} | set(counts),
                       key=lambda slug: (-counts.get(slug, 0), office_name(directory, slug)))
        bars = [(office_name(directory, slug), counts.get(slug, 0), number(counts.get(slug, 0))) for slug in slugs]
        title = _("Requests by region")
        plan.append(Chart(f"{title} · {when}", partial(
            charts.tickets_per_region, bars, f"{title}\n{when}"), 10 + 2 * len(bars)))
    return plan

def periods_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("This week"), callback_data=StatsPeriod(period="week"))
    builder.button(text=_("This month"), callback_data=StatsPeriod(period="month"))
    builder.button(text=_("The marathon"), callback_data=StatsPeriod(period="marathon"))
    builder.button(text=_("📅 Custom dates"), callback_data=StatsPeriod(period="custom"))
    builder.adjust(2, 2)
    return builder.as_markup()


def cancel_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✖️ Cancel"), callback_data=StatsPeriod(period="cancel"))
    return builder.as_markup()

def period_problem_text(problem: PeriodProblem) -> str:
    if problem is PeriodProblem.REVERSED:
        return _("The first day comes after the last one. Please send the earlier day first, for example {example}.").format(example=EXAMPLE)
    if problem is PeriodProblem.TOO_LONG:
        return ngettext(
            "That is more than {days} day. Please choose a shorter period.",
            "That is more than {days} days. Please choose a shorter period.",
            MAX_PERIOD_DAYS,
        ).format(days=MAX_PERIOD_DAYS)
    return _("I could not read those dates. Please send them as DD.MM.YYYY-DD.MM.YYYY, for example {example}.").format(example=EXAMPLE)
