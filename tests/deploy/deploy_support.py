"""Fresh databases for the deployment tests (each test gets its own, so revisions can differ), and
a Bot API stand-in over HTTP for real bot processes."""

from __future__ import annotations

import asyncio
import http.server
import itertools
import json
import os
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


class FakeTelegram:
    """A Bot API stand-in over real HTTP on loopback, for a real `dutybot run` process
    (TELEGRAM_API_BASE_URL=`url`). It holds a queue of updates and keeps Telegram's getUpdates
    contract: a call with `offset` confirms (forgets) every update below it and returns the next
    ones, at most `limit`; `confirmed` is the highest offset seen. Replies are kept per chat."""

    def __init__(self, updates: list[dict[str, Any]]) -> None:
        self.updates = updates
        self.confirmed = 0
        self.offsets: list[int] = []
        self.replies: dict[int, list[str]] = {}
        self.lock = threading.Lock()
        self._message_ids = itertools.count(1)
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeTelegram:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def replied(self) -> set[int]:
        with self.lock:
            return set(self.replies)

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": 1, "is_bot": True, "first_name": "党建助手", "username": "dutybot_test_bot"}
        if method == "getUpdates":
            offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 100)
            with self.lock:
                self.offsets.append(offset)
                self.confirmed = max(self.confirmed, offset)
                batch = [u for u in self.updates if u["update_id"] >= self.confirmed][:limit]
            if not batch:
                time.sleep(min(float(params.get("timeout") or 0), 0.2))
            return batch
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            with self.lock:
                self.replies.setdefault(chat_id, []).append(str(params.get("text", "")))
            return {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": str(params.get("text", "")),
            }
        return True

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: _value(v[-1]) for k, v in urllib.parse.parse_qs(raw).items()}
                body = json.dumps({"ok": True, "result": fake.answer(self.path.rsplit("/", 1)[-1], params)})
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
