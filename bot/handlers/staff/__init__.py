"""The staff's side of the bot behind one door (`StaffWayIn`): coordinators' announcements
(`announcements.py`), the knowledge base's editor and what it did not answer (`knowledge.py`,
`gaps.py`) and personal-data commands (`personal_data.py`), operators' commands and
invite links (`operators.py`), then the flows' own staff routers (the desk, the review of deeds,
the awards), then the statistics (`stats.py`)."""

from __future__ import annotations

from aiogram import Router

from bot.filters import CallbackOf, StaffWayIn
from bot.handlers.staff import (
    announcements, calendar, gaps, knowledge, offices, operators, personal_data, saved_replies, stats, workload,
)
from bot.views.callbacks import (
    AnnouncementControl, AnnouncementStep, DeedReview, DeskView, DutyChoice, EraseChoice, KnowledgeEdit, SavedReplyUse,
    StatsPeriod, TicketAction, TransferTo, WinnersChoice,
)


def create_router(*flows: Router) -> Router:
    """`flows`: the staff routers of the flows (tickets' desk, the marathon's review), in order.
    A composition takes the coordinator's messages before the desk would, and an operator's invite
    link (`/start op_…`) comes before anything else they send."""
    parent = Router(name="staff")
    # Most updates come from citizens: one cheap check turns them away from every staff router.
    parent.message.filter(StaffWayIn())
    parent.callback_query.filter(
        StaffWayIn(), CallbackOf(
            TicketAction, TransferTo, DeedReview, WinnersChoice, AnnouncementStep, AnnouncementControl, EraseChoice,
            StatsPeriod, KnowledgeEdit, SavedReplyUse, DutyChoice, DeskView,
        )
    )
    parent.include_routers(
        announcements.create_router(), knowledge.create_router(), gaps.create_router(), personal_data.create_router(),
        operators.create_router(), calendar.create_router(), offices.create_router(), saved_replies.create_router(),
        workload.create_router(), *flows,
        stats.create_router(),
    )
    return parent
