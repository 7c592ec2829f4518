"""/stats: the figures of the call-centre and the marathon for a period the operator chooses (this
week, this month, the marathon, or dates they type), as a text report and then as charts.

Coordinators and the national office see every region; a regional front-office its own region only,
and nothing here lets them ask for another. What each figure means is written down in
`bot/services/statistics.py`."""

from __future__ import annotations

import logging
import time
from html import escape

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import ActiveOperator, NotCommand
from bot.services import marathon, statistics
from bot.services.chart_pool import ChartPool
from bot.services.clock import today_in_kazakhstan
from bot.services.directory import Directory
from bot.services.knowledge import KnowledgeBase, gaps
from bot.services.marathon import Rules
from bot.services.operators import Operator
from bot.services.statistics import Period, PeriodError
from bot.services.tickets import Limits
from bot.views.callbacks import StatsPeriod
from bot.views.common import in_parts
from bot.views.menu import AnyMenuButton
from bot.views.stats import (
    EXAMPLE, cancel_keyboard, chart_plan, choose_period_text, period_problem_text, periods_keyboard, report,
)

log = logging.getLogger(__name__)

class StatsDates(StatesGroup):
    dates = State()


# --- the conversation ------------------------------------------------------------------------------

async def leave_dates_step(state: FSMContext) -> None:
    if await state.get_state() == StatsDates.dates.state:
        await state.clear()


async def on_stats(
    message: Message, state: FSMContext, operator: Operator, directory: Directory, chart_pool: ChartPool,
) -> None:
    chart_pool.warm_up()  # the workers start while the period is chosen
    await leave_dates_step(state)
    region = statistics.scope_of(operator)
    await message.answer(
        choose_period_text(directory, region),
        reply_markup=periods_keyboard(),
    )


async def send_report(
    message: Message, session: AsyncSession, operator: Operator, period: Period, directory: Directory,
    kb: KnowledgeBase, rules: Rules, limits: Limits, chart_pool: ChartPool,
) -> None:
    started = time.perf_counter()
    region = statistics.scope_of(operator)
    figures = await statistics.collect(session, period, region)
    # The knowledge base is national, and so are its counts: in the national office's report only.
    answering = await gaps.answering(session, period.first, period.last) if region is None else None
    collected = time.perf_counter()
    plan = [] if figures.is_empty else chart_plan(figures, directory)
    # The charts are drawn in worker processes while the text goes out, each sent once drawn.
    pictures = chart_pool.draw([chart.draw for chart in plan], [chart.cost for chart in plan])
    try:
        await _send_text(message, report(figures, directory, kb, rules, limits, answering))
        texted = time.perf_counter()
        for chart, picture in zip(plan, pictures, strict=True):
            try:
                drawn_picture = await picture
            except Exception:  # the text is out and complete: a chart missing is told, not the report failed
                log.exception("a chart of the statistics could not be drawn")
                await message.answer(_("This chart could not be drawn: {title}. The figures above are complete.").format(
                    title=escape(chart.caption)))
                continue
            await message.answer_photo(BufferedInputFile(drawn_picture, "stats.png"), caption=escape(chart.caption))
    finally:
        for picture in pictures:
            picture.cancel()
    drawn = time.perf_counter()
    log.info("statistics sent", extra={
        "days": period.days, "charts": len(plan), "query_ms": round((collected - started) * 1000),
        "text_ms": round((texted - collected) * 1000), "charts_after_text_ms": round((drawn - texted) * 1000), "total_ms": round((time.perf_counter() - started) * 1000),
    })


async def _send_text(message: Message, text: str) -> None:
    for part in in_parts(text):
        await message.answer(part)


async def on_period(
    callback: CallbackQuery, callback_data: StatsPeriod, state: FSMContext, session: AsyncSession, operator: Operator,
    directory: Directory, kb: KnowledgeBase, rules: Rules, limits: Limits, chart_pool: ChartPool,
) -> None:
    today = today_in_kazakhstan()
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
    await send_report(callback.message, session, operator, period, directory, kb, rules, limits, chart_pool)


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


async def on_typed_dates(
    message: Message, state: FSMContext, session: AsyncSession, operator: Operator, directory: Directory,
    kb: KnowledgeBase, rules: Rules, limits: Limits, chart_pool: ChartPool,
) -> None:
    try:
        period = Period.parse(message.text or "")
    except PeriodError as error:
        await message.answer(period_problem_text(error.problem), reply_markup=cancel_keyboard())
        return
    await state.clear()
    await send_report(message, session, operator, period, directory, kb, rules, limits, chart_pool)


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
