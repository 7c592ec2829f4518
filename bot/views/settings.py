"""The settings: a person's language, region and announcements, with the buttons to change them."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import LANGUAGE_NAMES
from bot.services.directory import Directory
from bot.services.users import Person
from bot.views.callbacks import SettingsAction


def summary_keyboard(user: Person) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🌐 Change language"), callback_data=SettingsAction(action="language"))
    builder.button(text=_("📍 Change region"), callback_data=SettingsAction(action="region"))
    builder.button(
        text=_("🔕 Turn announcements off") if user.announcements else _("🔔 Turn announcements on"),
        callback_data=SettingsAction(action="announcements"),
    )
    builder.button(text=_("🔒 Personal data"), callback_data=SettingsAction(action="privacy"))
    builder.adjust(1)
    return builder.as_markup()


def summary(user: Person, directory: Directory) -> str:
    office = directory.get(user.region)
    return "\n".join(
        [
            _("<b>⚙️ Settings</b>"),
            "",
            _("Language: {language}").format(language=LANGUAGE_NAMES[user.language]),
            _("Region: {region}").format(region=office.name[user.language] if office else "—"),
            _("Announcements: on") if user.announcements else _("Announcements: off"),
        ]
    )


def with_back(markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder.from_markup(markup)
    builder.row()
    builder.button(text=_("⬅️ Back"), callback_data=SettingsAction(action="back"))
    return builder.as_markup()
