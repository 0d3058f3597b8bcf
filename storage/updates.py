"""Update ids already processed, so a redelivered command runs once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import SeenUpdate

UTC = dt.UTC
KEEP = dt.timedelta(days=7)


async def first_time(*, session: AsyncSession, update_id: int, now: dt.datetime) -> bool:
    """Record `update_id`; False when it was recorded before."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(SeenUpdate)
        .values(update_id=update_id, seen_at=now.astimezone(UTC))
        .on_conflict_do_nothing(index_elements=["update_id"])
    )
    result = await session.execute(statement)
    if update_id % 500 == 0:  # now and then, forget what Telegram can no longer redeliver
        await session.execute(
            delete(SeenUpdate).where(col(SeenUpdate.seen_at) < (now - KEEP).astimezone(UTC))
        )
    return bool(getattr(result, "rowcount", 0))
