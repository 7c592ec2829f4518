"""Albums: several photos a person sends at once, as one.

Telegram delivers an album as one message per photo, each its own update, sharing a
`media_group_id` (the caption on the first). Handlers that take what was sent (a deed's photos, a
request's attachments, an operator's answer) take every item and are registered with the flag
`album=True`; they learn the item's place (`album_position`: 0 for the first, or for a message of no
album) and answer the album once. Every other handler only answers (a prompt, "please use the
buttons", a refusal): it gets the first item, and the rest of that album does not reach it, so one
album is not answered five times.

The person's updates are handled one at a time, in order (the intake's guarantee), so the place is
counted in the person's FSM data, written after the handler (which may clear the data)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

ALBUM_KEY = "album"  # in the FSM data: [media_group_id, items of it seen]


class Albums(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[Message, dict[str, Any]], Awaitable[Any]],
        event: Message,
        data: dict[str, Any],
    ) -> Any:
        group = event.media_group_id
        state: FSMContext | None = data.get("state")
        if group is None or state is None:
            data["album_position"] = 0
            return await handler(event, data)
        seen = (await state.get_data()).get(ALBUM_KEY)
        position = seen[1] if isinstance(seen, list) and len(seen) == 2 and seen[0] == group else 0
        data["album_position"] = position
        result = None
        if position == 0 or get_flag(data, "album"):
            result = await handler(event, data)
        await state.update_data({ALBUM_KEY: [group, position + 1]})
        return result
