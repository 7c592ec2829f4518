"""What the command line's commands share: the database they work on (the configured one, or an
embedded one), its migrations, the event loop, the errors said to a person in one line, and the
files they write."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.config import Settings



class StartupError(Exception):
    """Something outside the code stops the start; the message says what, for a person."""


class CommandError(Exception):
    """A command could not do what was asked; the message is the whole line, for a person."""


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The configured database, or an embedded one started here and stopped on exit."""
    if settings.database_url:
        yield settings.database_url
        return
    from bot.db.engine import EmbeddedPostgres

    server = EmbeddedPostgres(settings.data_dir / "postgres")
    try:
        url = server.start()
    except Exception as exc:  # noqa: BLE001 - any failure here is reported as one line
        raise StartupError(f"could not start the embedded PostgreSQL in {settings.data_dir}: {exc}") from None
    try:
        yield url
    finally:
        server.stop()


def migrate(url: str) -> None:
    from bot.db.migrate import upgrade

    try:
        upgrade(url)
    except OSError as exc:
        raise StartupError(f"cannot reach the database (DATABASE_URL): {exc}") from None
    except Exception as exc:
        # asyncpg reports a wrong password or a missing database with its own exception types.
        if type(exc).__module__.startswith("asyncpg"):
            raise StartupError(f"the database refused the connection (DATABASE_URL): {exc}") from None
        raise


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where it exists (Linux, macOS): a faster event loop under aiohttp and asyncpg."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def command_line_actor() -> str:
    """Who the audit log names for an export from the command line: the account that ran it."""
    import getpass

    return f"command line ({getpass.getuser()})"


def write_private(path: Path, content: bytes) -> None:
    """Write a file that holds personal data: readable by its owner only (0600), also when it
    existed before with wider permissions (they are narrowed before anything is written)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        file = os.fdopen(descriptor, "wb")
    except BaseException:
        os.close(descriptor)
        raise
    with file:
        file.write(content)


def output_file(name: str) -> Path:
    """Where an export is written; its folder must exist (a typo should not create folders)."""
    out = Path(name)
    if not out.parent.is_dir():
        raise CommandError(f"Cannot export: the folder {out.parent} does not exist")
    return out
