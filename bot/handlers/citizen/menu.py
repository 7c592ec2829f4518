"""The main menu and the commands of a set-up person: /help, /menu, Contacts."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.filters import Onboarded
from bot.services.directory import Directory
from bot.services.users import Person
from bot.views.common import contacts
from bot.views.menu import CONTACTS, MenuButton, main_menu
from bot.views.menu import help_text


async def on_help(message: Message) -> None:
    await message.answer(help_text(), reply_markup=main_menu())


async def on_contacts(message: Message, user: Person, directory: Directory) -> None:
    await message.answer(contacts(directory, user.region, user.language))


def create_router() -> Router:
    router = Router(name="menu")
    router.message.filter(Onboarded())
    router.message.register(on_help, Command("help", "menu"))
    router.message.register(on_contacts, MenuButton(CONTACTS))
    router.message.register(on_contacts, Command("contacts"))
    return router
