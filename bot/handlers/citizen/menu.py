"""The main menu and the commands of a set-up person: /help, /menu, Contacts."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import Onboarded
from bot.services import offices
from bot.services.directory import NATIONAL, Directory
from bot.services.users import Person
from bot.views.common import contacts, venue_title
from bot.views.menu import CONTACTS, MenuButton, main_menu
from bot.views.menu import help_text


async def on_help(message: Message) -> None:
    await message.answer(help_text(), reply_markup=main_menu())


async def on_contacts(message: Message, session: AsyncSession, user: Person, directory: Directory) -> None:
    shown = await offices.published(session, directory, [slug for slug in (user.region, NATIONAL) if slug])
    await message.answer(contacts(shown, user.language))
    for published in shown:  # a map pin for each office that published its place
        if published.location is not None:
            latitude, longitude = published.location
            address = published.address.get(user.language) or venue_title(published, user.language)
            await message.answer_venue(latitude, longitude, venue_title(published, user.language), address)


def create_router() -> Router:
    router = Router(name="menu")
    router.message.filter(Onboarded())
    router.message.register(on_help, Command("help", "menu"))
    router.message.register(on_contacts, MenuButton(CONTACTS))
    router.message.register(on_contacts, Command("contacts"))
    return router
