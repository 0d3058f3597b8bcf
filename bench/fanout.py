"""Nudge fan-out: one run to 10,000 members through the outbox, against a fake Bot API that enforces
Telegram's limits (about 30 messages/s overall, 1/s per chat) and answers 429 with retry_after
when they are exceeded.

The whole path is real: a nudge schedule and a weekly target over a SQLite (or PostgreSQL) database,
planning through the target status service, Delivery rows claimed one by one before each send,
PTB's Bot and the Telegram notifier. Only Telegram is fake (with a simulated network latency).
`--speedup S` multiplies every limit and the configured cap by S so the run takes under a minute.

    .venv/bin/python bench/fanout.py                      # 10,000 members, cap 25/s, speedup 10
    .venv/bin/python bench/fanout.py --members 2000 --speedup 1

Last line: fanout: <n> msg/s = <p>% of cap, 429s <a>, duplicates <b>, lost <c>
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telegram import Bot  # noqa: E402
from telegram.request import RequestData  # noqa: E402

from bot.clock import FakeClock  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.outbox import Outbox, Pacer  # noqa: E402
from bot.services import Services  # noqa: E402
from handlers.memory_api import MemoryBotAPI  # noqa: E402
from handlers.notifier import TelegramNotifier  # noqa: E402
from storage import orgs  # noqa: E402
from storage import schedules as repo  # noqa: E402
from storage.db import upgrade_sync  # noqa: E402
from storage.models import Member, Target  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
FIRE = dt.datetime(2026, 11, 27, 16, 0, tzinfo=TZ)
FIRST_CHAT = 1_000_000


class LimitedBotAPI(MemoryBotAPI):
    """Answers like Telegram, including 429 when more than `overall` messages arrive within one
    `window` seconds or two reach one chat less than `per_chat` seconds apart."""

    def __init__(self, *, overall: int, window: float, per_chat: float, latency: float) -> None:
        super().__init__()
        self.overall, self.window, self.per_chat, self.latency = overall, window, per_chat, latency
        self.recent: collections.deque[float] = collections.deque()
        self.last_in_chat: dict[int, float] = {}
        self.received: collections.Counter[int] = collections.Counter()
        self.too_many = 0
        self.first = self.last = 0.0

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None, **kw: Any):  # type: ignore[no-untyped-def, override]
        if not url.endswith("/sendMessage"):
            return await super().do_request(url, method, request_data, **kw)
        await asyncio.sleep(self.latency / 2)  # the request travels
        now = time.monotonic()
        chat = int(request_data.parameters["chat_id"]) if request_data else 0
        while self.recent and self.recent[0] <= now - self.window:
            self.recent.popleft()
        if len(self.recent) >= self.overall or now - self.last_in_chat.get(chat, -1e9) < self.per_chat:
            self.too_many += 1
            body = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1"}
            body["parameters"] = {"retry_after": 1}
            await asyncio.sleep(self.latency / 2)
            return 429, json.dumps(body).encode()
        self.recent.append(now)
        self.last_in_chat[chat] = now
        self.received[chat] += 1
        self.first = self.first or now
        self.last = now
        answer = await super().do_request(url, method, request_data, **kw)
        await asyncio.sleep(self.latency / 2)  # the answer travels back
        return answer


async def populate(services: Services, members: int) -> int:
    async with services.session() as session:
        committee = await orgs.create_org(session=session, name="第一党委")
        branch = await orgs.create_org(session=session, name="第一支部", parent=committee)
        for start in range(0, members, 2000):
            session.add_all(
                Member(telegram_id=FIRST_CHAT + i, name=f"党员{i}", org_id=branch.id)  # type: ignore[arg-type]
                for i in range(start, min(start + 2000, members))
            )
            await session.flush()
        session.add(
            Target(name="理论学习", category="study", count=1, period="week", role="cadre", scope="member")
        )
        schedule = await repo.add_schedule(
            session=session,
            rule_text="每周五 16:00",
            cron="0 16 * * 5",
            timezone="Asia/Shanghai",
            kind="nudge",
            holiday_policy="previous",
        )
    return schedule.id  # type: ignore[return-value]


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/fanout.sqlite3"
        await asyncio.to_thread(upgrade_sync, url)
        cap = args.rate * args.speedup
        settings = Settings(_env_file=None, database_url=url, send_rate_per_second=cap)
        services = Services(settings, FakeClock(FIRE + dt.timedelta(minutes=1)))
        await services.open(migrate=False)
        try:
            started = time.perf_counter()
            schedule_id = await populate(services, args.members)
            print(f"seeded {args.members} members in {time.perf_counter() - started:.1f} s")
            api = LimitedBotAPI(
                overall=round(30 * args.speedup),
                window=1.0,
                per_chat=1.0 / args.speedup,
                latency=args.latency,
            )
            bot = Bot("123:BENCH", request=api, get_updates_request=MemoryBotAPI())
            await bot.initialize()
            # The default catch-up of 4 slots is 0.16 s at 25/s; scaled time keeps it 0.16 s.
            pacer = Pacer(
                cap, per_chat=1.0 / args.speedup, burst=round(Pacer(args.rate).burst * args.speedup)
            )
            box = Outbox(services, TelegramNotifier(bot), pacer=pacer)
            started = time.perf_counter()
            report = await box.run(schedule_id, FIRE)
            total = time.perf_counter() - started
            await bot.shutdown()
        finally:
            await services.close()
    delivered = sum(api.received.values())
    duplicates = sum(n - 1 for n in api.received.values() if n > 1)
    lost = args.members - len(api.received)
    span = max(api.last - api.first, 1e-9)
    rate = (delivered - 1) / span if delivered > 1 else 0.0
    print(
        f"run {total:.1f} s including planning; sending {span:.1f} s; outcomes {report.counts if report else None}"
    )
    print(
        f"limits x{args.speedup:g}: Telegram {30 * args.speedup:g}/s overall, 1 per {1 / args.speedup:.3f} s per chat; "
        f"configured cap {cap:g}/s ({args.rate:g}/s unscaled); latency {args.latency * 1000:.0f} ms"
    )
    print(f"real-time equivalent: {rate / args.speedup:.1f} msg/s against a cap of {args.rate:g}/s")
    print(
        f"fanout: {rate:.1f} msg/s = {100 * rate / cap:.1f}% of cap, 429s {api.too_many}, "
        f"duplicates {duplicates}, lost {lost}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument(
        "--rate", type=float, default=25.0, help="configured send cap, messages/s (SEND_RATE_PER_SECOND)"
    )
    ap.add_argument("--speedup", type=float, default=10.0, help="scale every limit by this factor")
    ap.add_argument("--latency", type=float, default=0.05, help="simulated round trip to Telegram, seconds")
    ap.add_argument("--database-url", help="default: a temporary SQLite file")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
