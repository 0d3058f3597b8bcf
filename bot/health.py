"""The health report behind `/healthz`: database reachable, leader or follower, last update."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from sqlalchemy import text

from storage import db

log = logging.getLogger(__name__)

DATABASE_TIMEOUT_SECONDS = 3.0


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
    """(healthy, report). Healthy means the database answers; a follower is healthy too."""
    metrics = services.metrics
    database_ok = await database_reachable(services)
    leader = bool(services.leadership.is_leader)
    metrics.is_leader.set(1 if leader else 0)
    last: dt.datetime | None = metrics.last_update_at
    report = {
        "status": "ok" if database_ok else "fail",
        "database": "ok" if database_ok else "unreachable",
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
    return database_ok, report
