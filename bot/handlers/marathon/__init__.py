"""The Marathon of Good Deeds. Participants (`create_router`): the home screen and joining
(`joining.py`), the deed form (`deed_form.py`), their deeds and the results (`results.py`), their record and certificates (`certificates.py`;
its check of a certificate is for anyone: `create_public_router`). Staff
(`create_staff_router`, under the staff router): the review of deeds and the marathon's settings
(`review.py`), the nominations and their winners (`awards.py`)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter

from bot.filters import CallbackOf, NotCommand, Onboarded
from bot.handlers.marathon import awards, certificates, review
from bot.handlers.marathon.deed_form import (
    Logging, on_amount, on_back, on_cancel, on_confirm, on_day_button, on_day_typed, on_kind, on_log, on_not_a_photo,
    on_photo, on_photos_done, on_words, on_wrong_kind,
)
from bot.handlers.marathon.joining import (
    Joining, on_home, on_home_button, on_join, on_join_anonymous, on_join_kind, on_join_name, on_join_region, on_keep_region,
)
from bot.handlers.marathon.results import on_mine, on_results
from bot.views.callbacks import MarathonNav, Purpose, RegionChoice
from bot.views.menu import MARATHON, AnyMenuButton, MenuButton, WayIn


def create_router() -> Router:
    """One table for the participant's side, since its buttons share one callback class and the
    order of the state handlers matters (the catch-all for both forms comes last)."""
    router = Router(name="marathon")
    router.message.filter(WayIn((MARATHON,), Joining, Logging), Onboarded())
    router.callback_query.filter(CallbackOf(MarathonNav, RegionChoice), Onboarded())
    not_menu = ~AnyMenuButton()
    router.message.register(on_home, MenuButton(MARATHON))
    router.callback_query.register(on_home_button, MarathonNav.filter(F.action == "home"))
    router.callback_query.register(on_join, MarathonNav.filter(F.action == "join"))
    router.callback_query.register(on_join_kind, MarathonNav.filter(F.action == "as"), StateFilter(Joining.kind))
    router.callback_query.register(on_join_anonymous, MarathonNav.filter(F.action == "anonymous"))
    router.callback_query.register(on_keep_region, MarathonNav.filter(F.action == "keep_region"))
    router.callback_query.register(on_join_region, RegionChoice.filter(F.purpose == Purpose.MARATHON))
    router.callback_query.register(on_log, MarathonNav.filter(F.action == "log"))
    router.callback_query.register(on_kind, MarathonNav.filter(F.action == "kind"))
    router.callback_query.register(on_day_button, MarathonNav.filter(F.action == "date"))
    router.callback_query.register(on_photos_done, MarathonNav.filter(F.action == "photos_done"))
    router.callback_query.register(on_confirm, MarathonNav.filter(F.action == "confirm"))
    router.callback_query.register(on_back, MarathonNav.filter(F.action == "back"))
    router.callback_query.register(on_cancel, MarathonNav.filter(F.action == "cancel"))
    router.callback_query.register(on_mine, MarathonNav.filter(F.action == "mine"))
    router.callback_query.register(on_results, MarathonNav.filter(F.action == "results"))
    certificates.register_participant_screens(router)
    router.message.register(on_join_name, StateFilter(Joining.name), F.text, NotCommand(), not_menu)
    router.message.register(on_amount, StateFilter(Logging.amount), F.text, NotCommand(), not_menu)
    router.message.register(on_day_typed, StateFilter(Logging.day), F.text, NotCommand(), not_menu)
    router.message.register(on_words, StateFilter(Logging.locality, Logging.description), F.text, NotCommand(), not_menu)
    router.message.register(on_photo, StateFilter(Logging.photos), F.photo | F.document, flags={"album": True})
    router.message.register(on_not_a_photo, StateFilter(Logging.photos), not_menu)
    router.message.register(on_wrong_kind, StateFilter(Joining, Logging), not_menu)
    return router


def create_public_router() -> Router:
    """What anyone can do, set up in the bot or not: check a certificate."""
    return certificates.create_public_router()


def create_staff_router() -> Router:
    """The review of deeds, then the awards (coordinators only)."""
    router = Router(name="marathon_staff")
    router.include_routers(review.create_router(), awards.create_router())
    return router
