"""The durable intake: updates from Telegram kept in PostgreSQL from the moment they arrive until
their handling commits. Knows nothing of Telegram's formats: an update here is its id, whose it is
(`person_id`), its kind and its JSON text.

* `store` writes a batch in one statement, before Telegram is told the batch arrived (the next
  `getUpdates` offset, or the webhook's 200). An update Telegram sends again is stored once.
* `claim_next` hands out the oldest waiting update whose person has no earlier one waiting, locked
  (`FOR UPDATE SKIP LOCKED`) and already marked handled in the caller's transaction: the handling
  commits with that mark, or rolls back with it. So every process can handle, each person's updates
  go one at a time in the order they arrived, and an update whose handling never committed (a kill,
  a lost database) is handed out again.
* The Bot API calls made while handling are recorded as they are made (`record_call`, on a
  connection of their own so that they survive a rollback); the next attempt replays them. They are
  deleted in batches soon after the update's handling commits (`forget_calls`), or by the purge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.db.driver import Statement, begin, discarded_on_failure, hand_down, pooled, uncancelled

# NOTIFY on this channel wakes the handling in every process; PostgreSQL sends it only at commit.
CHANNEL = "intake"
# Telegram keeps an update it was not told arrived for 24 hours and may send it again meanwhile;
# a handled update's row (its payload already cleared) is kept a while longer to recognise it.
KEEP_HANDLED = timedelta(hours=48)

# On the path of every update: run on the asyncpg connection (see `store`).
_STORE = Statement(text(
    """
    WITH stored AS (
        INSERT INTO intake (update_id, person_id, kind, payload)
        SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:people AS bigint[]), CAST(:kinds AS text[]),
                             CAST(:payloads AS text[]))
        ON CONFLICT (update_id) DO NOTHING
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM stored), pg_notify(:channel, '')
    """
))
# A function of its own (migration 0019): its plan must not depend on the table's statistics of
# the moment, and PostgreSQL's only way to say so is settings scoped to a function.
# How many of other people's updates waited as the claim began, unclaimed (up to `COUNTED`): the
# loop that claims makes that many claims more, and none if none waited, rather than claims that
# find nothing (an update stored later wakes it). Unclaimed: `xmax` is 0 on a row version no
# transaction has locked or changed; a claim in progress has locked its row (a claim rolled back
# leaves its id there too: such an update waits for the next claim, which takes the oldest first).
# A person's later updates wait for this one (`more`), and are not counted. Two probes of the
# waiting index, one each side of the person, so a flood of one person's updates is not read through.
COUNTED = 4
OTHERS_WAITING = f"""(
    SELECT count(*) FROM (
        (SELECT 1 FROM intake AS other WHERE other.handled_at IS NULL AND other.person_id < claimed.person_id
             AND other.not_before <= now() AND other.xmax = '0' LIMIT {COUNTED})
        UNION ALL
        (SELECT 1 FROM intake AS other WHERE other.handled_at IS NULL AND other.person_id > claimed.person_id
             AND other.not_before <= now() AND other.xmax = '0' LIMIT {COUNTED})
    ) AS waiting
) AS others_waiting"""
CLAIM_SQL = f"SELECT claimed.*, {OTHERS_WAITING} FROM intake_claim() AS claimed"
# On the driver connection (asyncpg's numbered parameters): recorded for every Bot API call made
# while handling, so it skips SQLAlchemy. Rows after this one are an earlier attempt's calls that
# this attempt no longer makes (it went another way from here): they go.
RECORD_CALL_SQL = """
    WITH stale AS (DELETE FROM intake_calls WHERE update_id = $1 AND seq > $2)
    INSERT INTO intake_calls (update_id, seq, method, response) VALUES ($1, $2, $3, $4)
    ON CONFLICT (update_id, seq) DO UPDATE SET method = excluded.method, response = excluded.response, made_at = now()
"""
# A handling that started and never ended (its process died: a kill, running out of memory) is
# counted here, outside its transaction, which a death rolls back. `seq` -1 is not a call.
STARTED_SQL = """
    INSERT INTO intake_calls (update_id, seq, method, response) VALUES ($1, -1, 'started', '1')
    ON CONFLICT (update_id, seq) DO UPDATE SET response = (intake_calls.response::int + 1)::text
    RETURNING response::int
"""
FORGET_CALLS_SQL = "DELETE FROM intake_calls WHERE update_id = ANY($1::bigint[])"
UNCOUNT_START_SQL = (
    "UPDATE intake_calls SET response = (response::int - 1)::text WHERE update_id = $1 AND seq = -1 AND response::int > 0"
)
_HOLD_BACK = text(
    """
    UPDATE intake SET attempts = attempts + CAST(:counted AS int), not_before = now() + CAST(:delay AS interval)
    WHERE update_id = :update_id AND handled_at IS NULL
    RETURNING attempts
    """
)
# In the transaction that claimed the update (so already marked handled), or on its own.
_GIVE_UP = text(
    "UPDATE intake SET handled_at = coalesce(handled_at, now()), payload = NULL, person_id = 0, failed = :reason "
    "WHERE update_id = :update_id"
)
_PURGE = text("DELETE FROM intake WHERE handled_at < now() - CAST(:keep AS interval)")
# The calls of a handled update are no longer needed, and hold what the bot answered.
_PURGE_CALLS = text(
    "DELETE FROM intake_calls AS c USING intake AS i WHERE i.update_id = c.update_id AND i.handled_at IS NOT NULL"
)
_WAITING = text(
    """
    SELECT count(*), EXTRACT(EPOCH FROM clock_timestamp() - min(received_at))
    FROM intake WHERE handled_at IS NULL
    """
)
_NEXT_DUE = text(
    "SELECT EXTRACT(EPOCH FROM min(not_before) - clock_timestamp()) FROM intake "
    "WHERE handled_at IS NULL AND not_before > clock_timestamp()"
)


@dataclass(frozen=True, slots=True)
class Received:
    update_id: int
    person_id: int
    kind: str
    payload: str  # the update's JSON


@dataclass(frozen=True, slots=True)
class Claimed:
    update_id: int
    payload: str
    attempts: int  # that failed on an error (not on a lost database)
    waited: float  # seconds since it arrived
    # (method, Telegram's answer) of each call an earlier attempt made, in order.
    calls: tuple[tuple[str, str], ...]
    more: bool  # the person has later updates waiting
    others_waiting: int  # other people's updates waiting unclaimed as the claim began (`OTHERS_WAITING`)
    # The asyncpg connection under the session that claimed it: the handling's statements that are
    # on the path of every update run on it directly (SQLAlchemy's way to it costs a greenlet
    # switch each time).
    driver: Any = field(default=None, compare=False, repr=False)
    # The claim's whole row: the columns of what the caller's claim statement joined to it.
    row: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Waiting:
    count: int
    oldest_seconds: float  # 0 when nothing waits


async def store(conn: AsyncConnection, batch: Sequence[Received]) -> int:
    """Store a batch and wake the handling, in one statement that is its own transaction; returns
    how many were new. Run on `conn`'s asyncpg connection, past SQLAlchemy's execution layer (whose
    cost was the statement's twice), so `conn` must be in autocommit (the poller's, the webhook's)."""
    if not batch:
        return 0
    fairy = await conn.get_raw_connection()
    driver = fairy.driver_connection
    if driver.is_in_transaction():
        raise RuntimeError("the intake's store is a transaction of its own: give it a connection in autocommit")
    # Finished even if the caller is cancelled (a stop): asyncpg's connection is not left mid-way.
    # One the server ended is discarded, not put back on top of the pool for the next store.
    stored = await uncancelled(discarded_on_failure(fairy, _STORE.scalar_on(driver, {
        "ids": [u.update_id for u in batch], "people": [u.person_id for u in batch],
        "kinds": [u.kind for u in batch], "payloads": [u.payload for u in batch], "channel": CHANNEL,
    })))
    return int(stored)




async def claim_next(session: AsyncSession, sql: str = CLAIM_SQL, *params: Any) -> Claimed | None:
    """The next update to handle, locked and marked handled in the session's transaction (which
    this begins). `sql` may join more to `intake_claim()` (with its `params`), for the handling to
    read in the same round trip (`Claimed.row`)."""
    # On the driver, under SQLAlchemy's pooled connection: its execution layer cost more than the
    # statement (the transaction begun through SQLAlchemy's adapter, `driver.begin`).
    fairy = await pooled(session)

    async def begin_and_claim() -> Any:
        await begin(fairy)
        return await fairy.driver_connection.fetchrow(sql, *params)

    # One step: a claim made as the caller is cancelled is rolled back with the session.
    row = await uncancelled(begin_and_claim())
    if row is None:
        return None
    hand_down(session, fairy.driver_connection)
    calls = tuple((method, response) for method, response in orjson.loads(row["calls"])) if row["calls"] else ()
    return Claimed(
        row["update_id"], row["payload"], row["attempts"], float(row["waited"]), calls, row["more"], row["others_waiting"],
        fairy.driver_connection, row,
    )


# A handling that failed is undone whole and the update claimed again, in one round trip (the id is
# an integer the claim returned): as the claim marks it. `UPDATE 0`: another process claimed it in
# the moment between (its claim's lock is waited for, and then it is handled).
_RECLAIM = (
    "ROLLBACK; BEGIN; UPDATE intake SET handled_at = now(), payload = NULL, person_id = 0 "
    "WHERE update_id = {update_id} AND handled_at IS NULL"
)


async def reclaim(driver: Any, update_id: int) -> bool:
    """Undo the transaction of the update's handling and claim the update again in a new one, on
    the handling's own connection; False if another process has it now."""
    return await driver.execute(_RECLAIM.format(update_id=int(update_id))) == "UPDATE 1"


async def record_call(driver: Any, update_id: int, seq: int, method: str, response: str) -> None:
    """On an asyncpg connection in autocommit, so that the record survives the handling's rollback."""
    await driver.execute(RECORD_CALL_SQL, update_id, seq, method, response)


async def count_start(driver: Any, update_id: int) -> int:
    """Count a start of the update's handling (on an asyncpg connection in autocommit); returns how
    many there were, this one included."""
    return int(await driver.fetchval(STARTED_SQL, update_id))


async def uncount_start(driver: Any, update_id: int) -> None:
    """A counted start ended after all (the handling failed and said so)."""
    await driver.execute(UNCOUNT_START_SQL, update_id)


async def hold_back(conn: AsyncConnection, update_id: int, seconds: float, *, counted: bool = True) -> int:
    """Hand the update out again only after `seconds`; returns how many attempts failed so far. An
    attempt that failed because the database went away is not `counted`: that is not the update's
    fault, and an outage must not use up its attempts."""
    attempts = (await conn.execute(
        _HOLD_BACK, {"update_id": update_id, "delay": timedelta(seconds=seconds), "counted": int(counted)}
    )).scalar()
    return int(attempts or 0)


async def give_up(conn: AsyncConnection | AsyncSession, update_id: int, reason: str) -> None:
    """Stop trying an update whose handling keeps failing (or that cannot be read), so its person's
    later ones go on; what it held is cleared as for a handled one, the reason kept."""
    await conn.execute(_GIVE_UP, {"update_id": update_id, "reason": reason[:500]})


async def forget_calls(driver: Any, update_ids: Sequence[int]) -> None:
    """The calls of handled updates (on an asyncpg connection or pool in autocommit): once an
    update's handling committed they are never read again (a handled update is not handed out)."""
    await driver.execute(FORGET_CALLS_SQL, list(update_ids))


async def purge(conn: AsyncConnection) -> None:
    await conn.execute(_PURGE, {"keep": KEEP_HANDLED})
    await conn.execute(_PURGE_CALLS)  # those of updates given up on


async def waiting(conn: AsyncConnection | AsyncSession) -> Waiting:
    count, oldest = (await conn.execute(_WAITING)).one()
    return Waiting(int(count), max(0.0, float(oldest or 0)))


async def seconds_to_next(conn: AsyncConnection | AsyncSession) -> float | None:
    """How long until a held-back update is due (0 if one is due now); None if none waits."""
    seconds = (await conn.execute(_NEXT_DUE)).scalar_one_or_none()
    return None if seconds is None else max(0.0, float(seconds))
