"""aiosqlite with fewer trips to its worker thread.

aiosqlite runs every call on the sqlite3 connection in a worker thread and hands the result back
through the event loop. SQLAlchemy's adapter makes four such trips per statement that returns rows
(cursor, execute, fetchall, close) and three per other statement, and the pool adds a ROLLBACK
when a connection is returned even after a COMMIT. Each trip costs a thread wake-up both ways,
which is most of the cost of a small transaction.

This connection runs a statement and fetches all its rows in one trip (SQLAlchemy's adapter
buffers every row anyway), skips COMMIT and ROLLBACK when SQLite says no transaction is open, and
sends BEGIN in the same trip as the transaction's first statement: a small unit of work costs two
trips instead of seven. `transaction()` runs a whole transaction in one trip; the check-in INSERT
(storage.records.insert_for_member) uses it.

Plugged in through SQLAlchemy's documented `async_creator_fn` connect argument, so the dialect,
the URL handling and the pool stay SQLAlchemy's own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar, cast

import aiosqlite

T = TypeVar("T")
# The parameters SQLAlchemy passes with a statement: a sequence (qmark style) or a mapping (named).
Parameters: TypeAlias = Sequence[Any] | Mapping[str, Any]


class BufferedCursor(aiosqlite.Cursor):
    """A cursor whose execute runs the statement and fetches every row in one trip."""

    _conn: FewTripsConnection  # set by aiosqlite.Cursor.__init__ from the argument

    def __init__(self, conn: FewTripsConnection) -> None:
        super().__init__(conn, None)  # type: ignore[arg-type]  # no sqlite3 cursor: each execute opens one in the thread
        self._rows: list[Any] = []
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> BufferedCursor:
        conn = self._conn

        def run() -> tuple[list[Any], Any, int, int | None]:
            cursor = conn._conn.cursor()
            try:
                cursor.execute(sql, () if parameters is None else cast("Parameters", parameters))
                rows = cursor.fetchall() if cursor.description else []
                return rows, cursor.description, cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        self._rows, self._description, self._rowcount, self._lastrowid = await conn._execute(run)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> BufferedCursor:
        conn = self._conn

        def run() -> tuple[int, int | None]:
            cursor = conn._conn.cursor()
            try:
                cursor.executemany(sql, cast("Iterable[Parameters]", parameters))
                return cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        self._rows, self._description = [], None
        self._rowcount, self._lastrowid = await conn._execute(run)
        return self

    async def executescript(self, sql_script: str) -> BufferedCursor:
        conn = self._conn

        def run() -> None:
            conn._conn.executescript(sql_script).close()

        await conn._execute(run)
        self._rows, self._description, self._rowcount, self._lastrowid = [], None, -1, None
        return self

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        size = self.arraysize if size is None else size
        taken, self._rows = self._rows[:size], self._rows[size:]
        return taken

    async def fetchall(self) -> Sequence[Any]:
        taken, self._rows = self._rows, []
        return taken

    async def close(self) -> None:
        self._rows = []

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._lastrowid

    @property
    def description(self) -> Any:
        return self._description

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:  # SQLAlchemy sets it; rows are buffered anyway
        pass


class FewTripsConnection(aiosqlite.Connection):
    """An aiosqlite connection that knows, without a trip, whether a transaction is open, and
    sends BEGIN with the transaction's first statement."""

    _open_transaction = False
    _begin: str | None = None

    def begin_with_next_statement(self, statement: str = "BEGIN IMMEDIATE") -> None:
        """Open a transaction in the same trip as the next statement (no trip of its own)."""
        self._begin = statement

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        begin, self._begin = self._begin, None

        def run() -> Any:
            try:
                if begin is not None:
                    self._conn.execute(begin).close()
                return fn(*args, **kwargs)
            finally:
                # Read in the worker thread, before the result reaches the event loop.
                self._open_transaction = _in_transaction(self._connection)

        return await super()._execute(run)

    async def transaction(self, fn: Callable[[sqlite3.Connection], T], begin: str = "BEGIN IMMEDIATE") -> T:
        """Run `fn` on the sqlite3 connection in a transaction of its own, committed (or rolled
        back when `fn` raises) in the same single trip to the worker thread."""
        if self._open_transaction or self._begin is not None:
            raise RuntimeError("a transaction is already open on this connection")

        def run(conn: sqlite3.Connection) -> T:
            conn.execute(begin).close()
            try:
                result = fn(conn)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
            return result

        return await self._execute(lambda: run(self._conn))

    @aiosqlite.context.contextmanager
    async def cursor(self) -> aiosqlite.Cursor:  # a BufferedCursor (aiosqlite's Result is invariant)
        return BufferedCursor(self)

    async def commit(self) -> None:
        self._begin = None  # a transaction that ran no statement has nothing to commit
        if self._open_transaction:
            await super().commit()

    async def rollback(self) -> None:
        self._begin = None
        if self._open_transaction:
            await super().rollback()

    async def close(self) -> None:
        self._begin = None
        await super().close()


def _in_transaction(connection: sqlite3.Connection | None) -> bool:
    try:
        return connection is not None and connection.in_transaction
    except sqlite3.ProgrammingError:  # closed
        return False


def connect(database: str, **kwargs: Any) -> FewTripsConnection:
    """`aiosqlite.connect` with a FewTripsConnection (same arguments as sqlite3.connect)."""

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(database, **kwargs)

    connection = FewTripsConnection(connector, 64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own connections
    return connection
