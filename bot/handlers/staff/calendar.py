"""Coordinators add the days their office does not work, besides weekends and public holidays
(/days_off): the requests' time limits skip them. A regional coordinator adds their own office's; a
national one, any office's or every office's. The rules are in `bot/services/calendar.py`."""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import ActiveOperator, TypedCommand
from bot.middlewares.access import Requires
from bot.services import access, calendar
from bot.services.access import Act
from bot.services.clock import today_in_kazakhstan
from bot.services.directory import Directory
from bot.services.operators import Operator
from bot.views import calendar as views
from bot.views.common import in_parts

EVERY_OFFICE_WORD = "all"


async def on_days_off(message: Message, command: CommandObject, session: AsyncSession, operator: Operator, directory: Directory) -> None:
    action, _sep, rest = (command.args or "").strip().partition(" ")
    if action not in ("add", "remove"):
        days = await calendar.added_days(session, operator, today_in_kazakhstan())
        for part in in_parts(views.days_text(days, directory)):  # a long list goes in several messages
            await message.answer(part)
        return
    typed_day, _sep, rest = rest.strip().partition(" ")
    region, _sep, note = rest.strip().partition(" ")
    try:
        day = datetime.strptime(typed_day, views.DATE_FORMAT).date()
    except ValueError:
        await message.answer(views.usage_text())
        return
    own = access.own_region(operator, Act.DAYS_OFF)
    region = region.lower()
    if region == EVERY_OFFICE_WORD:
        office: str | None = None
    elif directory.get(region) is not None:
        office = region
    elif own is not None:  # a regional coordinator's note without a region: the first word is the note's
        office, note = own, f"{rest.strip()}"
    else:  # a national coordinator names the office or "all": a typo must not reach every office
        await message.answer(views.usage_text())
        return
    where, shown = views.where_text(directory, office), day.strftime(views.DATE_FORMAT)
    if action == "add":
        if day < today_in_kazakhstan():
            await message.answer(views.past_text())
            return
        added = await calendar.add_day_off(session, operator, day, office, note.strip())
        await message.answer(views.added_text(shown, where) if added else views.already_text(shown, where))
        return
    removed = await calendar.remove_day_off(session, operator, day, office)
    await message.answer(views.removed_text(shown, where) if removed else views.not_found_text(shown, where))


def create_router() -> Router:
    router = Router(name="calendar")
    router.message.filter(TypedCommand())
    # The permission is checked, and the actor locked, before the handler; operators are refused.
    router.message.middleware(Requires(Act.DAYS_OFF))
    router.message.register(on_days_off, Command("days_off"), ActiveOperator())
    return router
