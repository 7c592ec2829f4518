"""aiogram's Dispatcher, routing an event through the routers the same way at a fraction of the cost.

aiogram copies an event's data (some forty entries: the workflow data, the session, the person…)
several times on its way through each router and each filter: a typed question passes about twenty
filters in fifteen routers before the knowledge base takes it, and routing it cost ~290 µs of the
bot's CPU, over a tenth of an update's. Here the data is copied only where aiogram's result depends
on a copy: when a filter adds to it (`Command` gives `command`), and for the handler that is called.
The order, the filters, the root filters, `SkipHandler`, the middlewares and the data each handler
and filter sees are aiogram's (3.31, pinned in pyproject.toml), with one difference: after a handler
raises `SkipHandler`, the next one gets fresh data, not what the skipped one's filters and inner
middlewares added (none of ours relies on that). The test suite routes every flow through this. A router whose observer has outer middlewares is handed to aiogram's own propagation.
"""

from __future__ import annotations

from typing import Any

from aiogram import Dispatcher as AiogramDispatcher
from aiogram import Router
from aiogram.dispatcher.event.bases import REJECTED, UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.types import TelegramObject


class Dispatcher(AiogramDispatcher):
    async def _propagate_event(
        self, observer: TelegramEventObserver | None, update_type: str, event: TelegramObject, **kwargs: Any
    ) -> Any:
        if update_type == "update":  # the update itself: aiogram's `_listen_update` sorts it by kind
            return await super()._propagate_event(observer, update_type, event, **kwargs)
        return await _route(self, observer, update_type, event, kwargs)


async def _route(
    router: Router, observer: TelegramEventObserver | None, update_type: str, event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    """`Router._propagate_event` on `data`, which the caller owns and gets back as it gave it (a
    filter's additions go to a copy)."""
    if observer is not None:
        if observer._handler.filters:  # the router's own filters, before its handlers
            passed = await _passes(observer._handler.filters, event, data)
            if passed is None:
                return UNHANDLED
            data = passed
        if observer.handlers:
            response = await _trigger(observer, event, data)
            if response is not UNHANDLED:
                return UNHANDLED if response is REJECTED else response
    for sub_router in router.sub_routers:
        sub_observer = sub_router.observers.get(update_type)
        if sub_observer is not None and len(sub_observer.outer_middleware):
            response = await sub_router.propagate_event(update_type=update_type, event=event, **data)
        else:
            outer_router = data.get("event_router")
            data["event_router"] = sub_router
            try:
                response = await _route(sub_router, sub_observer, update_type, event, data)
            finally:
                data["event_router"] = outer_router
        if response is not UNHANDLED:
            return response
    return UNHANDLED


async def _trigger(observer: TelegramEventObserver, event: TelegramObject, data: dict[str, Any]) -> Any:
    """`TelegramEventObserver.trigger`: the first handler whose filters pass is called, with a data
    of its own, through the observer's middlewares."""
    absent = object()
    outer_handler = data.get("handler", absent)
    try:
        for handler in observer.handlers:
            data["handler"] = handler
            passed = await _passes(handler.filters, event, data) if handler.filters else data
            if passed is None:
                continue
            own = dict(passed) if passed is data else passed
            wrapped = observer.outer_middleware.wrap_middlewares(observer._resolve_middlewares(), handler.call)
            try:
                return await wrapped(event, own)
            except SkipHandler:
                continue
        return UNHANDLED
    finally:
        if outer_handler is absent:
            data.pop("handler", None)
        else:
            data["handler"] = outer_handler


async def _passes(filters: list[FilterObject], event: TelegramObject, data: dict[str, Any]) -> dict[str, Any] | None:
    """`HandlerObject.check`: None if a filter fails, else the data with what the filters added (a
    copy, if they added anything)."""
    copied = False
    for event_filter in filters:
        if event_filter.awaitable and event_filter.magic is None:
            if event_filter.varkw:
                result = await event_filter.callback(event, **data)
            else:
                result = await event_filter.callback(event, **{key: data[key] for key in event_filter.params if key in data})
        else:  # a magic filter, a plain function: aiogram calls it (in a thread)
            result = await event_filter.call(event, **data)
        if not result:
            return None
        if isinstance(result, dict):
            if not copied:
                data, copied = dict(data), True
            data.update(result)
    return data
