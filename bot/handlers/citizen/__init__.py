"""A citizen's way in and around: the first start (`onboarding.py`), the main menu and its
commands (`menu.py`), language and region (`settings.py`) — `create_router`; and the knowledge base
(`knowledge.py`), which answers what a person types when no flow takes it — `create_search_router`,
included after the flows."""

from __future__ import annotations

from aiogram import Router

from bot.handlers.citizen import knowledge, menu, onboarding, settings


def create_router() -> Router:
    """Onboarding first: it catches people not yet set up, whatever they send."""
    parent = Router(name="citizen")
    parent.include_routers(onboarding.create_router(), menu.create_router(), settings.create_router())
    return parent


def create_search_router() -> Router:
    return knowledge.create_router()
