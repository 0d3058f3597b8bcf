"""The health report behind `/healthz`: the version, the database, the Bot API (last successful
call, failures in a row), leader or follower, the last update. Unhealthy (503) when the database
does not answer or the Bot API has failed BOT_API_FAILURES_UNHEALTHY times in a row."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from sqlalchemy import text

from bot.version import version
from storage import db

log = logging.getLogger(__name__)

DATABASE_TIMEOUT_SECONDS = 3.0
BOT_API_FAILURES_UNHEALTHY = 5


def is_transient(error: BaseException) -> bool:
    """Whether a failure is passing (the database unreachable for now): the work may be retried."""
    return db.is_transient(error)


async def database_reachable(services: Any) -> bool:
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS), services.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
    except Exception as error:
        log.warning("health check: database unreachable", extra={"error": type(error).__name__})
        return False
    return True


async def health_report(services: Any) -> tuple[bool, dict[str, Any]]:
    """(healthy, report). Healthy means the database answers and the Bot API is not down; a
    follower is healthy too."""
    metrics = services.metrics
    database_ok = await database_reachable(services)
    api_ok = metrics.bot_api_failures < BOT_API_FAILURES_UNHEALTHY
    api_last = metrics.bot_api_last_ok_at
    leader = bool(services.leadership.is_leader)
    metrics.is_leader.set(1 if leader else 0)
    last: dt.datetime | None = metrics.last_update_at
    report = {
        "status": "ok" if database_ok and api_ok else "fail",
        "version": version(),
        "database": "ok" if database_ok else "unreachable",
        "bot_api": {
            "status": "ok" if api_ok else "failing",
            "last_ok_at": api_last.astimezone(dt.UTC).isoformat() if api_last else None,
            "consecutive_failures": metrics.bot_api_failures,
        },
        "role": "leader" if leader else "follower",
        "last_update_at": last.astimezone(dt.UTC).isoformat() if last else None,
        "updates_handled": int(
            sum(
                s.value
                for m in metrics.updates_handled.collect()
                for s in m.samples
                if s.name.endswith("_total")
            )
        ),
    }
    return database_ok and api_ok, report
