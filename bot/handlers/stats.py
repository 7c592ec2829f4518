"""/stats: the figures of the call-centre and the marathon for a period the operator chooses (this
week, this month, the marathon, or dates they type), as a text report and then as charts.

Coordinators and the national office see every region; a regional front-office its own region only,
and nothing here lets them ask for another. What each figure means is written down in
`bot/services/statistics.py`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial
from html import escape

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import ActiveOperator, NotCommand
from bot.handlers.marathon import STATES as DEED_STATE_NAMES
from bot.handlers.marathon import UNITS
from bot.handlers.texts import in_parts, office_name
from bot.handlers.ticket_texts import category_name
from bot.i18n import LANGUAGE_NAMES, N_
from bot.keyboards.callbacks import StatsPeriod
from bot.keyboards.menu import AnyMenuButton
from bot.services import charts, marathon, statistics
from bot.services.directory import Directory
from bot.services.knowledge import KnowledgeBase
from bot.services.marathon import Rules
from bot.services.operators import Operator
from bot.services.statistics import MAX_PERIOD_DAYS, Period, PeriodError, PeriodProblem, Statistics
from bot.services.tickets import Limits

log = logging.getLogger(__name__)

STATUS_NAMES = {"new": N_("waiting"), "taken": N_("in progress"), "closed": N_("closed")}
EXAMPLE = "01.11.2026-30.11.2026"
TOP_ENTRIES = 5  # knowledge-base answers listed


class StatsDates(StatesGroup):
    dates = State()


# --- words -----------------------------------------------------------------------------------------

def day_text(day) -> str:
    return day.strftime("%d.%m.%Y")


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
        title = question.question[language] if question else entry
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


def report(figures: Statistics, directory: Directory, kb: KnowledgeBase, rules: Rules, limits: Limits) -> str:
    head = [
        _("📊 <b>Statistics: {scope}</b>").format(scope=escape(scope_text(directory, figures.region))),
        period_text(figures.period),
    ]
    if figures.is_empty:
        return "\n".join([*head, "", _("Nothing happened in this period: no requests, no deeds, nobody joined.")])
    sections = [
        tickets_section(figures, directory, kb, limits),
        deeds_section(figures, directory, rules),
        people_section(figures, directory),
    ]
    return "\n\n".join(["\n".join(head), *("\n".join(section) for section in sections)])


# --- pictures --------------------------------------------------------------------------------------

Chart = tuple[str, Callable[[], bytes]]  # the caption, and what draws it


def chart_plan(figures: Statistics, directory: Directory) -> list[Chart]:
    """The charts worth drawing, with every word already in the reader's language: the drawing
    runs in another thread, where the context's language is not known."""
    when = period_text(figures.period)
    scope = scope_text(directory, figures.region)
    plan: list[Chart] = []
    if figures.region is None and figures.tickets:
        counts = dict(figures.tickets_by_region)
        slugs = sorted({office.slug for office in directory.regions} | set(counts),
                       key=lambda slug: (-counts.get(slug, 0), office_name(directory, slug)))
        bars = [(office_name(directory, slug), counts.get(slug, 0)) for slug in slugs]
        title = _("Requests by region")
        plan.append((f"{title} · {when}", partial(charts.tickets_per_region, bars, f"{title}\n{when}", _("Requests"))))
    if any(figures.tickets_per_day) or any(figures.deeds_per_day):
        series = [(_("Requests"), figures.tickets_per_day), (_("Approved deeds"), figures.deeds_per_day)]
        title = _("Requests and deeds per day")
        plan.append((f"{title} · {scope} · {when}",
                     partial(charts.per_day, figures.period.each_day(), series, f"{title}\n{scope} · {when}", _("Number"))))
    if figures.ratings.count:
        title = _("Ratings of answers")
        plan.append((f"{title} · {scope} · {when}", partial(
            charts.ratings, figures.ratings.distribution, f"{title}\n{scope} · {when}", _("Stars"), _("Ratings"))))
    return plan


# --- the conversation ------------------------------------------------------------------------------

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


async def leave_dates_step(state: FSMContext) -> None:
    if await state.get_state() == StatsDates.dates.state:
        await state.clear()


async def on_stats(message: Message, state: FSMContext, operator: Operator, directory: Directory) -> None:
    await leave_dates_step(state)
    region = statistics.scope_of(operator)
    await message.answer(
        _("📊 Statistics of {scope}. For which period?").format(scope=escape(scope_text(directory, region))),
        reply_markup=periods_keyboard(),
    )


async def send_report(
    message: Message, session: AsyncSession, operator: Operator, period: Period, directory: Directory,
    kb: KnowledgeBase, rules: Rules, limits: Limits,
) -> None:
    started = time.perf_counter()
    figures = await statistics.collect(session, period, statistics.scope_of(operator))
    collected = time.perf_counter()
    plan = [] if figures.is_empty else chart_plan(figures, directory)
    # The charts are drawn in a thread while the text goes out.
    text = report(figures, directory, kb, rules, limits)
    pictures, _sent = await asyncio.gather(
        asyncio.to_thread(lambda: [draw() for _caption, draw in plan]), _send_text(message, text)
    )
    drawn = time.perf_counter()
    for (caption, _draw), picture in zip(plan, pictures, strict=True):
        await message.answer_photo(BufferedInputFile(picture, "stats.png"), caption=escape(caption))
    log.info("statistics sent", extra={
        "days": period.days, "charts": len(plan), "query_ms": round((collected - started) * 1000),
        "text_and_charts_ms": round((drawn - collected) * 1000), "total_ms": round((time.perf_counter() - started) * 1000),
    })


async def _send_text(message: Message, text: str) -> None:
    for part in in_parts(text):
        await message.answer(part)


async def on_period(
    callback: CallbackQuery, callback_data: StatsPeriod, state: FSMContext, session: AsyncSession, operator: Operator,
    directory: Directory, kb: KnowledgeBase, rules: Rules, limits: Limits,
) -> None:
    today = statistics.local_today()
    if callback_data.period == "week":
        period = Period.this_week(today)
    elif callback_data.period == "month":
        period = Period.this_month(today)
    elif callback_data.period == "marathon":
        period = Period.marathon(await marathon.dates(session, rules), today)
    else:
        await callback.answer(_("This button is no longer active."))
        return
    await leave_dates_step(state)
    await callback.answer()
    await send_report(callback.message, session, operator, period, directory, kb, rules, limits)


async def on_custom(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(StatsDates.dates)
    await callback.answer()
    await callback.message.answer(
        _("Send the first and the last day as DD.MM.YYYY-DD.MM.YYYY, for example {example}.").format(example=EXAMPLE),
        reply_markup=cancel_keyboard(),
    )


async def on_cancel(callback: CallbackQuery, state: FSMContext) -> None:
    if await state.get_state() != StatsDates.dates.state:
        await callback.answer(_("This button is no longer active."))
        return
    await state.clear()
    await callback.answer()
    await callback.message.edit_text(_("Cancelled."))


def period_problem_text(problem: PeriodProblem) -> str:
    if problem is PeriodProblem.REVERSED:
        return _("The first day comes after the last one. Please send the earlier day first, for example {example}.").format(example=EXAMPLE)
    if problem is PeriodProblem.TOO_LONG:
        return _("That is more than {days} days. Please choose a shorter period.").format(days=MAX_PERIOD_DAYS)
    return _("I could not read those dates. Please send them as DD.MM.YYYY-DD.MM.YYYY, for example {example}.").format(example=EXAMPLE)


async def on_typed_dates(
    message: Message, state: FSMContext, session: AsyncSession, operator: Operator, directory: Directory,
    kb: KnowledgeBase, rules: Rules, limits: Limits,
) -> None:
    try:
        period = Period.parse(message.text or "")
    except PeriodError as error:
        await message.answer(period_problem_text(error.problem), reply_markup=cancel_keyboard())
        return
    await state.clear()
    await send_report(message, session, operator, period, directory, kb, rules, limits)


def create_router() -> Router:
    router = Router(name="stats")
    router.message.filter(ActiveOperator())
    router.callback_query.filter(ActiveOperator())
    router.message.register(on_stats, Command("stats"))
    router.callback_query.register(on_custom, StatsPeriod.filter(F.period == "custom"))
    router.callback_query.register(on_cancel, StatsPeriod.filter(F.period == "cancel"))
    router.callback_query.register(on_period, StatsPeriod.filter())
    router.message.register(on_typed_dates, StateFilter(StatsDates.dates), NotCommand(), ~AnyMenuButton())
    return router
