"""Logging: one line per event with its fields, secrets redacted everywhere.

`log.info("update handled", extra={"update_id": 7, "ms": 3.1})` becomes
`2026-11-27T02:15:00.123Z INFO handlers.webhook update handled update_id=7 ms=3.1`
(or one JSON object per line with LOG_JSON=true). The bot token, the webhook secret and the
database password are replaced by `[REDACTED]` wherever they appear: message, fields, traceback.
Message text users sent is logged only at DEBUG, by the code that has it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable
from typing import Any

from bot.config import Settings

REDACTED = "[REDACTED]"
# Attributes every LogRecord has; anything else came in through `extra=` and is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def secrets_of(settings: Settings) -> list[str]:
    from sqlalchemy.engine import make_url

    found: list[str] = []
    if settings.token:
        found.append(settings.token)
        found.append(settings.token.split(":", 1)[-1])
    if settings.webhook_secret is not None:
        found.append(settings.webhook_secret.get_secret_value())
    try:
        password = make_url(settings.database_url).password
    except Exception:
        password = None
    if password:
        found.append(str(password))
    # Longest first, so a token is replaced whole before its secret half is looked for.
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class RedactingFilter(logging.Filter):
    """Replaces secrets in the message, the fields and the traceback of every record."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg = self.redact(record.getMessage())
        record.args = None
        for key, value in fields_of(record).items():
            if isinstance(value, str):
                setattr(record, key, self.redact(value))
            elif not isinstance(value, int | float | bool | type(None)):
                setattr(record, key, self.redact(repr(value)))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def _timestamp(record: logging.LogRecord) -> str:
    when = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if text == "" or any(c in text for c in ' "=\n\t'):
        return json.dumps(text, ensure_ascii=False)
    return text


class KeyValueFormatter(logging.Formatter):
    """`<time> <LEVEL> <logger> <message> key=value ...` on a single line."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        parts = [_timestamp(record), record.levelname, record.name, message.replace("\n", "\\n")]
        parts += [f"{key}={_value(value)}" for key, value in fields_of(record).items()]
        exc = self._exception(record)
        if exc:
            parts.append(f"exc={json.dumps(exc, ensure_ascii=False)}")
        return " ".join(parts)

    def _exception(self, record: logging.LogRecord) -> str | None:
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        return record.exc_text or None


class JsonFormatter(KeyValueFormatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(fields_of(record))
        exc = self._exception(record)
        if exc:
            data["exc"] = exc
        return json.dumps(data, ensure_ascii=False, default=str)


def make_handler(settings: Settings, stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter(secrets_of(settings)))
    handler.setFormatter(JsonFormatter() if settings.log_json else KeyValueFormatter())
    return handler


def configure_logging(settings: Settings, stream: Any = None, *, force: bool = True) -> None:
    """Log to stderr one line per event. `force=False` keeps handlers already there (tests)."""
    if not force and logging.getLogger().handlers:
        return
    logging.basicConfig(
        level=settings.log_level.upper(), handlers=[make_handler(settings, stream)], force=True
    )
    # httpx logs every request URL, and the URL holds the token (redacted anyway: belt and braces).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
