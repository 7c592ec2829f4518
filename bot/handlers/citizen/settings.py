"""Settings: change language and region at any time; the privacy notice."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import Onboarded
from bot.i18n import LANGUAGE_NAMES, language_order
from bot.services import users
from bot.services.directory import Directory
from bot.services.users import Person
from bot.views.callbacks import LanguageChoice, Purpose, RegionChoice, SettingsAction
from bot.views.common import privacy_notice
from bot.views.menu import SETTINGS, MenuButton, main_menu
from bot.views.onboarding import language_keyboard, region_keyboard
from bot.views.settings import summary, summary_keyboard, with_back


async def on_settings(message: Message, user: Person, directory: Directory) -> None:
    await message.answer(summary(user, directory), reply_markup=summary_keyboard(user))


async def on_change_language(callback: CallbackQuery, user: Person) -> None:
    order = language_order(user.language)
    keyboard = with_back(language_keyboard(order, Purpose.SETTINGS, current=user.language))
    await callback.message.edit_text(_("Choose the language of the bot:"), reply_markup=keyboard)
    await callback.answer()


async def on_change_region(callback: CallbackQuery, user: Person, directory: Directory) -> None:
    keyboard = with_back(region_keyboard(directory, user.language, Purpose.SETTINGS, current=user.region))
    await callback.message.edit_text(_("Choose your region:"), reply_markup=keyboard)
    await callback.answer()


async def on_privacy(callback: CallbackQuery, settings: Settings) -> None:
    await callback.message.answer(privacy_notice(settings.retention_days))
    await callback.answer()


async def on_back(callback: CallbackQuery, user: Person, directory: Directory) -> None:
    await callback.message.edit_text(summary(user, directory), reply_markup=summary_keyboard(user))
    await callback.answer()


async def on_announcements(callback: CallbackQuery, session: AsyncSession, user: Person, directory: Directory) -> None:
    user = await users.toggle_announcements(session, user)
    await callback.message.edit_text(summary(user, directory), reply_markup=summary_keyboard(user))
    await callback.answer(_("Announcements are on.") if user.announcements else _("Announcements are off."))


async def on_language_chosen(
    callback: CallbackQuery,
    callback_data: LanguageChoice,
    session: AsyncSession,
    user: Person,
    directory: Directory,
    i18n: I18n,
) -> None:
    if callback_data.code not in LANGUAGE_NAMES:
        await callback.answer(_("This button is no longer active."))
        return
    changed = callback_data.code != user.language
    user = await users.set_language(session, user, callback_data.code)
    with i18n.use_locale(user.language):
        await callback.message.edit_text(summary(user, directory), reply_markup=summary_keyboard(user))
        await callback.answer()
        if changed:
            # The reply keyboard carries labels too: send it again in the new language.
            await callback.message.answer(
                _("Done: I will speak {language} now.").format(language=LANGUAGE_NAMES[user.language]),
                reply_markup=main_menu(),
            )


async def on_region_chosen(
    callback: CallbackQuery,
    callback_data: RegionChoice,
    session: AsyncSession,
    user: Person,
    directory: Directory,
) -> None:
    if not directory.is_region(callback_data.slug):
        await callback.answer(_("This button is no longer active."))
        return
    user = await users.set_region(session, directory, user, callback_data.slug)
    await callback.message.edit_text(summary(user, directory), reply_markup=summary_keyboard(user))
    await callback.answer(_("Region saved."))


def create_router() -> Router:
    router = Router(name="settings")
    router.message.filter(Onboarded())
    router.callback_query.filter(Onboarded())
    router.message.register(on_settings, MenuButton(SETTINGS))
    router.message.register(on_settings, Command("settings"))
    router.callback_query.register(on_change_language, SettingsAction.filter(F.action == "language"))
    router.callback_query.register(on_change_region, SettingsAction.filter(F.action == "region"))
    router.callback_query.register(on_privacy, SettingsAction.filter(F.action == "privacy"))
    router.callback_query.register(on_back, SettingsAction.filter(F.action == "back"))
    router.callback_query.register(on_announcements, SettingsAction.filter(F.action == "announcements"))
    router.callback_query.register(on_language_chosen, LanguageChoice.filter(F.purpose == Purpose.SETTINGS))
    router.callback_query.register(on_region_chosen, RegionChoice.filter(F.purpose == Purpose.SETTINGS))
    return router
