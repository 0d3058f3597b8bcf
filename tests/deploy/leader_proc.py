"""A replica for the leader-election test:
`python leader_proc.py URL NAME SCHEDULE_ID INTERVAL_MS [sql|repository]`.

It takes part in the election with the bot's AdvisoryLockLeadership. While it leads, it fires a
schedule every INTERVAL_MS on a fixed grid, catching up every grid time after the last stored run
(as a scheduler does after a failover), one ScheduleRun per fire time with
INSERT ... ON CONFLICT DO NOTHING (mode `sql`), or through the scheduler's own repository
functions `latest_run_time` / `create_run` (mode `repository`). Every event is one flushed stdout line:
`leader NAME`, `follower NAME`, `fired <iso> NAME`, `conflict <iso> NAME`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


from bot.leader import AdvisoryLockLeadership, connect_asyncpg


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class SqlRuns:
    """The runs table through plain SQL on one connection."""

    def __init__(self, conn) -> None:  # type: ignore[no-untyped-def]
        self.conn = conn

    async def last(self, schedule_id: int) -> dt.datetime | None:
        return await self.conn.fetchval(
            "SELECT max(fire_time) FROM schedulerun WHERE schedule_id = $1", schedule_id
        )

    async def fire(self, schedule_id: int, due: dt.datetime, status: str) -> bool:
        row = await self.conn.fetchval(
            "INSERT INTO schedulerun (schedule_id, fire_time, status, started_at) VALUES ($1, $2, $3, now())"
            " ON CONFLICT (schedule_id, fire_time) DO NOTHING RETURNING id",
            schedule_id,
            due,
            status,
        )
        return row is not None


class RepositoryRuns:
    """The runs table through the scheduler's repository, one unit of work per call."""

    def __init__(self, url: str) -> None:
        from storage.db import create_engine, create_sessionmaker

        self.sessionmaker = create_sessionmaker(create_engine(url))

    async def last(self, schedule_id: int) -> dt.datetime | None:
        from storage import schedules as repo
        from storage.db import session_scope

        async with session_scope(self.sessionmaker) as session:
            return await repo.latest_run_time(session=session, schedule_id=schedule_id)

    async def fire(self, schedule_id: int, due: dt.datetime, status: str) -> bool:
        from storage import schedules as repo
        from storage.db import session_scope

        async with session_scope(self.sessionmaker) as session:
            run = await repo.create_run(
                session=session, schedule_id=schedule_id, fire_time=due, status=status
            )
            return run is not None


async def main(url: str, name: str, schedule_id: int, interval_ms: int, mode: str) -> None:
    step = dt.timedelta(milliseconds=interval_ms)
    conn = await connect_asyncpg(url)
    runs = SqlRuns(conn) if mode == "sql" else RepositoryRuns(url)
    leadership = AdvisoryLockLeadership(url, check_seconds=0.1)

    async def gained() -> None:
        say(f"leader {name}")

    async def lost() -> None:
        say(f"follower {name}")

    leadership.on_change(gained, lost)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await leadership.start()
    epoch = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    while not stop.is_set():
        if leadership.is_leader:
            latest = epoch + ((dt.datetime.now(dt.UTC) - epoch) // step) * step
            last = await runs.last(schedule_id)
            due = latest if last is None else last + step
            while due <= latest and leadership.is_leader:
                fired = await runs.fire(schedule_id, due, f"done-{name}")
                say(f"{'fired' if fired else 'conflict'} {due.isoformat()} {name}")
                due += step
        await asyncio.sleep(interval_ms / 4000)
    await leadership.stop()
    await conn.close()


if __name__ == "__main__":
    mode = sys.argv[5] if len(sys.argv) > 5 else "sql"
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), mode))
