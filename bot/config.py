"""Settings, read once from the environment and an optional `.env` file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DB_PATH = Path("data") / "dutybot.sqlite3"
# What python-telegram-bot's HTTPX transport accepts (socks5 needs the `socks` extra).
PROXY_SCHEMES = ("http://", "https://", "socks5://", "socks5h://")


class Settings(BaseSettings):
    """Every setting the bot reads. Secrets have no default."""

    # hide_input_in_errors: a validation error never echoes the settings (the token among them).
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    telegram_bot_token: SecretStr | None = None
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DB_PATH}"
    timezone: str = "Asia/Shanghai"
    telegram_api_base_url: str | None = None
    admin_telegram_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    rules_path: Path | None = None
    log_level: str = "INFO"

    # Flood control per user and window: check-ins past flood_max_messages are stored without a
    # card each; commands are counted apart, and each one past flood_max_commands is answered.
    flood_max_messages: int = 20
    flood_max_commands: int = 60
    flood_window_seconds: float = 60.0

    # Scheduling and nudges.
    misfire_grace_hours: float = 6.0
    nudge_weekly_cap: int = 3
    escalate_after_periods: int = 2
    # Leave may be registered for past days (补登) back this many days, today not counted.
    leave_backfill_days: int = Field(default=7, ge=0, le=366)
    send_rate_per_second: float = 25.0

    # Webhook mode.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_path: str = "/telegram"
    # Updates processed at once in webhook mode (one chat's updates always one after another).
    webhook_max_concurrent: int = 16
    # Serve /healthz and /metrics on this port (also in polling mode); None: not served at all (never
    # on the public webhook port).
    health_port: int | None = None
    # The webhook and health servers close a connection that has not sent a request's headers (or
    # its body) within this many seconds: idle keep-alive connections and slow clients.
    http_timeout_seconds: float = 15.0
    # With PostgreSQL: how often the scheduler's leader re-checks its lock and followers retry.
    leader_check_seconds: float = 10.0
    # Scheduled backups (the leader, every night; and before every migration): where, how many of
    # each kind to keep (0: no nightly backup), and when (local time, HH:MM).
    backup_dir: Path | None = None
    backup_keep: int = 14
    backup_time: str = "03:30"
    # Log lines as JSON objects instead of `key=value` text.
    log_json: bool = False
    # An outbound proxy for every Bot API call, e.g. http://proxy:3128 or socks5://127.0.0.1:1080
    # (where Telegram is reachable only through one).
    telegram_proxy_url: str | None = None

    # Secrets from files (docker/compose secrets, systemd credentials): each `*_FILE` names a file
    # whose contents, stripped of surrounding whitespace, is the value of the setting without the
    # suffix. Setting both a secret and its `*_FILE` is refused (as the postgres image does); an
    # empty plain variable counts as unset, so `TELEGRAM_BOT_TOKEN=` may stay in the env file.
    telegram_bot_token_file: Path | None = None
    webhook_secret_file: Path | None = None
    database_url_file: Path | None = None

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

    @field_validator("telegram_proxy_url")
    @classmethod
    def _proxy_scheme(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        value = value.strip()
        if not value.lower().startswith(PROXY_SCHEMES):
            raise ValueError(
                f"TELEGRAM_PROXY_URL must start with one of {', '.join(PROXY_SCHEMES)} "
                "(e.g. socks5://127.0.0.1:1080)"
            )
        return value

    @model_validator(mode="after")
    def _secrets_from_files(self) -> Settings:
        for name in ("telegram_bot_token", "webhook_secret", "database_url"):
            path = getattr(self, f"{name}_file")
            if path is None or not str(path).strip():
                continue
            variable, file_variable = name.upper(), f"{name.upper()}_FILE"
            plain = getattr(self, name)
            if isinstance(plain, SecretStr):
                plain = plain.get_secret_value()
            if name in self.model_fields_set and plain:
                raise ValueError(f"both {variable} and {file_variable} are set; set only one of them")
            try:
                value = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"{file_variable}={path}: cannot read the file ({exc.strerror})") from None
            if not value:
                raise ValueError(f"{file_variable}={path}: the file is empty")
            setattr(self, name, SecretStr(value) if name != "database_url" else value)
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def token(self) -> str | None:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None
