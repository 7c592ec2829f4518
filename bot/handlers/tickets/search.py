"""/find: requests of the operator's scope by number, phone, words, state and days; each found one
opens with a tap (its card, as /ticket shows it)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import ActiveOperator
from bot.handlers.tickets.desk import send_card, ticket_lines, ticket_or_refuse
from bot.services.directory import Directory
from bot.services.operators import Operator
from bot.services.tickets import search
from bot.views import desk_search as views
from bot.views.callbacks import TicketAction


async def on_find(message: Message, command: CommandObject, session: AsyncSession, operator: Operator, directory: Directory) -> None:
    wanted = search.parse(command.args or "")
    if wanted.is_empty:
        await message.answer(views.usage_text())
        return
    found, more = await search.search(session, operator, wanted, directory.service_hours.zone)
    await message.answer(views.found_text(ticket_lines(found, directory), more), reply_markup=views.found_keyboard(found))


async def on_open(
    callback: CallbackQuery, callback_data: TicketAction, session: AsyncSession, operator: Operator, directory: Directory
) -> None:
    ticket = await ticket_or_refuse(callback, session, operator, callback_data.ticket)
    if ticket is None:
        return
    await callback.answer()
    await send_card(callback.message, ticket, directory, session, operator)


def create_router() -> Router:
    router = Router(name="desk_search")
    router.message.filter(ActiveOperator())
    router.callback_query.filter(ActiveOperator())
    router.message.register(on_find, Command("find"))
    router.callback_query.register(on_open, TicketAction.filter(F.action == "open"))
    return router
