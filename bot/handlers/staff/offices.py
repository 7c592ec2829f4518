"""Coordinators keep what their front-office publishes (/office): phone, e-mail, link, address in
each language, map location, service hours. A regional coordinator keeps their own office's; a
national one any office's. The checks are in `bot/services/offices.py`."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import ActiveOperator, TypedCommand
from bot.middlewares.access import Requires
from bot.services import access, offices
from bot.services.access import Act
from bot.services.directory import Directory
from bot.services.offices import DetailError, Field, Problem
from bot.services.operators import Operator
from bot.views import offices as views
from bot.views.common import office_card

FIELDS = {field.value for field in Field}


async def on_office(message: Message, command: CommandObject, session: AsyncSession, operator: Operator, directory: Directory) -> None:
    words = (command.args or "").split()
    slug = operator.office
    if words and words[0] not in FIELDS:  # a region's name first (the national office's coordinators)
        slug, words = words[0], words[1:]
    if directory.get(slug) is None:
        await message.answer(views.problem_text(Problem.UNKNOWN_OFFICE))
        return
    await access.require(session, operator, Act.OFFICE_DETAILS, (slug,))
    if not words:
        shown = await offices.published(session, directory, [slug])
        await message.answer(office_card(shown[0], operator.language) + "\n\n" + views.usage_text())
        return
    if words[0] not in FIELDS:
        await message.answer(views.usage_text())
        return
    field, rest = Field(words[0]), words[1:]
    language = None
    if field is Field.ADDRESS:
        language, rest = (rest[0], rest[1:]) if rest else (None, [])
    try:
        published = await offices.set_detail(session, operator, directory, slug, field, " ".join(rest), language)
    except DetailError as error:
        await message.answer(views.problem_text(error.problem))
        return
    await message.answer(views.saved_text() + "\n\n" + office_card(published, operator.language))


def create_router() -> Router:
    router = Router(name="offices")
    router.message.filter(TypedCommand())
    # The permission is checked, and the actor locked, before the handler; operators are refused.
    router.message.middleware(Requires(Act.OFFICE_DETAILS))
    router.message.register(on_office, Command("office"), ActiveOperator())
    return router
