"""Kazakhstan's time, the one the offices and the Marathon count days in.

The whole country keeps UTC+5 since 1 March 2024 (Astana's and Almaty's clocks were moved back an
hour to match the west), so a fixed offset is exact; each office's own opening hours are data
(`bot/content/front_offices.toml`, `Directory`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

KAZAKHSTAN = timezone(timedelta(hours=5))


def today_in_kazakhstan(now: datetime | None = None) -> date:
    """The date in Kazakhstan at `now` (an aware moment; the present by default)."""
    return (now or datetime.now(UTC)).astimezone(KAZAKHSTAN).date()
