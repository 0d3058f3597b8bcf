"""Fresh databases for the deployment tests (each test gets its own, so revisions can differ)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.leader import connect_asyncpg
from storage.db import in_thread

PG_URL = os.environ.get("TEST_DATABASE_URL")
needs_postgres = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set TEST_DATABASE_URL (CI does)")


async def _pg_admin(sql: str) -> None:
    conn = await connect_asyncpg(PG_URL or "")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """An empty PostgreSQL database (no tables), dropped afterwards."""
    name = f"dutybot_deploy_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    in_thread(asyncio.run, _pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL or "").set(database=name).render_as_string(hide_password=False)
    finally:
        in_thread(asyncio.run, _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / f'empty-{uuid.uuid4().hex[:6]}.sqlite3'}"
    else:
        with fresh_pg_database() as url:
            yield url


BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=needs_postgres),
]
