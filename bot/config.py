"""Settings from the environment and an optional `.env` file.

Everything the bot can be told lives here, validated once at start. `load_settings()` turns a
validation failure into `SettingsError` whose message is one line per bad setting, so the command
line can print it instead of a traceback.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SUPPORTED_LANGUAGES = ("kk", "ru", "en")

# Telegram tokens look like "123456789:AA…" (a numeric bot id, a colon, 35 url-safe characters).
_TOKEN_RE = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")


class SettingsError(Exception):
    """A setting is missing or malformed; the message is meant for a person, one line per setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: str | None = Field(default=None, description="token from @BotFather")
    database_url: str | None = None
    telegram_api_url: str | None = None
    # Messages a second the bot sends in all (Telegram's limit is about 30: answers wait a moment
    # for a place rather than meet flood control, announcements use what answers leave). 0: no
    # budget, for a Bot API server without flood control (the benchmarks' stand-in), where it would
    # measure the budget instead of the bot.
    telegram_sends_per_second: int = Field(default=30, ge=0, le=1000)
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    log_level: str = "INFO"
    default_language: str = "kk"
    data_dir: Path = PROJECT_ROOT / ".data"
    # Time limits of a ticket, in minutes (fractions allowed): T1 nobody took it, remind its
    # operators; T2 still nobody, up to the national office; T3 a citizen's message unanswered,
    # remind the assigned operator.
    ticket_remind_after_minutes: float = Field(default=15, gt=0)
    ticket_escalate_after_minutes: float = Field(default=60, gt=0)
    ticket_answer_reminder_minutes: float = Field(default=30, gt=0)
    # A new request that nobody on duty can take (neither its office nor the national office has
    # an operator on duty): the coordinators are alerted at once, and again this often while it waits.
    ticket_nobody_on_duty_repeat_minutes: float = Field(default=30, gt=0)
    # A citizen who asks an operator this many days after a request of theirs was closed is asked
    # whether it is about that request (which opens again) or something new; 0: never asked.
    ticket_reopen_days: float = Field(default=7, ge=0)
    # Announcements go out at this many messages a second: under Telegram's ~30 a second for a bot,
    # with room for the replies people get meanwhile.
    announcement_rate: float = Field(default=25, gt=0, le=30)
    # A closed request's personal data (phone, messages, the help form's answers) is erased this
    # many days after it was closed, a person who has not written for this many days is erased as
    # with /forget, and a marathon's deed descriptions and photos this long after it ended; what
    # stays is anonymous (README "What is kept and for how long").
    retention_days: int = Field(default=365, ge=1)
    # Flood control of what citizens send to operators: at most this many messages a minute from one
    # person; and a text already sent (FLOOD_REPEATS - 1) times within FLOOD_REPEAT_MINUTES, with no
    # operator's answer since, is not passed on again.
    flood_messages_per_minute: int = Field(default=20, ge=1)
    flood_repeats: int = Field(default=3, ge=2)
    flood_repeat_minutes: float = Field(default=10, gt=0)
    # Webhook mode: the public https address Telegram calls (behind a proxy that terminates TLS);
    # without it the bot polls. WEBHOOK_SECRET is required with it: Telegram sends it with every
    # call, and a call without it is refused.
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "0.0.0.0:8081"
    # Where /healthz and /metrics are served in polling mode (in webhook mode: beside the webhook).
    metrics_listen: str | None = None
    # Updates handled at once by this process (different people; one person's go one at a time).
    handling_concurrency: int = Field(default=16, ge=1, le=200)
    # SIGTERM: what is being handled gets this long to finish before the process exits.
    stop_grace_seconds: float = Field(default=20, gt=0, le=300)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        value = value.strip()
        if not _TOKEN_RE.match(value):
            raise ValueError("does not look like a token from @BotFather (digits, a colon, then 35 letters)")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.strip()
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in {"postgres", "postgresql", "postgresql+asyncpg"}:
            raise ValueError("must be a PostgreSQL URL such as postgresql://user:password@host:5432/db")
        # SQLAlchemy needs the async driver named in the scheme.
        return f"postgresql+asyncpg://{rest}"

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8081")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.strip()
        if not re.match(r"^https?://[^/\s:]+(:\d+)?(/\S*)?$", value):
            raise ValueError("must be the public address Telegram calls, such as https://bot.example.kz/telegram")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.strip()
        # Telegram's rule for secret_token.
        if not re.match(r"^[A-Za-z0-9_-]{1,256}$", value):
            raise ValueError("must be 1 to 256 characters: letters, digits, _ and - (e.g. openssl rand -hex 32)")
        return value

    @field_validator("webhook_listen", "metrics_listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        value = value.strip()
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be host:port, such as 0.0.0.0:8081")
        return value

    @model_validator(mode="after")
    def _webhook_mode(self) -> Settings:
        if self.webhook_url is None:
            return self
        if not self.webhook_secret:
            raise ValueError("WEBHOOK_SECRET must be set with WEBHOOK_URL (e.g. openssl rand -hex 32)")
        # Telegram calls only https addresses; a self-hosted Bot API server (TELEGRAM_API_URL) may
        # call http ones.
        if not self.webhook_url.startswith("https://") and not self.telegram_api_url:
            raise ValueError("WEBHOOK_URL must start with https:// (Telegram calls no other address)")
        if self.webhook_listen is None:
            raise ValueError("WEBHOOK_LISTEN must be host:port in webhook mode")
        return self

    @property
    def webhook_path(self) -> str:
        """The path Telegram calls, the one of WEBHOOK_URL (the proxy passes it on unchanged)."""
        assert self.webhook_url is not None
        path = self.webhook_url.split("://", 1)[1].partition("/")[2]
        return "/" + path

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> tuple[int, ...]:
        if value is None or value == "":
            return ()
        if isinstance(value, (list, tuple)):
            items = [str(v) for v in value]
        else:
            items = [part for part in str(value).replace(" ", "").split(",") if part]
        ids = []
        for item in items:
            if not item.isdigit():
                raise ValueError(f"must be comma-separated numeric Telegram ids; {item!r} is not one")
            ids.append(int(item))
        return tuple(ids)

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in logging.getLevelNamesMapping():
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return value

    @field_validator("default_language")
    @classmethod
    def _default_language(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        return value

    def require_token(self) -> str:
        if not self.bot_token:
            raise SettingsError(
                "BOT_TOKEN is not set: get a token from @BotFather and put BOT_TOKEN=… in .env"
            )
        return self.bot_token


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings; raise `SettingsError` with one line per problem."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            reason = str(error["msg"]).removeprefix("Value error, ")
            if error["loc"]:
                lines.append(f"{str(error['loc'][0]).upper()} {reason}")
            else:  # a rule between settings names them itself
                lines.append(reason)
        raise SettingsError("\n".join(lines)) from None
