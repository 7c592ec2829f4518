"""Requests to a person, from the citizen's question to the operator's answer. Citizens
(`create_router`): a blocked person's refusal (`blocks.py`), "Ask an operator", "My requests" and
the rating (`requests.py`), "Call me back" (`call_back.py`), the help form (`help_form.py`), what a
person with an open request writes, and edits of what was relayed (`edits.py`). Staff
(`create_desk_router`, under the staff router): /block and /unblock, saved replies
(`saved_replies.py`), /find (`search.py`), and the desk where operators take, answer, note,
transfer, hand back and close tickets (`desk.py`)."""

from __future__ import annotations

from aiogram import Router

from bot.filters import CallbackOf
from bot.handlers.tickets import blocks, call_back, desk, edits, help_form, requests, saved_replies, search
from bot.handlers.tickets.help_form import HelpForm
from bot.handlers.tickets.requests import AskOperator, RatingComment
from bot.views.callbacks import AskFromAnswer, CallWindow, HelpFormStep, RatingChoice, RequestAction
from bot.views.menu import ASK_OPERATOR, MY_REQUESTS, NEED_HELP, WayIn


def create_router() -> Router:
    """Most updates (typed questions) have nothing to do with requests, so one check at the door
    lets them pass by: each router an update passes costs the bot time even when none matches."""
    parent = Router(name="citizen_requests")
    parent.message.filter(WayIn(
        (ASK_OPERATOR, MY_REQUESTS, NEED_HELP), AskOperator, RatingComment, HelpForm, open_ticket=True, replies=True
    ))
    parent.callback_query.filter(CallbackOf(RequestAction, AskFromAnswer, RatingChoice, HelpFormStep, CallWindow))
    parent.include_routers(
        blocks.create_citizen_router(), requests.create_router(), call_back.create_router(), help_form.create_router(),
        requests.create_open_ticket_router(), requests.create_reply_to_closed_router(), edits.create_router(),
    )
    return parent


def create_desk_router() -> Router:
    parent = Router(name="tickets_staff")
    parent.include_routers(
        blocks.create_staff_router(), saved_replies.create_router(), search.create_router(), desk.create_router()
    )
    return parent
