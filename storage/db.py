"""The async engine, session factory and migrations."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, cast

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from storage import sqlite_driver
from storage.text import clean_parameters

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Errors after which the same work may succeed when tried again (the database unreachable for now).
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


# SQLSTATEs of a server that is going away, starting up or full: connection exceptions (08…),
# admin/crash shutdown and "cannot connect now" (57P01-57P03), too many connections (53300).
TRANSIENT_SQLSTATES = {"08000", "08001", "08003", "08004", "08006", "57P01", "57P02", "57P03", "53300"}


def _sqlstate(error: BaseException | None) -> str | None:
    for candidate in (error, getattr(error, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def is_transient(error: BaseException) -> bool:
    """Whether `error` is a passing failure of the database or the network (worth a retry)."""
    if isinstance(error, DBAPIError) and (
        error.connection_invalidated or _sqlstate(error.orig) in TRANSIENT_SQLSTATES
    ):
        return True
    return isinstance(error, TRANSIENT_ERRORS) or _sqlstate(error) in TRANSIENT_SQLSTATES


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the engine; for SQLite turn on WAL and make every transaction BEGIN IMMEDIATE.

    SQLite read-then-write transactions can fail with SQLITE_BUSY whatever the busy timeout is;
    taking the write lock at BEGIN makes them wait instead (SQLAlchemy's documented recipe).
    """
    if not is_sqlite(url):
        engine = create_async_engine(
            url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True
        )
        event.listen(engine.sync_engine, "before_cursor_execute", clean_parameters, retval=True)
        return engine

    _prepare_sqlite_file(url)
    # Connections come from storage.sqlite_driver: aiosqlite with fewer trips to its thread.
    engine = create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,
        connect_args={"timeout": 30, "async_creator_fn": sqlite_driver.connect},
    )

    event.listen(engine.sync_engine, "before_cursor_execute", clean_parameters, retval=True)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The busy timeout first: switching a new file to WAL needs its lock, which another
        # process (a replica migrating at the same moment) may hold.
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Sent by the driver in the same trip to its thread as the transaction's first statement.
        # Read-only units (READ_ONLY options) take no write lock: in WAL mode they read a snapshot
        # while check-ins go on writing.
        read_only = conn.get_execution_options().get("read_only", False)
        driver = cast(sqlite_driver.FewTripsConnection, conn.connection.driver_connection)
        driver.begin_with_next_statement("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


# Execution options of units that only read: SQLite takes no write lock for them, PostgreSQL runs
# them READ ONLY (so a write slipped into one fails in the PostgreSQL test run instead of racing).
READ_ONLY = {"read_only": True, "postgresql_readonly": True}


def create_sessionmaker(engine: AsyncEngine, *, read_only: bool = False) -> async_sessionmaker[AsyncSession]:
    bind = engine.execution_options(**READ_ONLY) if read_only else engine
    return async_sessionmaker(bind, class_=AsyncSession, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Run alembic upgrade (blocking; alembic's env.py drives the async engine itself)."""
    from alembic import command

    if is_sqlite(url):
        _prepare_sqlite_file(url)
    in_thread(command.upgrade, alembic_config(url), revision)


def in_thread(fn: Callable[[*Ts], T], *args: *Ts) -> T:
    """Call a blocking function that runs its own event loop, even from inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


async def needs_upgrade(url: str) -> bool:
    """Whether an existing dutybot database is behind the newest migration (SQLite or PostgreSQL)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    if is_sqlite(url):
        database = make_url(url).database
        if not database or database == ":memory:" or not await asyncio.to_thread(Path(database).exists):
            return False
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:

            def current(sync_connection: Connection) -> str | bool | None:
                if not inspect(sync_connection).has_table("alembic_version"):
                    return False
                return MigrationContext.configure(sync_connection).get_current_revision()

            found = await connection.run_sync(current)
    finally:
        await engine.dispose()
    if found is False:
        return False
    return found != ScriptDirectory.from_config(alembic_config(url)).get_current_head()


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate from a running event loop: alembic runs its own loop, so use a worker thread."""
    await asyncio.to_thread(upgrade_sync, url, revision)


def lock_key(name: str) -> int:
    """A stable 62-bit PostgreSQL advisory lock key for a name."""
    return int.from_bytes(hashlib.sha256(f"dutybot:{name}".encode()).digest()[:8], "big") >> 2


async def serialize(session: AsyncSession, name: str) -> None:
    """Make the rest of this transaction run one at a time across processes, keyed by `name` (for
    check-then-insert work such as seeding defaults). PostgreSQL: a transaction-scoped advisory
    lock; SQLite: nothing to do, every transaction already holds the write lock (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})


@asynccontextmanager
async def session_scope(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on error."""
    async with sessionmaker() as session, session.begin():
        yield session
