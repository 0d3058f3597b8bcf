"""Default schedules are seeded once, even by replicas starting at the same moment."""

from __future__ import annotations

import asyncio
import datetime as dt
from contextlib import asynccontextmanager
from types import SimpleNamespace

from bot.clock import FakeClock
from bot.config import Settings
from bot.scheduler import seed_defaults
from storage import schedules as repo
from storage.db import create_engine, create_sessionmaker, session_scope


def _replica(engine, settings: Settings):  # type: ignore[no-untyped-def]
    """The parts of Services that seeding uses, over this replica's own engine."""
    maker = create_sessionmaker(engine)

    @asynccontextmanager
    async def session():  # type: ignore[no-untyped-def]
        async with session_scope(maker) as s:
            yield s
            await asyncio.sleep(0.05)  # hold the transaction open while the other replica starts

    clock = FakeClock(dt.datetime(2026, 11, 27, 10, 15, tzinfo=dt.UTC))
    return SimpleNamespace(session=session, settings=settings, clock=clock)


async def test_replicas_starting_together_seed_the_default_schedules_once(settings: Settings) -> None:
    engines = [create_engine(settings.database_url) for _ in range(2)]
    try:
        added = await asyncio.gather(*(seed_defaults(_replica(e, settings)) for e in engines))  # type: ignore[arg-type]
        assert sorted(added) == [0, 2]
        async with session_scope(create_sessionmaker(engines[0])) as session:
            rules = [s.rule_text for s in await repo.list_schedules(session=session)]
        assert sorted(rules) == ["每周一 9:00", "每周五 16:00"]
    finally:
        for engine in engines:
            await engine.dispose()
