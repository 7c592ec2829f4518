"""The people the playground starts with: a citizen for each language, operators of two regional
front-offices and of the national one, and the coordinators; and its own bot token."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import operators
from bot.services.directory import Directory

if TYPE_CHECKING:
    from bot.playground.web import Playground

# The playground's bot token: the local server accepts any, and this one is never Telegram's.
PLAYGROUND_TOKEN = "7000000001:PLAYGROUNDplaygroundPLAYGROUNDplayg"
PLAYGROUND_COORDINATOR = 700001


def playground_admins(configured: tuple[int, ...]) -> tuple[int, ...]:
    """The coordinators of ADMIN_IDS, or one made up for the playground when none is set."""
    return configured or (PLAYGROUND_COORDINATOR,)


# Operators of two regional front-offices and of the national one: (id, name, office, language).
PLAYGROUND_OPERATORS = (
    (700201, "Асель", "almaty", "kk"),
    (700202, "Нұрлан", "akmola", "ru"),
    (700203, "Марина", "national", "ru"),
)


def seed_people(playground: Playground, admin_ids: tuple[int, ...]) -> None:
    """A citizen for each language, the operators and the coordinators the playground starts with."""
    playground.add_person(700101, "Айгерім", "kk")
    playground.add_person(700102, "Дмитрий", "ru")
    playground.add_person(700103, "Emma", "en")
    for telegram_id, name, office, language in PLAYGROUND_OPERATORS:
        playground.add_person(telegram_id, name, language, role="operator", office=office)
    for number, admin_id in enumerate(admin_ids, start=1):
        playground.add_person(admin_id, "Сәуле" if number == 1 else f"Сәуле {number}", "kk", role="coordinator")


async def create_operator_records(session: AsyncSession, directory: Directory) -> None:
    """The playground's operators as real records, so what operators do can be tried end to end."""
    for telegram_id, name, office, language in PLAYGROUND_OPERATORS:
        stored = await operators.get_operator(session, telegram_id)
        if stored is None or not stored.active:
            await operators.add_operator(session, directory, telegram_id, name, office, language=language)
