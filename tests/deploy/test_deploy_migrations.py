"""Migrations: from an empty database and from every earlier revision to head, with no drift,
on SQLite and PostgreSQL; `dutybot db upgrade|check` on the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from deploy_support import BACKENDS, empty_database

from bot.cli import main
from bot.dbcommands import check_database
from storage.db import alembic_config, in_thread, upgrade_sync

# Oldest first; the list grows by itself when a migration is added.
REVISIONS = [
    s.revision
    for s in reversed(list(ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()))
]
HEAD = REVISIONS[-1]


def check(url: str) -> list[str]:
    return in_thread(asyncio.run, check_database(url))


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_empty_database_is_reported_then_upgraded_to_head_without_drift(
    backend: str, tmp_path: Path
) -> None:
    with empty_database(backend, tmp_path) as url:
        problems = check(url)
        assert len(problems) == 1 and "empty" in problems[0] and "dutybot db upgrade" in problems[0]
        upgrade_sync(url)
        assert check(url) == []


@pytest.mark.parametrize("revision", REVISIONS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_from_every_revision_reaches_head_without_drift(
    backend: str, revision: str, tmp_path: Path
) -> None:
    with empty_database(backend, tmp_path) as url:
        upgrade_sync(url, revision)
        if revision != HEAD:
            assert any("migrations head" in p for p in check(url)), "an old database is not at head"
        upgrade_sync(url)
        assert check(url) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_downgrade_to_base_and_upgrade_again(backend: str, tmp_path: Path) -> None:
    with empty_database(backend, tmp_path) as url:
        upgrade_sync(url)
        in_thread(command.downgrade, alembic_config(url), "base")
        assert "empty" in check(url)[0]
        upgrade_sync(url)
        assert check(url) == []


def test_drift_between_models_and_database_is_reported(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'drift.sqlite3'}"
    upgrade_sync(url)
    import sqlite3

    conn = sqlite3.connect(tmp_path / "drift.sqlite3")
    conn.execute("CREATE TABLE stray (id INTEGER PRIMARY KEY)")
    conn.execute("DROP INDEX ix_record_org_date")
    conn.commit()
    conn.close()
    problems = check(url)
    assert any("stray" in p for p in problems)
    assert any("ix_record_org_date" in p for p in problems)


def test_db_commands_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}")
    assert main(["db", "check"]) == 1
    assert "dutybot db upgrade" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "check"]) == 0
    assert "ok: database at head" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_replicas_migrating_at_the_same_moment_all_start(backend: str, tmp_path: Path) -> None:
    """Three processes run `dutybot db upgrade` on one empty database at once: one migrates, the
    others wait for it and find nothing to do; none fails."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    with empty_database(backend, tmp_path) as url:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": url}
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "bot", "db", "upgrade"],
                cwd=root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(3)
        ]
        outputs = [p.communicate(timeout=120)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], outputs
        assert check(url) == []
