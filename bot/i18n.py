"""Translations: gettext catalogs in `locales/`, compiled on start, chosen per person."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from aiogram.utils.i18n import I18n

from bot.config import PROJECT_ROOT, SUPPORTED_LANGUAGES

LOCALES_DIR = PROJECT_ROOT / "locales"
DOMAIN = "messages"

# Each language is named in itself on the language buttons, so these are not translated.
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

log = logging.getLogger(__name__)


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it now (`pybabel extract -k N_`)."""
    return msgid


def compile_catalogs(locales_dir: Path = LOCALES_DIR) -> None:
    """Compile every `.po` whose `.mo` is missing or older, so a fresh clone just runs."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as fp:
            catalog = read_po(fp, locale=po_path.parent.parent.name)
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as fp:
            write_mo(fp, catalog)
        tmp.replace(mo_path)
        log.info("compiled catalog", extra={"catalog": str(po_path.relative_to(locales_dir))})


def create_i18n(default_locale: str) -> I18n:
    compile_catalogs()
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


def supported_language(code: str | None) -> str | None:
    """The supported language for a Telegram `language_code` ("ru", "en-US", "kk"), if any."""
    if not code:
        return None
    code = code.lower().split("-")[0]
    return code if code in SUPPORTED_LANGUAGES else None


def language_order(telegram_code: str | None) -> list[str]:
    """Languages to offer, the person's Telegram language first, then the state language."""
    first = supported_language(telegram_code)
    order = list(SUPPORTED_LANGUAGES)
    if first:
        order.remove(first)
        order.insert(0, first)
    return order


def locale_of(i18n: I18n, data: dict[str, Any]) -> str:
    """The language to answer an update in: the person's, else their app's if we have it."""
    user, from_user = data.get("user"), data.get("event_from_user")
    if user is not None:
        return user.language
    return supported_language(from_user.language_code if from_user else None) or i18n.default_locale
