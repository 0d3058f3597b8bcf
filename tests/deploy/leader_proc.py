"""A replica for the leader-election test: `python leader_proc.py URL NAME SCHEDULE_ID INTERVAL_MS`.

It takes part in the election with the bot's AdvisoryLockLeadership. While it leads, it fires a
schedule every INTERVAL_MS on a fixed grid, catching up every grid time after the last stored run
(as a scheduler does after a failover), one ScheduleRun per fire time with
INSERT ... ON CONFLICT DO NOTHING. Every event is one flushed stdout line:
`leader NAME`, `follower NAME`, `fired <iso> NAME`, `conflict <iso> NAME`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy.engine import make_url

from bot.leader import AdvisoryLockLeadership


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(url: str, name: str, schedule_id: int, interval_ms: int) -> None:
    import asyncpg

    step = dt.timedelta(milliseconds=interval_ms)
    u = make_url(url)
    conn = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username, database=u.database)
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
            now = dt.datetime.now(dt.UTC)
            latest = epoch + ((now - epoch) // step) * step
            last = await conn.fetchval(
                "SELECT max(fire_time) FROM schedulerun WHERE schedule_id = $1", schedule_id
            )
            due = latest if last is None else last + step
            while due <= latest and leadership.is_leader:
                row = await conn.fetchval(
                    "INSERT INTO schedulerun (schedule_id, fire_time, status, started_at) VALUES ($1, $2, $3, $4)"
                    " ON CONFLICT (schedule_id, fire_time) DO NOTHING RETURNING id",
                    schedule_id,
                    due,
                    f"done-{name}",
                    now,
                )
                say(f"{'fired' if row is not None else 'conflict'} {due.isoformat()} {name}")
                due += step
        await asyncio.sleep(interval_ms / 4000)
    await leadership.stop()
    await conn.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
