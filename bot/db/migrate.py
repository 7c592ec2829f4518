"""Apply Alembic migrations from code (used by `python -m bot migrate`, `run` and the tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from bot.config import PROJECT_ROOT


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    # ConfigParser interpolation: a literal '%' (e.g. in a password) must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`. Synchronous: call it from a thread inside an event loop."""
    command.upgrade(alembic_config(database_url), revision)


def resolve_database_url() -> str:
    """For the plain `alembic` command: DATABASE_URL, or the embedded server's."""
    from bot.config import load_settings
    from bot.db.engine import EmbeddedPostgres

    settings = load_settings()
    if settings.database_url:
        return settings.database_url
    return EmbeddedPostgres(settings.data_dir / "postgres").start()
