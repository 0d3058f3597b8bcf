"""Leader election over a PostgreSQL advisory lock: exactly one replica runs the scheduler, and
when the leader dies another takes over with no schedule run fired twice or lost."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import itertools
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from deploy_support import fresh_pg_database, needs_postgres

from bot.config import Settings
from bot.leader import AdvisoryLockLeadership, Leadership, connect_asyncpg, elect
from storage.db import upgrade_sync

pytestmark = needs_postgres

PROC = Path(__file__).with_name("leader_proc.py")
INTERVAL_MS = 100


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        upgrade_sync(url)
        yield url


async def _connect(url: str) -> asyncpg.Connection:
    return await connect_asyncpg(url)


class Events:
    def __init__(self) -> None:
        self.log: list[str] = []

    async def gained(self) -> None:
        self.log.append("gained")

    async def lost(self) -> None:
        self.log.append("lost")


def _elected(url: str) -> tuple[AdvisoryLockLeadership, Events]:
    leadership = AdvisoryLockLeadership(url, check_seconds=3600)
    events = Events()
    leadership.on_change(events.gained, events.lost)
    return leadership, events


def test_postgresql_gets_the_elected_leadership_and_sqlite_keeps_the_default() -> None:
    default = Leadership()
    kept: list[str] = []

    async def noop() -> None:
        kept.append("x")

    default.on_change(noop, noop)
    assert elect(default, "sqlite+aiosqlite:///x.sqlite3", check_seconds=5) is default
    elected = elect(default, "postgresql+asyncpg://u@h/db", check_seconds=5)
    assert isinstance(elected, AdvisoryLockLeadership) and elected.check_seconds == 5
    assert elected._gained == [noop], "callbacks subscribed before the switch are kept"
    assert Settings(_env_file=None).leader_check_seconds > 0


async def test_one_leader_and_the_follower_takes_over_when_it_stops(pg_url: str) -> None:
    first, first_events = _elected(pg_url)
    second, second_events = _elected(pg_url)
    await first.start()
    await second.start()
    try:
        assert (first.is_leader, second.is_leader) == (True, False)
        await second.check()
        assert not second.is_leader, "a follower cannot take a held lock"
        await first.check()
        assert first.is_leader and first_events.log == ["gained"], "re-checking keeps the lock"

        await first.stop()
        assert first_events.log == ["gained", "lost"]
        await second.check()
        assert second.is_leader and second_events.log == ["gained"]
    finally:
        await first.stop()
        await second.stop()


async def test_a_leader_whose_connection_is_killed_steps_down(pg_url: str) -> None:
    first, first_events = _elected(pg_url)
    second, _ = _elected(pg_url)
    await first.start()
    admin = await _connect(pg_url)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'dutybot-leader' AND datname = current_database()"
        )
        await second.start()
        for _ in range(100):  # PostgreSQL releases the lock as the backend exits
            if second.is_leader:
                break
            await asyncio.sleep(0.02)
            await second.check()
        assert second.is_leader
        await first.check()
        assert not first.is_leader and first_events.log == ["gained", "lost"]
        await first.check()
        assert not first.is_leader, "reconnected, but the lock is someone else's now"
    finally:
        await admin.close()
        await first.stop()
        await second.stop()


class Replica:
    """A leader_proc.py subprocess whose stdout lines are collected by a thread."""

    def __init__(
        self,
        url: str,
        name: str,
        schedule_id: int,
        mode: str,
        *,
        args: list[str] | None = None,
        stderr: Any = None,
    ) -> None:
        self.name = name
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.proc = subprocess.Popen(
            args or [sys.executable, str(PROC), url, name, str(schedule_id), str(INTERVAL_MS), mode],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def drain(self) -> list[str]:
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                return self.seen

    def wait_for(self, predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.drain()):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"{self.name}: condition not met; output: {self.drain()[-10:]}")

    def fired(self) -> list[str]:
        return [line.split()[1] for line in self.drain() if line.startswith("fired ")]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


async def _runs(url: str) -> list[tuple[dt.datetime, str]]:
    conn = await _connect(url)
    try:
        rows = await conn.fetch("SELECT fire_time, status FROM schedulerun ORDER BY fire_time")
        return [(r["fire_time"], r["status"]) for r in rows]
    finally:
        await conn.close()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["sql", "repository"])
async def test_two_processes_kill_the_leader_and_the_other_takes_over_without_double_or_lost_runs(
    pg_url: str, mode: str
) -> None:
    """`sql` writes runs with INSERT ... ON CONFLICT; `repository` through the scheduler's own
    storage.schedules functions."""
    conn = await _connect(pg_url)
    schedule_id = await conn.fetchval(
        "INSERT INTO schedule (rule_text, cron, timezone, kind, holiday_policy, paused, created_at)"
        " VALUES ('每周五16:00', '0 16 * * 5', 'Asia/Shanghai', 'nudge', 'skip', false, now()) RETURNING id"
    )
    await conn.close()

    a = Replica(pg_url, "a", schedule_id, mode)
    b: Replica | None = None
    try:
        await asyncio.to_thread(
            a.wait_for, lambda lines: len([x for x in lines if x.startswith("fired")]) >= 5
        )
        assert "leader a" in a.drain()
        b = Replica(pg_url, "b", schedule_id, mode)
        await asyncio.to_thread(
            a.wait_for, lambda lines: len([x for x in lines if x.startswith("fired")]) >= 10
        )
        assert not any(line.startswith(("leader", "fired")) for line in b.drain()), "the follower stays idle"

        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        await asyncio.to_thread(
            b.wait_for, lambda lines: len([x for x in lines if x.startswith("fired")]) >= 10
        )
        assert "leader b" in b.drain()
    finally:
        a.stop()
        if b is not None:
            b.stop()

    runs = await _runs(pg_url)
    times = [t for t, _ in runs]
    step = dt.timedelta(milliseconds=INTERVAL_MS)
    assert all(later - earlier == step for earlier, later in itertools.pairwise(times)), "no run lost"
    assert {status for _, status in runs} == {"done-a", "done-b"}, "both replicas fired, one after the other"
    fired = a.fired() + b.fired()
    assert len(fired) == len(set(fired)), "no fire time fired twice"
    assert set(fired) <= {t.isoformat() for t in times}
    # A killed between its INSERT and its print leaves at most one run unreported.
    assert len(runs) - len(fired) <= 1
    assert not [line for line in a.drain() + b.drain() if line.startswith("conflict")]
    last_a = max(t for t, s in runs if s == "done-a")
    assert all(t > last_a for t, s in runs if s == "done-b"), "the new leader carried on after the old one"


class FreezableProxy:
    """A TCP proxy on loopback that can freeze: it keeps both sockets open but forwards nothing
    (a hung load balancer or a network partition, not a closed connection)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.frozen = False
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if not self.frozen:
                    writer.write(data)
                    await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()


async def test_a_leader_behind_a_frozen_connection_steps_down_and_a_follower_takes_over(pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(pg_url)
    proxy = FreezableProxy(url.host or "127.0.0.1", url.port or 5432)
    port = await proxy.start()
    through_proxy = url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    check = 1.0
    old = AdvisoryLockLeadership(through_proxy, check_seconds=check)
    new = AdvisoryLockLeadership(pg_url, check_seconds=check)
    old_events, new_events = Events(), Events()
    old.on_change(old_events.gained, old_events.lost)
    new.on_change(new_events.gained, new_events.lost)
    try:
        await old.check()
        await new.check()
        assert old.is_leader and not new.is_leader
        proxy.frozen = True
        started = time.monotonic()
        while (old.is_leader or not new.is_leader) and time.monotonic() - started < 3 * check + 6:
            await asyncio.gather(old.check(), new.check())
            await asyncio.sleep(0.2)
        took = time.monotonic() - started
        assert not old.is_leader, "the frozen leader stepped down (stops sending)"
        assert new.is_leader, f"the follower took over within {took:.1f} s"
        assert old_events.log == ["gained", "lost"] and new_events.log == ["gained"]
    finally:
        await old.stop()
        await new.stop()
        await proxy.close()


HANDOVER_PROC = Path(__file__).with_name("handover_proc.py")
HANDOVER_MEMBERS = 600
HANDOVER_TRIALS = 6


async def _handover_setup(url: str) -> int:
    """600 cadres with a weekly duty open and a nudge schedule (created now: nothing to catch up)."""
    conn = await _connect(url)
    try:
        org = await conn.fetchval(
            "INSERT INTO org (name, kind, created_at) VALUES ('第一支部', 'branch', now()) RETURNING id"
        )
        await conn.executemany(
            "INSERT INTO member (telegram_id, name, org_id, role, active, unreachable, admin_by_setting,"
            " created_at) VALUES ($1, $2, $3, 'cadre', true, false, false, now())",
            [(700_000 + i, f"党员{i}", org) for i in range(HANDOVER_MEMBERS)],
        )
        await conn.execute(
            "INSERT INTO target (name, category, count, period, role, scope, active, created_at)"
            " VALUES ('理论学习', 'study', 1, 'week', 'cadre', 'member', true, now())"
        )
        return await conn.fetchval(
            "INSERT INTO schedule (rule_text, cron, timezone, kind, holiday_policy, paused, created_at)"
            " VALUES ('每周五10:00', '0 10 * * 5', 'Asia/Shanghai', 'nudge', 'skip', false, now()) RETURNING id"
        )
    finally:
        await conn.close()


def _chats(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


async def _terminate_lock_holder(url: str) -> int:
    """Kill the leader's lock connection (as a network cut or a PostgreSQL restart would); its
    process still believes it leads until its next check."""
    from bot.leader import SCHEDULER_LOCK_KEY

    conn = await _connect(url)
    try:
        return len(
            await conn.fetch(
                "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                " WHERE d.datname = current_database() AND l.locktype = 'advisory' AND l.granted"
                " AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid"
                " AND l.objsubid = 1",
                SCHEDULER_LOCK_KEY,
            )
        )
    finally:
        await conn.close()


async def _until(check, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_hand_overs_mid_run_between_two_bot_processes_complete_every_run_once(
    pg_url: str, tmp_path: Path
) -> None:
    """Two real bot processes; in each trial a run of 600 nudges starts on the leader, whose lock
    connection is killed once it sent 150: the other takes over while the former one may still
    believe it leads. Every run completes (0 pending), every member is nudged exactly once per run,
    and the claims of the two leadership terms never interleave (fencing)."""
    schedule_id = await _handover_setup(pg_url)
    outs = {name: tmp_path / f"sent-{name}.txt" for name in ("a", "b")}
    logs = contextlib.ExitStack()
    replicas = {
        name: Replica(
            pg_url,
            name,
            0,
            "",
            args=[sys.executable, str(HANDOVER_PROC), pg_url, name, str(outs[name])],
            stderr=logs.enter_context((tmp_path / f"replica-{name}.log").open("w")),
        )
        for name in ("a", "b")
    }
    conn = await _connect(pg_url)
    hand_overs = 0
    try:

        async def one_leads() -> bool:
            return any(x.startswith("leader ") for r in replicas.values() for x in r.drain())

        await _until(one_leads, 90, "one of the replicas leads")
        for trial in range(HANDOVER_TRIALS):
            leader = max(
                replicas.values(),
                key=lambda r: max(
                    (int(x.split()[2]) for x in r.drain() if x.startswith("leader ")), default=0
                ),
            )
            before = {name: len(_chats(path)) for name, path in outs.items()}
            run_id = await conn.fetchval(
                "INSERT INTO schedulerun (schedule_id, fire_time, status, started_at)"
                " VALUES ($1, now() - make_interval(secs => $2), 'pending', now()) RETURNING id",
                schedule_id,
                float(trial + 1),
            )

            async def started(name: str = leader.name, seen: int = before[leader.name]) -> bool:
                return len(_chats(outs[name])) - seen >= 150

            await _until(started, 30, f"trial {trial}: the leader {leader.name} started the run")
            assert await _terminate_lock_holder(pg_url) == 1

            async def finished(run: int = run_id) -> bool:
                return await conn.fetchval(
                    "SELECT count(*) FROM schedulerun WHERE id = $1 AND status = 'done'", run
                ) == 1 and not await conn.fetchval(
                    "SELECT count(*) FROM delivery WHERE run_id = $1 AND status IN ('pending', 'claimed')",
                    run,
                )

            await _until(finished, 60, f"trial {trial}: the run completed with nothing pending")
            received = collections.Counter(c for path in outs.values() for c in _chats(path))
            assert set(received.values()) == {trial + 1}, f"trial {trial}: everyone once per run"
            assert len(received) == HANDOVER_MEMBERS
            terms = await conn.fetch(
                "SELECT generation, min(claimed_at) AS first, max(claimed_at) AS last, count(*) AS n"
                " FROM delivery WHERE run_id = $1 GROUP BY generation ORDER BY generation",
                run_id,
            )
            assert all(t["generation"] is not None for t in terms)
            assert sum(t["n"] for t in terms) == HANDOVER_MEMBERS
            for earlier, later in itertools.pairwise(terms):
                assert earlier["last"] < later["first"], f"trial {trial}: two terms claimed at once"
            hand_overs += len(terms) > 1
    except AssertionError as failure:
        for name in replicas:
            failure.add_note(f"replica {name}: {(tmp_path / f'replica-{name}.log').read_text()[-3000:]}")
        raise
    finally:
        await conn.close()
        for replica in replicas.values():
            replica.stop()
        logs.close()
    assert hand_overs >= HANDOVER_TRIALS // 2, "the runs were really handed over mid-way"
