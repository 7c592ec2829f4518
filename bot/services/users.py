"""People who use the bot: consent, language and region. Knows nothing of Telegram."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SUPPORTED_LANGUAGES
from bot.db.models import User
from bot.services.directory import Directory

# Bump when the privacy notice changes in substance; people who agreed to an older one are asked again.
CONSENT_VERSION = 1


class UnknownLanguage(ValueError):
    pass


class UnknownRegion(ValueError):
    pass


async def get_user(session: AsyncSession, telegram_id: int) -> User | None:
    return await session.get(User, telegram_id)


async def give_consent(session: AsyncSession, user: User | None, telegram_id: int, language: str) -> User:
    """Record consent (creating the person on first consent); keeps a region already stored.
    `user` is the person as this update already loaded them (None if not stored)."""
    if language not in SUPPORTED_LANGUAGES:
        raise UnknownLanguage(language)
    now = datetime.now(UTC)
    if user is None:
        user = User(telegram_id=telegram_id, language=language)
        session.add(user)
    user.language = language
    user.consent_version = CONSENT_VERSION
    user.consent_at = now
    await session.flush()
    return user


def needs_consent(user: User | None) -> bool:
    return user is None or user.consent_version < CONSENT_VERSION


async def set_language(session: AsyncSession, user: User, language: str) -> None:
    if language not in SUPPORTED_LANGUAGES:
        raise UnknownLanguage(language)
    user.language = language
    await session.flush()


async def set_region(session: AsyncSession, directory: Directory, user: User, slug: str) -> None:
    if not directory.is_region(slug):
        raise UnknownRegion(slug)
    user.region = slug
    await session.flush()


async def forget(session: AsyncSession, telegram_id: int) -> bool:
    """Erase everything stored about the person; True if there was anything."""
    user = await session.get(User, telegram_id)
    if user is None:
        return False
    await session.delete(user)
    await session.flush()
    return True
