"""The help form (a request for volunteers' help): its steps' keyboards, the phone request, the summary
before sending."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram.types import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import N_
from bot.services import tickets
from bot.views.callbacks import HelpFormStep
from bot.views import tickets as texts


def category_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for category in tickets.HELP_CATEGORIES:
        builder.button(text=texts.category_name(category), callback_data=HelpFormStep(action="category", value=category))
    builder.button(text=_("✖️ Cancel"), callback_data=HelpFormStep(action="cancel"))
    builder.adjust(2, 2, 2, 1)
    return builder.as_markup()


def step_keyboard(step: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if step == "when":
        builder.button(text=_("As soon as possible"), callback_data=HelpFormStep(action="now"))
    builder.button(text=_("✖️ Cancel"), callback_data=HelpFormStep(action="cancel"))
    builder.adjust(1)
    return builder.as_markup()


def phone_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=_("+7 7XX XXX XX XX"),
    )


def summary_text(data: dict[str, Any]) -> str:
    lines = [
        _("<b>Your request for volunteers' help</b>"),
        "",
        _("Kind of help: {value}").format(value=texts.category_name(data["category"])),
        *(f"{_(texts.HELP_FIELDS[key])}: {escape(data[key])}" for key in ("need", "place", "when")),
        _("Phone: {phone}").format(phone=escape(data["phone"])),
        "",
        _("Send it to your region's front-office?"),
    ]
    return "\n".join(lines)


def summary_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Send"), callback_data=HelpFormStep(action="send"))
    builder.button(text=_("✏️ Edit"), callback_data=HelpFormStep(action="edit"))
    builder.button(text=_("✖️ Cancel"), callback_data=HelpFormStep(action="cancel"))
    builder.adjust(1, 2)
    return builder.as_markup()


def fields_keyboard(order: tuple[str, ...]) -> InlineKeyboardMarkup:
    """Which answer of the form to change, in the form's order."""
    builder = InlineKeyboardBuilder()
    labels = {"category": N_("Kind of help"), **texts.HELP_FIELDS, "phone": N_("Phone")}
    for step in order:
        builder.button(text=_(labels[step]), callback_data=HelpFormStep(action="field", value=step))
    builder.adjust(2)
    return builder.as_markup()
