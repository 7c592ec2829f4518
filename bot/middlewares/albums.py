"""Albums: several photos a person sends at once, as one.

Telegram delivers an album as one message per photo, each its own update, sharing a
`media_group_id` (the caption on the first). Handlers that take what was sent (a deed's photos, a
request's attachments, an operator's answer) take every item and are registered with the flag
`album=True`; they get the item's place (`album: AlbumItem`, position 0 for the first or for a
message of no album) and answer the album once. Every other handler only answers (a prompt, "please
use the buttons", a refusal): it gets the first item, and the rest of that album does not reach it,
so one album is not answered five times.

When the first item is refused (a caption too long, a request that cannot take it), its handler
says so once and marks `refused`: the rest of the album is not taken either, so a person who sends
the album again does not leave half of it with the operator twice.

The person's updates are handled one at a time, in order (the intake's guarantee), so the place is
counted in the person's FSM data, written after the handler (which may clear the data), and cleared
by their next message outside an album."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

ALBUM_KEY = "album"  # in the FSM data: [media_group_id, items of it seen, whether its first was refused]


@dataclass(slots=True)
class AlbumItem:
    position: int = 0  # 0: the first item of an album, or a message of no album
    refused: bool = False  # set by the first item's handler when it refuses it


class Albums(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[Message, dict[str, Any]], Awaitable[Any]],
        event: Message,
        data: dict[str, Any],
    ) -> Any:
        group = event.media_group_id
        state: FSMContext | None = data.get("state")
        item = data["album"] = AlbumItem()
        if state is None:
            return await handler(event, data)
        stored = await state.get_data()
        seen = stored.get(ALBUM_KEY)
        if group is None:
            if seen is not None:  # the album is over: nothing of it stays in the person's data
                await state.set_data({key: value for key, value in stored.items() if key != ALBUM_KEY})
            return await handler(event, data)
        rest_refused = False
        if isinstance(seen, list) and len(seen) == 3 and seen[0] == group:
            item.position, rest_refused = int(seen[1]), bool(seen[2])
        result = None
        if item.position == 0 or (get_flag(data, "album") and not rest_refused):
            result = await handler(event, data)
        await state.update_data({ALBUM_KEY: [group, item.position + 1, rest_refused or item.refused]})
        return result
