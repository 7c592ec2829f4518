"""Callback data of every inline button. Each stays well under Telegram's 64 bytes."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Purpose(StrEnum):
    """Where a language or region button was shown: first set-up or the settings."""

    ONBOARDING = "o"
    SETTINGS = "s"


class LanguageChoice(CallbackData, prefix="lang"):
    code: str
    purpose: Purpose


class ConsentChoice(CallbackData, prefix="consent"):
    agree: bool


class RegionChoice(CallbackData, prefix="reg"):
    slug: str
    purpose: Purpose


class SettingsAction(CallbackData, prefix="set"):
    action: str  # "language", "region", "privacy", "back"


class KnowledgeView(StrEnum):
    TOPICS = "ts"
    TOPIC = "t"
    ANSWER = "a"


class KnowledgeNav(CallbackData, prefix="kb"):
    view: KnowledgeView
    topic: str = ""
    question: str = ""
    page: int = 0


class ForgetChoice(CallbackData, prefix="forget"):
    confirm: bool
