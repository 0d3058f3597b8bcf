"""Load on the webhook endpoint: N simulated users post check-ins over loopback HTTP to a bot
process on PostgreSQL; throughput, latency, and whether every check-in sent was stored.

The bot runs in its own process (the real Application and webhook server; the Bot API it calls
is the in-memory one, so nothing leaves the machine). This process is the load generator: each user
posts its check-ins one after another, the users concurrently, every request waiting for the
webhook's answer (given only after the update was processed and stored).

    TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \
        .venv/bin/python bench/load.py [--users 50] [--per-user 20] [--timeout 120]

A throw-away database is created next to the one named and dropped at the end.
Last line: `load: <n> updates/s, p99 <a> ms, stored <s> of <t>`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret"
FIRST_USER = 700_000
# Each of these is one activity (one record) for the packaged rules.
MESSAGES = [
    "今天下午组织支部党员开展主题党日活动，参加{n}人，时长2小时",
    "昨天与第三支部{n}名党员开展谈心谈话",
    "参加党委理论学习中心组专题学习，时长1.5小时",
    "组织{n}名党员到社区开展志愿服务",
    "到第二支部调研党建工作，座谈{n}人",
    "召开支委会研究发展党员工作，到会{n}人",
]


def _settings(database_url: str):  # type: ignore[no-untyped-def]
    from bot.config import Settings

    return Settings(
        _env_file=None,
        telegram_bot_token="1:BENCH",
        database_url=database_url,
        flood_max_messages=1_000_000,
        log_level="WARNING",
    )


# --- the bot process ---------------------------------------------------------------------------


async def serve(database_url: str) -> None:
    """Run the webhook server until stdin closes; print its port."""
    from bot.logs import configure_logging
    from bot.services import Services
    from handlers.app import build_application, start_services, stop_services
    from handlers.memory_api import MemoryBotAPI
    from handlers.webhook import HttpServer

    settings = _settings(database_url)
    configure_logging(settings)
    app = build_application(Services(settings), request=MemoryBotAPI(), rate_limiter=None)
    async with app:
        await start_services(app, migrate=False)
        server = HttpServer(app, webhook_path="/telegram", secret=SECRET)
        port = await server.start("127.0.0.1", 0)
        print(f"PORT {port}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await server.stop()
        await stop_services(app)


# --- the load generator ------------------------------------------------------------------------


async def _admin(base_url: str, sql: str) -> None:
    from bot.leader import connect_asyncpg

    conn = await connect_asyncpg(base_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _seed(database_url: str, users: int) -> None:
    from bot.services import Services
    from storage import orgs

    services = Services(_settings(database_url))
    await services.open(migrate=True)
    try:
        async with services.session() as session:
            org = await orgs.create_org(session=session, name="压测党委")
            for i in range(users):
                await orgs.create_member(
                    session=session, telegram_id=FIRST_USER + i, name=f"党员{i}", org=org
                )
    finally:
        await services.leadership.stop()
        await services.close()


async def _stored(database_url: str) -> int:
    from sqlalchemy import text

    from storage.db import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = text(
                "SELECT count(DISTINCT (chat_id, message_id)) FROM dutyrecord WHERE chat_id >= :first"
            )
            return (await conn.execute(query, {"first": FIRST_USER})).scalar_one()
    finally:
        await engine.dispose()


def _update(user: int, seq: int, when: int) -> dict:
    uid = FIRST_USER + user
    message = {
        "message_id": seq + 1,
        "date": when,
        "chat": {"id": uid, "type": "private", "first_name": "党员"},
        "from": {"id": uid, "is_bot": False, "first_name": "党员"},
        "text": MESSAGES[(user + seq) % len(MESSAGES)].format(n=3 + (user * 7 + seq) % 30),
    }
    return {"update_id": user * 100_000 + seq + 1, "message": message}


class _Connection:
    """A keep-alive HTTP/1.1 connection on asyncio streams: far less client CPU than a full
    HTTP library, so the figures measure the bot rather than the load generator."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line, *headers = (await self.reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        length = next(int(h.split(":")[1]) for h in headers if h.lower().startswith("content-length:"))
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError):
                await self.writer.wait_closed()


async def _drive(port: int, users: int, seqs: range) -> tuple[float, list[float], int]:
    """Every user posts check-ins numbered `seqs`, one after another; the users concurrently."""
    latencies: list[float] = []
    failures = 0
    when = int(time.time())

    async def user(u: int) -> None:
        nonlocal failures
        connection = _Connection(port)
        try:
            for seq in seqs:
                body = json.dumps(_update(u, seq, when), ensure_ascii=False).encode()
                t0 = time.perf_counter()
                status = await connection.post("/telegram", body)
                latencies.append((time.perf_counter() - t0) * 1000)
                failures += status != 200
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(user(u) for u in range(users)))
    return time.perf_counter() - started, latencies, failures


async def run(base_url: str, users: int, per_user: int, limit_seconds: float) -> None:
    from sqlalchemy.engine import make_url

    name = f"dutybot_load_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await _admin(base_url, f'CREATE DATABASE "{name}"')
    database_url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    child = None
    try:
        await _seed(database_url, users)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--serve",
            database_url,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert child.stdout is not None and child.stdin is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
        if not line.startswith(b"PORT "):
            raise SystemExit(f"the bot process did not start: {line!r}")
        port = int(line.split()[1])
        # Warm-up: one check-in per user, not measured.
        await _drive(port, users, range(1))
        async with asyncio.timeout(limit_seconds):
            elapsed, latencies, failures = await _drive(port, users, range(1, per_user + 1))
        stored = await _stored(database_url) - users
        sent = users * per_user
        latencies.sort()
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            f"{sent} check-ins from {users} users over loopback HTTP in {elapsed:.2f} s ({dt.date.today()})"
        )
        print(f"p50 {p50:.1f} ms, max {latencies[-1]:.1f} ms, non-200 answers {failures}")
        print(f"load: {sent / elapsed:.0f} updates/s, p99 {p99:.1f} ms, stored {stored} of {sent}")
    finally:
        if child is not None:
            with contextlib.suppress(Exception):
                child.stdin.close()  # type: ignore[union-attr]
                await asyncio.wait_for(child.wait(), timeout=30)
            if child.returncode is None:
                child.kill()
                await child.wait()
        await _admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--per-user", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds before the run is abandoned")
    ap.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    ap.add_argument("--serve", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return
    if not args.database_url or not args.database_url.startswith("postgresql"):
        raise SystemExit("needs PostgreSQL: --database-url or TEST_DATABASE_URL=postgresql+asyncpg://...")
    asyncio.run(run(args.database_url, args.users, min(args.per_user, 10_000), args.timeout))


if __name__ == "__main__":
    main()
