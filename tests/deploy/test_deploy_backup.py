"""`dutybot backup` / `dutybot restore` for SQLite: a round trip brings the data back, and a
database a running bot has open is not overwritten unless forced."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.backup import BackupError, backup, in_use, restore
from bot.cli import main
from storage.db import upgrade_sync


def _org_names(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT name FROM org ORDER BY id")]
    finally:
        conn.close()


def _add_org(path: Path, name: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO org (name, kind, created_at) VALUES (?, 'branch', '2026-11-27 00:00:00')", (name,)
    )
    conn.commit()
    conn.close()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "dutybot.sqlite3"
    upgrade_sync(f"sqlite+aiosqlite:///{path}")
    _add_org(path, "第一支部")
    return path


def test_round_trip_restores_exactly_what_was_backed_up(database: Path, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{database}"
    copy = backup(url, tmp_path / "b.sqlite3")
    assert copy.exists() and not Path(f"{copy}-wal").exists(), "a backup is one self-contained file"
    _add_org(database, "第二支部")
    assert _org_names(database) == ["第一支部", "第二支部"]

    restore(url, copy)
    assert _org_names(database) == ["第一支部"]


def test_backup_while_the_bot_holds_the_database_open_with_uncommitted_wal(
    database: Path, tmp_path: Path
) -> None:
    running = sqlite3.connect(database)
    running.execute("PRAGMA journal_mode=WAL")
    running.execute("INSERT INTO org (name, kind, created_at) VALUES ('第三支部', 'branch', '2026-11-27')")
    running.commit()  # committed into the WAL, not yet checkpointed
    try:
        copy = backup(f"sqlite+aiosqlite:///{database}", tmp_path / "live.sqlite3")
    finally:
        running.close()
    assert _org_names(copy) == ["第一支部", "第三支部"]


def test_restore_refuses_a_database_in_use_unless_forced(database: Path, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{database}"
    copy = backup(url, tmp_path / "b.sqlite3")
    _add_org(database, "第二支部")
    running = sqlite3.connect(database)
    running.execute("PRAGMA journal_mode=WAL")
    running.execute("SELECT count(*) FROM org").fetchone()
    try:
        assert in_use(database)
        with pytest.raises(BackupError, match="--force"):
            restore(url, copy)
        assert _org_names(database) == ["第一支部", "第二支部"], "nothing was overwritten"
        restore(url, copy, force=True)
    finally:
        running.close()
    assert not in_use(database)
    assert _org_names(database) == ["第一支部"]


def test_restore_refuses_a_file_that_is_not_a_dutybot_backup(database: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(BackupError, match="not a SQLite database"):
        restore(f"sqlite+aiosqlite:///{database}", junk)
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (a)").connection.close()
    with pytest.raises(BackupError, match="not a dutybot database"):
        restore(f"sqlite+aiosqlite:///{database}", other)
    assert _org_names(database) == ["第一支部"]


def test_postgresql_is_pointed_to_pg_dump() -> None:
    with pytest.raises(BackupError, match="pg_dump"):
        backup("postgresql+asyncpg://u@localhost/db")


def test_backup_and_restore_commands(
    database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    assert main(["backup"]) == 0
    written = capsys.readouterr().out
    backups = list((database.parent / "backups").glob("dutybot-*.sqlite3"))
    assert len(backups) == 1 and str(backups[0]) in written
    _add_org(database, "第二支部")
    assert main(["restore", str(backups[0])]) == 0
    assert _org_names(database) == ["第一支部"]
    assert main(["restore", str(tmp_path / "missing.sqlite3")]) == 2
    assert "no backup" in capsys.readouterr().out
