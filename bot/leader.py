"""Leadership: decides whether this process runs the scheduler.

The default grants leadership at once (one process, SQLite). With PostgreSQL several replicas may
run; `AdvisoryLockLeadership` elects one of them with `pg_try_advisory_lock` on a dedicated
connection held for the process lifetime, re-checked periodically, so that when the leader dies
(its connection closes and PostgreSQL releases the lock) a follower takes over.

Features that must run in exactly one process (the scheduler) subscribe with
`on_change(gained, lost)`; both are async callables.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from storage.db import lock_key

log = logging.getLogger(__name__)

Callback = Callable[[], Awaitable[None]]

# One lock per database: advisory locks are scoped to the current database.
SCHEDULER_LOCK_KEY = lock_key("scheduler")


class Leadership:
    def __init__(self) -> None:
        self.is_leader = False
        self._gained: list[Callback] = []
        self._lost: list[Callback] = []

    @property
    def role(self) -> str:
        return "leader" if self.is_leader else "follower"

    def on_change(self, gained: Callback, lost: Callback) -> None:
        self._gained.append(gained)
        self._lost.append(lost)

    async def start(self) -> None:
        """Become leader (the single-process default)."""
        await self._gain()

    async def stop(self) -> None:
        await self._lose()

    async def _gain(self) -> None:
        if self.is_leader:
            return
        self.is_leader = True
        log.info("leadership gained", extra={"role": "leader"})
        for callback in self._gained:
            await callback()

    async def _lose(self) -> None:
        if not self.is_leader:
            return
        self.is_leader = False
        log.info("leadership lost", extra={"role": "follower"})
        for callback in self._lost:
            await callback()


class AdvisoryLockLeadership(Leadership):
    """Leader election over a PostgreSQL session-level advisory lock.

    The lock lives as long as the dedicated connection: a killed leader loses it as soon as
    PostgreSQL notices the closed socket. Every `check_seconds` the leader verifies that its
    connection still holds the lock (stepping down if not) and a follower tries to take it.

    A frozen connection (a hung proxy, a network partition) cannot keep a leader leading: every
    check must answer within `check_seconds` (a statement timeout on the server, a deadline here)
    or the leader steps down at once and drops the connection; the server ends a lock session
    that has been silent for 3 × `check_seconds` (`idle_session_timeout`, which a healthy leader's
    checks never reach), so a follower takes the lock over within that time even when the old
    leader's packets vanish; TCP keepalives find a dead peer under the proxy too.
    """

    def __init__(
        self, database_url: str, *, check_seconds: float = 10.0, key: int = SCHEDULER_LOCK_KEY
    ) -> None:
        super().__init__()
        self.database_url = database_url
        self.check_seconds = check_seconds
        self.key = key
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def adopt(cls, current: Leadership, database_url: str, *, check_seconds: float) -> AdvisoryLockLeadership:
        """Replace `current`, keeping the callbacks already subscribed to it."""
        elected = cls(database_url, check_seconds=check_seconds)
        elected._gained = current._gained
        elected._lost = current._lost
        return elected

    async def start(self) -> None:
        """Try once now (so a lone process leads at once), then keep checking in the background."""
        await self.check()
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="leadership")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._lose()
        await self._close()

    async def check(self) -> None:
        """One election round: keep, take or give up the lock."""
        try:
            async with asyncio.timeout(self.check_seconds):
                held = await self._holds_lock() if self.is_leader else await self._try_lock()
        except (Exception, TimeoutError) as error:  # connection lost or frozen, database restarting, …
            log.warning(
                "leadership check failed", extra={"error": type(error).__name__, "detail": str(error)[:200]}
            )
            await self._close()
            held = False
        if held:
            await self._gain()
        else:
            await self._lose()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.check_seconds)
            try:
                await self.check()
            except Exception:  # a failing callback must not end the elections
                log.exception("leadership change callback failed")

    async def _connect(self) -> Any:
        if self._conn is None or self._conn.is_closed():
            silent_ms = int(self.check_seconds * 3 * 1000)
            self._conn = await connect_asyncpg(
                self.database_url,
                timeout=max(self.check_seconds, 1.0),
                server_settings={
                    "application_name": "dutybot-leader",
                    "statement_timeout": str(int(self.check_seconds * 1000)),
                    "idle_session_timeout": str(max(silent_ms, 1000)),
                    "tcp_keepalives_idle": str(max(int(self.check_seconds), 1)),
                    "tcp_keepalives_interval": str(max(int(self.check_seconds), 1)),
                    "tcp_keepalives_count": "3",
                },
            )
            _keepalive(self._conn, self.check_seconds)
        return self._conn

    async def _try_lock(self) -> bool:
        conn = await self._connect()
        return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key))

    async def _holds_lock(self) -> bool:
        conn = await self._connect()
        count = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND pid = pg_backend_pid() AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid"
            " AND objsubid = 1",
            self.key,
        )
        return bool(count)

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), timeout=min(self.check_seconds, 5.0))
            except (Exception, TimeoutError):
                conn.terminate()  # a frozen connection: drop the socket without a goodbye


def _keepalive(conn: Any, seconds: float) -> None:
    """TCP keepalives on the client side of the lock connection (asyncpg has no option for them)."""
    import socket

    sock = conn._transport.get_extra_info("socket") if getattr(conn, "_transport", None) else None
    if sock is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, max(int(seconds), 1))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(int(seconds), 1))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)


async def connect_asyncpg(database_url: str, **options: Any) -> Any:
    """A plain asyncpg connection (not pooled) to the database of a SQLAlchemy URL."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    return await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
        **options,
    )


def elect(current: Leadership, database_url: str, *, check_seconds: float) -> Leadership:
    """The leadership for a database: elected with PostgreSQL, the single-process default otherwise."""
    from sqlalchemy.engine import make_url

    if make_url(database_url).get_backend_name() == "postgresql":
        if isinstance(current, AdvisoryLockLeadership):
            return current
        return AdvisoryLockLeadership.adopt(current, database_url, check_seconds=check_seconds)
    return current
