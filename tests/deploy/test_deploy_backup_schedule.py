"""Scheduled backups: the leader backs up every night and keeps the newest BACKUP_KEEP, a database
that is about to be migrated is backed up first, and the backups restore (a drill: SQLite copy and
PostgreSQL's pg_dump both put back exactly what was there)."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from deploy_support import fresh_pg_database, needs_postgres
from sqlalchemy import select

from bot.backup import restore, scheduled_backup
from bot.clock import FakeClock
from bot.config import Settings
from bot.services import Services
from storage import orgs
from storage.db import in_thread, upgrade_sync
from storage.models import Org

NOW = dt.datetime(2026, 11, 27, 3, 30, tzinfo=dt.UTC)


def _settings(url: str, backups: Path, **extra: object) -> Settings:
    return Settings(_env_file=None, database_url=url, backup_dir=backups, **extra)  # type: ignore[arg-type]


async def _add_orgs(services: Services, *names: str) -> None:
    async with services.session() as session:
        for name in names:
            await orgs.create_org(session=session, name=name)


async def _org_names(services: Services) -> list[str]:
    async with services.session() as session:
        return sorted((await session.execute(select(Org.name))).scalars())


def test_the_nightly_job_is_on_the_leaders_schedule(harness) -> None:  # type: ignore[no-untyped-def]
    names = {job.name for job in harness.app.job_queue.jobs()}
    assert "backup:nightly" in names
    (job,) = [j for j in harness.app.job_queue.jobs() if j.name == "backup:nightly"]
    fire = job.job.trigger.get_next_fire_time(None, harness.clock.now()).astimezone(harness.clock.tz)
    assert (fire.hour, fire.minute) == (3, 30)


async def test_nightly_backups_keep_the_newest_and_restore_what_was_there(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    upgrade_sync(url)
    clock = FakeClock(NOW)
    services = Services(_settings(url, tmp_path / "backups", backup_keep=3), clock)
    await services.open(migrate=False)
    try:
        await _add_orgs(services, "第一党委")
        for night in range(5):
            clock.set(NOW + dt.timedelta(days=night))
            await services.backup()
        kept = sorted((tmp_path / "backups").glob("nightly-*"))
        assert [p.name[8:16] for p in kept] == ["20261129", "20261130", "20261201"], "the newest three"
        await _add_orgs(services, "后来的党委")
    finally:
        await services.close()
    restore(url, kept[-1])
    services = Services(_settings(url, tmp_path / "backups"), clock)
    await services.open(migrate=False)
    try:
        assert await _org_names(services) == ["第一党委"]
    finally:
        await services.close()


async def test_a_database_behind_the_newest_migration_is_backed_up_before_it_is_migrated(
    tmp_path: Path,
) -> None:
    from alembic import command

    from storage.db import alembic_config

    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    upgrade_sync(url)
    in_thread(command.downgrade, alembic_config(url), "base")
    services = Services(_settings(url, tmp_path / "backups"), FakeClock(NOW))
    await services.open(migrate=True)
    await services.close()
    assert len(list((tmp_path / "backups").glob("pre-migration-*.sqlite3"))) == 1
    services = Services(_settings(url, tmp_path / "backups"), FakeClock(NOW))
    await services.open(migrate=True)  # at the newest migration now: nothing to back up
    await services.close()
    assert len(list((tmp_path / "backups").glob("pre-migration-*"))) == 1


@needs_postgres
@pytest.mark.skipif(shutil.which("pg_restore") is None, reason="needs pg_dump/pg_restore (postgresql-client)")
async def test_postgresql_backups_are_pg_dump_files_that_restore(tmp_path: Path) -> None:
    with fresh_pg_database() as url:
        await asyncio.to_thread(upgrade_sync, url)
        services = Services(_settings(url, tmp_path / "backups"), FakeClock(NOW))
        await services.open(migrate=False)
        try:
            await _add_orgs(services, "第一党委", "第二党委")
            dump = await asyncio.to_thread(
                scheduled_backup, url, tmp_path / "backups", kind="nightly", keep=2, now=NOW
            )
            async with services.session() as session:
                await session.execute(Org.__table__.delete())  # type: ignore[attr-defined]
        finally:
            await services.close()
        from sqlalchemy.engine import make_url

        u = make_url(url)
        done = await asyncio.to_thread(
            subprocess.run,
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                f"--host={u.host}",
                f"--port={u.port or 5432}",
                f"--username={u.username}",
                f"--dbname={u.database}",
                str(dump),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        services = Services(_settings(url, tmp_path / "backups"), FakeClock(NOW))
        await services.open(migrate=False)
        try:
            assert await _org_names(services) == ["第一党委", "第二党委"]
        finally:
            await services.close()
