"""/desk for coordinators: how busy their office is (every office, for the national one: a page of
offices first, each office's operators and requests on its own page), and one tap to give a
waiting or held request to an operator on duty. The checks are in
`bot/services/tickets/workload.py`; forged data for another office is refused there."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import ActiveOperator
from bot.handlers.tickets.desk import refusal
from bot.middlewares.access import Requires
from bot.services.access import Act
from bot.services.directory import Directory
from bot.services.operators import Operator, get_operator
from bot.services.tickets import Limits, TicketError, workload
from bot.views import workload as views
from bot.views.callbacks import DeskView


async def _desk(session: AsyncSession, operator: Operator, directory: Directory, page: int = 0):
    """The desk's first screen: every office (a page of them) for whoever reaches them all; their
    own office's page for a regional coordinator."""
    office = await workload.desk_office(session, operator)
    if office is not None:
        return await _office(session, operator, directory, office, page)
    offices = [directory.national.slug, *(region.slug for region in directory.regions)]
    overview = await workload.overview(session, operator, offices, page)
    return views.overview_text(overview, directory, datetime.now(UTC)), views.overview_keyboard(overview, directory)


async def _office(session: AsyncSession, operator: Operator, directory: Directory, office: str, page: int):
    desk = await workload.office_desk(session, operator, office, page)  # access.Denied for another office
    every_office = await workload.desk_office(session, operator) is None
    return views.office_text(desk, directory, datetime.now(UTC)), views.office_keyboard(desk, every_office)


async def on_desk(message: Message, session: AsyncSession, operator: Operator, directory: Directory) -> None:
    text, markup = await _desk(session, operator, directory)
    await message.answer(text, reply_markup=markup)


async def _show(callback: CallbackQuery, text: str, markup) -> None:
    with suppress(TelegramBadRequest):  # the same screen again: "message is not modified"
        await callback.message.edit_text(text, reply_markup=markup)
    await callback.answer()


async def on_back(
    callback: CallbackQuery, callback_data: DeskView, session: AsyncSession, operator: Operator, directory: Directory
) -> None:
    await _show(callback, *(await _desk(session, operator, directory, callback_data.page)))


async def on_office(
    callback: CallbackQuery, callback_data: DeskView, session: AsyncSession, operator: Operator, directory: Directory
) -> None:
    if directory.get(callback_data.office) is None:
        await callback.answer(_("This button is no longer active."), show_alert=True)
        return
    await _show(callback, *(await _office(session, operator, directory, callback_data.office, callback_data.page)))


async def on_held(
    callback: CallbackQuery, callback_data: DeskView, session: AsyncSession, operator: Operator, directory: Directory
) -> None:
    holder = await get_operator(session, callback_data.operator) if callback_data.operator else None
    found = await workload.open_requests(
        session, operator, holder.telegram_id if holder else None, callback_data.office or None, callback_data.page
    )
    await _show(
        callback, views.requests_text(holder, found, directory),
        views.requests_keyboard(found, holder.telegram_id if holder else 0, callback_data.office),
    )


async def on_pick(
    callback: CallbackQuery, callback_data: DeskView, session: AsyncSession, operator: Operator, directory: Directory
) -> None:
    try:
        ticket, people = await workload.candidates(session, operator, callback_data.ticket, callback_data.page)
    except TicketError as error:
        await callback.answer(refusal(error, directory), show_alert=True)
        return
    await _show(callback, views.candidates_text(ticket, people), views.candidates_keyboard(ticket, people, directory))


async def on_give(
    callback: CallbackQuery, callback_data: DeskView, session: AsyncSession, operator: Operator, directory: Directory,
    limits: Limits,
) -> None:
    try:
        ticket = await workload.reassign(session, limits, operator, callback_data.ticket, callback_data.operator)
    except TicketError as error:
        await callback.answer(refusal(error, directory), show_alert=True)
        return
    await callback.answer()
    await callback.message.edit_text(views.reassigned_text(ticket), reply_markup=views.reassigned_keyboard(ticket))


def create_router() -> Router:
    router = Router(name="workload")
    # The permission is checked, and the actor locked, before the handler; operators are refused.
    router.message.middleware(Requires(Act.WORKLOAD))
    router.callback_query.middleware(Requires(Act.WORKLOAD))
    router.message.register(on_desk, Command("desk"), ActiveOperator())
    router.callback_query.register(on_back, DeskView.filter(F.action == "back"), ActiveOperator())
    router.callback_query.register(on_office, DeskView.filter(F.action == "office"), ActiveOperator())
    router.callback_query.register(on_held, DeskView.filter(F.action == "held"), ActiveOperator())
    router.callback_query.register(on_pick, DeskView.filter(F.action == "pick"), ActiveOperator())
    router.callback_query.register(on_give, DeskView.filter(F.action == "to"), ActiveOperator())
    return router
