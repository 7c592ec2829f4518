"""Language, consent and region keyboards (used at first start and in the settings)."""

from __future__ import annotations

from functools import lru_cache

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import LANGUAGE_NAMES
from bot.services.directory import Directory
from bot.views.callbacks import ConsentChoice, LanguageChoice, Purpose, RegionChoice


def language_keyboard(order: list[str], purpose: Purpose, current: str | None = None) -> InlineKeyboardMarkup:
    return _language_keyboard(tuple(order), purpose, current)


@lru_cache(maxsize=64)
def _language_keyboard(order: tuple[str, ...], purpose: Purpose, current: str | None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code in order:
        mark = "✅ " if code == current else ""
        builder.button(text=f"{mark}{LANGUAGE_NAMES[code]}", callback_data=LanguageChoice(code=code, purpose=purpose))
    builder.adjust(1)
    return builder.as_markup()


def consent_keyboard(language: str) -> InlineKeyboardMarkup:
    return _consent_keyboard(language)


@lru_cache(maxsize=8)
def _consent_keyboard(language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ I agree", locale=language), callback_data=ConsentChoice(agree=True))
    builder.button(text=_("❌ I do not agree", locale=language), callback_data=ConsentChoice(agree=False))
    builder.adjust(1)
    return builder.as_markup()


@lru_cache(maxsize=256)  # 20 buttons of pydantic models: built once per language and mark
def region_keyboard(
    directory: Directory, language: str, purpose: Purpose, current: str | None = None
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for office in directory.regions:
        mark = "✅ " if office.slug == current else ""
        builder.button(
            text=f"{mark}{office.name[language]}",
            callback_data=RegionChoice(slug=office.slug, purpose=purpose),
        )
    # Cities first on their own row, then the oblasts two by two (their names are long).
    builder.adjust(3, *([2] * 9))
    return builder.as_markup()
