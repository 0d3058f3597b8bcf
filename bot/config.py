"""Settings, read once from the environment and an optional `.env` file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DB_PATH = Path("data") / "dutybot.sqlite3"


class Settings(BaseSettings):
    """Every setting the bot reads. Secrets have no default."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DB_PATH}"
    timezone: str = "Asia/Shanghai"
    telegram_api_base_url: str | None = None
    admin_telegram_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    rules_path: Path | None = None
    log_level: str = "INFO"

    # Check-in flood control: at most this many messages per user in the window.
    flood_max_messages: int = 20
    flood_window_seconds: float = 60.0

    # Scheduling and nudges.
    misfire_grace_hours: float = 6.0
    nudge_weekly_cap: int = 3
    escalate_after_periods: int = 2
    send_rate_per_second: float = 25.0

    # Webhook mode.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_path: str = "/telegram"
    # Updates processed at once in webhook mode (one chat's updates always one after another).
    webhook_max_concurrent: int = 16
    # Serve /healthz and /metrics on this port (also in polling mode); None: only on the webhook port.
    health_port: int | None = None
    # With PostgreSQL: how often the scheduler's leader re-checks its lock and followers retry.
    leader_check_seconds: float = 10.0
    # Scheduled backups (the leader, every night; and before every migration): where, how many of
    # each kind to keep (0: no nightly backup), and when (local time, HH:MM).
    backup_dir: Path | None = None
    backup_keep: int = 14
    backup_time: str = "03:30"
    # Log lines as JSON objects instead of `key=value` text.
    log_json: bool = False

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from exc
        return value

    @field_validator("backup_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hour, _, minute = value.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise ValueError(f"not a time of day {value!r}; write HH:MM, e.g. 03:30")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}; use DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def token(self) -> str | None:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None
