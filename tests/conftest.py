"""Shared fixtures: a real database per test (SQLite always, PostgreSQL when TEST_DATABASE_URL
is set) and a harness around the real Application over the in-memory Bot API."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

from bot.clock import FakeClock  # noqa: E402
from bot.config import Settings  # noqa: E402
from storage.db import in_thread, upgrade_sync  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
# Friday 2026-11-27 10:15 in Beijing: the reference time of most tests.
DEFAULT_NOW = dt.datetime(2026, 11, 27, 10, 15, tzinfo=TZ)
ADMIN_ID = 1


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    upgrade_sync(f"sqlite+aiosqlite:///{path}")
    return path


async def _pg_admin(url: str, sql: str) -> None:
    import asyncpg

    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        user=u.username or "postgres",
        password=u.password,
        database=u.database or "postgres",
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated once, dropped at the end."""
    base = os.environ["TEST_DATABASE_URL"]
    name = f"dutybot_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    in_thread(asyncio.run, _pg_admin(base, f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    upgrade_sync(url)
    yield url
    in_thread(asyncio.run, _pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _pg_truncate(url: str) -> None:
    import asyncpg

    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, database=u.database
    )
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"
        )
        if tables:
            names = ", ".join(f'"{t["tablename"]}"' for t in tables)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(params=_backends())
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty, migrated database for one test."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copy(template, path)
        yield f"sqlite+aiosqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_database")
        await _pg_truncate(url)
        yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(DEFAULT_NOW, TZ)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        telegram_bot_token=None,
        database_url=database_url,
        timezone="Asia/Shanghai",
        admin_telegram_ids=[ADMIN_ID],
    )


@pytest.fixture
async def harness(settings: Settings, clock: FakeClock):  # type: ignore[no-untyped-def]
    """The real Application with every handler, a fake clock and an empty database."""
    from bot.services import Services
    from handlers.app import build_application, start_services, stop_services
    from handlers.memory_api import MemoryBotAPI
    from helpers import Harness

    api = MemoryBotAPI()
    app = build_application(Services(settings, clock), request=api, rate_limiter=None)
    h = Harness(app, api, clock)

    async def record_error(update: object, context) -> None:  # type: ignore[no-untyped-def]
        h.errors.append(context.error)

    app.add_error_handler(record_error)
    async with app:
        await start_services(app, migrate=False)
        try:
            yield h
        finally:
            await stop_services(app)
    h.fail_on_errors()
