"""Start-up checks: a configuration or dependency problem is one clear line and an exit status.

EX_CONFIG (78) for configuration (systemd does not restart it: RestartPreventExitStatus=78),
EX_UNAVAILABLE (69) for a dependency that cannot be reached. The line names what is wrong, the
setting, and how to fix it; with LOG_JSON=true it is one JSON object. Secrets are never printed.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import sys
from collections.abc import Mapping
from typing import TextIO

from pydantic import ValidationError

from bot.config import Settings

EX_CONFIG = 78
EX_UNAVAILABLE = 69
DATABASE_TIMEOUT_SECONDS = 10.0


class StartupError(Exception):
    """Start-up cannot go on: `what` is wrong with `setting`; `fix` says how to mend it."""

    def __init__(self, code: int, what: str, *, setting: str | None = None, fix: str | None = None) -> None:
        super().__init__(what)
        self.code, self.what, self.setting, self.fix = code, what, setting, fix

    def line(self) -> str:
        parts = [f"dutybot: cannot start: {self.what}"]
        if self.setting:
            parts.append(f"(setting {self.setting})")
        if self.fix:
            parts.append(f"— {self.fix}")
        return " ".join(parts)

    def as_json(self) -> str:
        return json.dumps(
            {
                "level": "ERROR",
                "message": f"cannot start: {self.what}",
                "setting": self.setting,
                "fix": self.fix,
                "exit_code": self.code,
            },
            ensure_ascii=False,
        )


def _wants_json(environ: Mapping[str, str]) -> bool:
    return environ.get("LOG_JSON", "").strip().lower() in {"1", "true", "yes", "on"}


def report(
    error: StartupError, stream: TextIO | None = None, environ: Mapping[str, str] | None = None
) -> int:
    """Print the error's one line (JSON with LOG_JSON=true); the exit status."""
    out = stream or sys.stderr
    out.write((error.as_json() if _wants_json(environ or os.environ) else error.line()) + "\n")
    out.flush()
    return error.code


def load_settings() -> Settings:
    """The settings, or a StartupError naming the first setting that is wrong."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first.get("loc") else "a setting"
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        raise StartupError(
            EX_CONFIG, message, setting=name, fix=f"correct {name} in the environment or .env"
        ) from None


def unknown_setting_warnings(environ: Mapping[str, str]) -> list[str]:
    """Warnings for variables that look like a misspelt setting (DUTYBOT_… or a near miss)."""
    known = {name.upper() for name in Settings.model_fields} | {
        f"{n.upper()}_FILE" for n in Settings.model_fields
    }
    warnings = []
    for name in sorted(environ):
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
        if name.startswith("DUTYBOT_") or close:
            hint = f"; did you mean {close[0]}?" if close else ""
            warnings.append(f"dutybot: warning: {name} is not a setting dutybot reads{hint}")
    return warnings


def check_database_url(settings: Settings) -> None:
    """A DATABASE_URL dutybot can use: an async driver named in it."""
    url = settings.database_url
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme in {"postgresql", "postgres"}:
        raise StartupError(
            EX_CONFIG,
            "the PostgreSQL URL names no driver",
            setting="DATABASE_URL",
            fix="write it as postgresql+asyncpg://user:password@host:5432/dbname",
        )
    if scheme == "sqlite":
        raise StartupError(
            EX_CONFIG,
            "the SQLite URL names no driver",
            setting="DATABASE_URL",
            fix="write it as sqlite+aiosqlite:///path",
        )
    if scheme not in {"postgresql+asyncpg", "sqlite+aiosqlite"}:
        raise StartupError(
            EX_CONFIG,
            f"unsupported database URL scheme {scheme or '(none)'!r}",
            setting="DATABASE_URL",
            fix="use sqlite+aiosqlite:///data/dutybot.sqlite3 or postgresql+asyncpg://…",
        )


def check_database_reachable(settings: Settings) -> None:
    """Connect once (and disconnect): a refused or unreachable database is EX_UNAVAILABLE."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from storage.db import create_engine

    async def probe() -> None:
        engine = create_engine(settings.database_url)
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS), engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    try:
        asyncio.run(probe())
    except Exception as error:
        url = make_url(settings.database_url)
        where = url.database if url.get_backend_name() == "sqlite" else f"{url.host}:{url.port or 5432}"
        reason = type(error).__name__
        raise StartupError(
            EX_UNAVAILABLE,
            f"the database at {where} cannot be reached ({reason})",
            setting="DATABASE_URL",
            fix="check that the server is up and the URL, user and password are right",
        ) from None
