"""The main menu (a reply keyboard) and a filter that recognises its buttons in any language."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aiogram.filters import Filter
from aiogram.fsm.state import StatesGroup
from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_


@dataclass(frozen=True)
class MenuEntry:
    emoji: str
    msgid: str

    def label(self, language: str | None = None) -> str:
        return f"{self.emoji} {_(self.msgid, locale=language)}"


BECOME_VOLUNTEER = MenuEntry("🙋", N_("Become a volunteer"))
ASK_QUESTION = MenuEntry("❓", N_("Ask a question"))
ASK_OPERATOR = MenuEntry("💬", N_("Ask an operator"))
NEED_HELP = MenuEntry("🆘", N_("Need volunteers' help"))
MY_REQUESTS = MenuEntry("📋", N_("My requests"))
MARATHON = MenuEntry("🏃", N_("Marathon of Good Deeds"))
CONTACTS = MenuEntry("📞", N_("Contacts"))
SETTINGS = MenuEntry("⚙️", N_("Settings"))

MENU_ROWS = (
    (BECOME_VOLUNTEER, ASK_QUESTION),
    (ASK_OPERATOR, NEED_HELP),
    (MARATHON, MY_REQUESTS),
    (CONTACTS, SETTINGS),
)
MENU_ENTRIES = tuple(entry for row in MENU_ROWS for entry in row)


def main_menu() -> ReplyKeyboardMarkup:
    return _main_menu(get_i18n().current_locale)


@lru_cache(maxsize=8)  # built once per language: 2% of the bot's CPU when built for every reply
def _main_menu(language: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=entry.label(language)) for entry in row] for row in MENU_ROWS],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=_("Type a question or choose below", locale=language),
    )


class MenuButton(Filter):
    """Matches a menu button in any of the bot's languages (an old keyboard may still be shown
    after the person switched language), with or without its emoji, in any letter case."""

    _labels: dict[MenuEntry, frozenset[str]] = {}

    def __init__(self, entry: MenuEntry) -> None:
        self.entry = entry

    def _labels_for(self, i18n: I18n) -> frozenset[str]:
        labels = self._labels.get(self.entry)
        if labels is None:
            texts = {i18n.gettext(self.entry.msgid, locale=lang) for lang in i18n.available_locales}
            texts.add(self.entry.msgid)
            labels = frozenset(
                variant.casefold() for text in texts for variant in (text, f"{self.entry.emoji} {text}")
            )
            self._labels[self.entry] = labels
        return labels

    async def __call__(self, message: Message, i18n: I18n, **_: Any) -> bool:
        return bool(message.text) and message.text.strip().casefold() in self._labels_for(i18n)


class AnyMenuButton(Filter):
    """Any button of the main menu: a person in the middle of writing to an operator who taps one
    wants that button, not to send its label."""

    def __init__(self) -> None:
        self._buttons = tuple(MenuButton(entry) for entry in MENU_ENTRIES)

    async def __call__(self, message: Message, i18n: I18n, **_: Any) -> bool:
        for button in self._buttons:
            if await button(message, i18n):
                return True
        return False


class WayIn(Filter):
    """A router's way in for messages: one of its menu buttons, or a step of one of its own forms.
    Checked once on the router, so the many messages that are neither (typed questions) pass it by
    with one check instead of one per handler: each filter aiogram calls costs microseconds."""

    def __init__(
        self, entries: tuple[MenuEntry, ...], *forms: type[StatesGroup], open_ticket: bool = False, replies: bool = False
    ) -> None:
        self._buttons = tuple(MenuButton(entry) for entry in entries)
        self._steps = tuple(f"{form.__full_group_name__}:" for form in forms)
        self._open_ticket = open_ticket  # also whatever a person with an open request writes
        self._replies = replies  # also a reply to one of the bot's messages, outside any form

    async def __call__(
        self, message: Message, i18n: I18n, raw_state: str | None = None, open_ticket: int | None = None, **_: Any
    ) -> bool:
        if raw_state is not None and raw_state.startswith(self._steps):
            return True
        if self._open_ticket and open_ticket is not None:
            return True
        if self._replies and raw_state is None and message.reply_to_message is not None:
            return True
        for button in self._buttons:
            if await button(message, i18n):
                return True
        return False


def help_text() -> str:
    return "\n".join(
        [
            _("I am the bot of the national volunteer Call-centre of Kazakhstan."),
            "",
            _("• Type any question in Kazakh, Russian or English and I will look for the answer."),
            _("• The menu below: how to become a volunteer, topics of questions, contacts."),
            _("• 💬 Ask an operator or 🆘 Need volunteers' help: a person of your region's front-office answers you here; 📋 My requests shows them."),
            "",
            _("/settings: language and region"),
            _("/privacy: how your personal data is handled"),
            _("/forget: delete your data"),
        ]
    )
