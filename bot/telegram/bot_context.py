"""One call instead of a chain where aiogram's objects are built.

Every aiogram object (an update and each object in it, a request, an answer) keeps the Bot it came
with in a private attribute, `_bot`, set by `BotContextController.model_post_init`. pydantic wraps
that method again in every subclass that inherits the private attribute, so building one object
runs two to five nested wrappers, each initialising the private attributes before calling the next:
over half of the time an update took to be read from its JSON (~130 µs of the bot's CPU an update
under load). `flatten()` gives each of those classes one function that does what the chain does.

It applies only to a class whose chain ends in `BotContextController.model_post_init` and whose only
private attribute is `_bot` (all 631 of aiogram 3.31's); any other keeps pydantic's own. pydantic
calls `model_post_init` by name, so the class's attribute is what runs. Every flow of the test suite
runs on it; tests/test_dependencies.py checks that it still applies to all of aiogram's classes.
"""

from __future__ import annotations

import inspect
from typing import Any

from aiogram.client.context_controller import BotContextController

_ORIGINAL = inspect.unwrap(BotContextController.model_post_init)


def _keep_bot(self: BotContextController, context: Any, /) -> None:
    bot = context.get("bot") if context else None
    private = getattr(self, "__pydantic_private__", None)
    if private is None:
        object.__setattr__(self, "__pydantic_private__", {"_bot": bot})
    else:
        private["_bot"] = bot


def flatten() -> int:
    """Install the flat `model_post_init` on every aiogram class it applies to; returns how many."""
    flattened = 0
    seen: set[type] = set()
    pending: list[type] = [BotContextController]
    while pending:
        cls = pending.pop()
        for subclass in cls.__subclasses__():
            if subclass not in seen:
                seen.add(subclass)
                pending.append(subclass)
    for cls in seen:
        post_init = cls.__dict__.get("model_post_init")
        if post_init is None or post_init is _keep_bot:
            continue  # (inherits a parent's, flattened or not)
        if set(cls.__private_attributes__) != {"_bot"} or inspect.unwrap(post_init) is not _ORIGINAL:
            continue
        cls.model_post_init = _keep_bot  # type: ignore[method-assign]
        flattened += 1
    return flattened
