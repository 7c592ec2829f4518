"""What a process tells Prometheus at `/metrics` (prometheus-client's default registry, which also
carries the process's own memory, CPU and open files).

Counters and the histogram are kept as things happen; the depths of the intake, the outbox and the
timers are read from PostgreSQL when `/metrics` is asked for (`refresh`), so every process reports
the same shared figures."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.services import intake

UPDATES_RECEIVED = Counter(
    "bot_updates_received", "Updates from Telegram stored in the intake by this process", ["kind"]
)
UPDATES_HANDLED = Counter("bot_updates_handled", "Updates whose handling committed in this process", ["kind"])
HANDLING_SECONDS = Histogram(
    "bot_update_handling_seconds", "From taking an update out of the intake to the commit of its handling",
    ["kind"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
HANDLING_RETRIED = Counter(
    "bot_update_handling_retried", "Handlings that did not commit and wait to be tried again",
    ["reason"],  # database: it was unreachable; error: anything else
)
POLLING_FAILURES = Counter(
    "bot_polling_failures", "Rounds of getUpdates that failed and wait to be tried again; nothing they fetched is confirmed",
    ["reason"],  # database: it was unreachable; telegram: Telegram was; conflict: another poller or a webhook; error: anything else
)
INTAKE_WAITING = Gauge("bot_intake_waiting", "Updates stored and not yet handled (all processes)")
INTAKE_OLDEST = Gauge("bot_intake_oldest_waiting_seconds", "Age of the oldest update not yet handled")
OUTBOX_PENDING = Gauge("bot_outbox_pending", "Messages the bot owes and has not sent yet (all processes)")
OUTBOX_OLDEST = Gauge("bot_outbox_oldest_pending_seconds", "Age of the oldest message owed")
TIMERS_OVERDUE = Gauge("bot_timers_overdue", "Timers due more than a minute ago and not yet fired")
ANNOUNCEMENT_SENT = Counter("bot_announcement_messages_sent", "Announcement messages sent by this process")
FLOOD_WAITS = Counter(
    "bot_telegram_flood_waits", "429 Too Many Requests answers met by this process", ["sender"]
)
PRESS_ANSWERS_EXPIRED = Counter(
    "bot_press_answers_expired",
    "button presses handled after Telegram stopped taking their answer (late, or answered before a crash)",
)

_OUTBOX = text(
    """
    SELECT count(*), EXTRACT(EPOCH FROM clock_timestamp() - min(created_at))
    FROM outbox WHERE sent_at IS NULL AND failed IS NULL
    """
)
_TIMERS_OVERDUE = text("SELECT count(*) FROM timers WHERE done_at IS NULL AND due_at < now() - interval '1 minute'")


async def refresh(conn: AsyncConnection) -> None:
    """Read the shared depths from the database into the gauges."""
    waiting = await intake.waiting(conn)
    INTAKE_WAITING.set(waiting.count)
    INTAKE_OLDEST.set(waiting.oldest_seconds)
    pending, oldest = (await conn.execute(_OUTBOX)).one()
    OUTBOX_PENDING.set(pending)
    OUTBOX_OLDEST.set(max(0.0, float(oldest or 0)))
    TIMERS_OVERDUE.set((await conn.execute(_TIMERS_OVERDUE)).scalar_one())


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
