"""Backups: SQLite's online backup API for the embedded database, `pg_dump` for PostgreSQL.

The backup API copies a consistent snapshot while the bot keeps running (WAL included). Restoring
over a database that a running bot has open is refused unless forced. For PostgreSQL, `backup` and
`restore` are for the SQLite file; `scheduled_backup` (the nightly job and the backup before every
migration) runs `pg_dump --format=custom`, restored with `pg_restore` (see the README). Scheduled
backups keep the newest BACKUP_KEEP files of their kind and delete older ones.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

PG_BACKUP_HINT = (
    "this is a PostgreSQL database: back up with pg_dump and restore with pg_restore, e.g. "
    "`pg_dump --format=custom --file=dutybot.dump postgresql://USER@HOST/DB` (README: Backups)"
)


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, for the command line."""


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(PG_BACKUP_HINT)
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("only a SQLite database file can be backed up")
    return Path(url.database)


def default_backup_path(database: Path, now: dt.datetime | None = None) -> Path:
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
    return database.parent / "backups" / f"{database.stem}-{stamp}.sqlite3"


def _copy(source: sqlite3.Connection, target_path: Path, *, single_file: bool = False) -> None:
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)
        if single_file:
            # A backup is one self-contained file: no -wal/-shm companions.
            target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()


def _check_file(path: Path) -> None:
    """A readable, intact SQLite database made by dutybot (it has alembic's version table)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{path} is damaged (integrity check failed)")
            if (
                conn.execute("SELECT name FROM sqlite_master WHERE name = 'alembic_version'").fetchone()
                is None
            ):
                raise BackupError(f"{path} is not a dutybot database")
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a SQLite database ({error})") from error


def backup(database_url: str, destination: Path | None = None) -> Path:
    """Write a consistent copy of the database to `destination` (atomically) and return its path."""
    database = sqlite_path(database_url)
    if not database.exists():
        raise BackupError(f"no database at {database}")
    destination = destination or default_backup_path(database)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        _copy(source, partial, single_file=True)
    finally:
        source.close()
    _check_file(partial)
    os.replace(partial, destination)
    return destination


def in_use(database: Path) -> bool:
    """Whether another connection (a running bot) has the database open.

    A WAL database cannot be locked exclusively while any other connection is open, even an idle one.
    """
    if not database.exists():
        return False
    conn = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("ROLLBACK")
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()
    return False


def restore(database_url: str, source: Path, *, force: bool = False) -> Path:
    """Replace the database with the backup at `source`; refuse while a bot has it open unless forced."""
    database = sqlite_path(database_url)
    if not source.exists():
        raise BackupError(f"no backup at {source}")
    _check_file(source)
    if not force and in_use(database):
        raise BackupError(f"{database} is in use by a running bot: stop it first, or pass --force")
    database.parent.mkdir(parents=True, exist_ok=True)
    backup_conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        _copy(backup_conn, database)
    finally:
        backup_conn.close()
    with contextlib.suppress(OSError):
        os.utime(database)
    return database


def backup_directory(database_url: str, configured: Path | None) -> Path:
    """Where scheduled backups go: BACKUP_DIR, else `backups/` beside the SQLite file (data/backups)."""
    if configured is not None:
        return configured
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent / "backups"
    return Path("data") / "backups"


def _pg_dump(database_url: str, destination: Path) -> Path:
    import shutil
    import subprocess

    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump is not installed (apt-get install postgresql-client)")
    url = make_url(database_url)
    partial = destination.with_name(destination.name + ".partial")
    env = {**os.environ, "PGPASSWORD": str(url.password or "")}
    args = [pg_dump, "--format=custom", f"--file={partial}", f"--host={url.host or '127.0.0.1'}"]
    args += [f"--port={url.port or 5432}", f"--username={url.username or 'postgres'}", str(url.database)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {done.stderr.strip()[:300]}")
    os.replace(partial, destination)
    return destination


def scheduled_backup(database_url: str, directory: Path, *, kind: str, keep: int, now: dt.datetime) -> Path:
    """A backup named `<kind>-<time>` in `directory` (SQLite copy or pg_dump), then the retention."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")
    if make_url(database_url).get_backend_name() == "postgresql":
        made = _pg_dump(database_url, directory / f"{kind}-{stamp}.dump")
    else:
        made = backup(database_url, directory / f"{kind}-{stamp}.sqlite3")
    prune(directory, kind=kind, keep=keep)
    return made


def prune(directory: Path, *, kind: str, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups of this kind; the ones deleted."""
    found = sorted(p for p in directory.glob(f"{kind}-*") if not p.name.endswith(".partial"))
    old = found[: max(len(found) - keep, 0)]
    for path in old:
        path.unlink(missing_ok=True)
    return old
