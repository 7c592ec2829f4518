"""The settings: a person's language, region and announcements, with the buttons to change them."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

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
