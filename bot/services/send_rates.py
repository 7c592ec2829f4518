"""Messages a second sent to Telegram by each running process, shared through PostgreSQL: Telegram's
limit (about 30 a second) is the bot's, whoever sends. Knows nothing of Telegram."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# A process that stopped publishing this long ago (killed, say) counts no more.
FRESH_SECONDS = 2

_PUBLISH = text(
    """
    INSERT INTO send_rates (process, per_second, at) VALUES (:process, :per_second, now())
    ON CONFLICT (process) DO UPDATE SET per_second = excluded.per_second, at = excluded.at
    """
)
_OTHERS = text(
    "SELECT coalesce(sum(per_second), 0) FROM send_rates "
    "WHERE process <> :process AND at > now() - make_interval(secs => :fresh)"
)
_WITHDRAW = text("DELETE FROM send_rates WHERE process = :process OR at < now() - interval '1 hour'")


async def publish_and_read(conn: AsyncConnection, process: str, per_second: int) -> int:
    """Publish this process's rate; returns what all the others sent in their last second."""
    await conn.execute(_PUBLISH, {"process": process, "per_second": per_second})
    return int((await conn.execute(_OTHERS, {"process": process, "fresh": FRESH_SECONDS})).scalar_one())


async def withdraw(conn: AsyncConnection, process: str) -> None:
    await conn.execute(_WITHDRAW, {"process": process})
