"""Check-in ingest through `Application.process_update` into SQLite: throughput and latency.

Each check-in is a full pass: the flood guard, member lookup, parsing, one write transaction for the
records, the card sent (to the in-memory Bot API, so no network), and the card's id remembered.
Updates are processed one after another, as PTB does by default.

    .venv/bin/python bench/ingest.py [--count 3000] [--members 200]

Last line: `ingest: <n> check-ins/s, p50 <a> ms, p99 <b> ms`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import private_text, sqlite_app

MESSAGES = [
    "今天下午组织支部党员开展主题党日活动，参加{n}人，时长2小时",
    "上午对第一、第二支部开展党建督查，发现问题{n}个；下午约谈第二支部书记",
    "昨天与第三支部{n}名党员开展谈心谈话",
    "参加党委理论学习中心组专题学习，时长1.5小时",
    "主持召开党委会，专题研究部署年度党建工作考核",
    "督办上次巡察反馈问题整改，已整改到位{n}项",
    "组织{n}名党员到社区开展志愿服务",
    "到第二支部调研党建工作，座谈{n}人",
    "周一组织全体党员观看警示教育片，参加{n}人",
    "召开支委会研究发展党员工作，到会{n}人",
]


async def run(count: int, members: int) -> tuple[float, float, list[float]]:
    from storage import orgs

    async with sqlite_app(flood_max_messages=count + 1) as (app, api):
        async with app.bot_data.session() as session:
            org = await orgs.create_org(session=session, name="基准党委")
            for uid in range(1, members + 1):
                await orgs.create_member(
                    session=session, telegram_id=10_000 + uid, name=f"党员{uid}", org=org
                )
        now = int(app.bot_data.clock.now().timestamp())

        def update(i: int):  # type: ignore[no-untyped-def]
            text = MESSAGES[i % len(MESSAGES)].format(n=3 + i % 40)
            return private_text(app, i + 1, 10_000 + 1 + i % members, text, now)

        warmup = min(200, count // 10)
        for i in range(warmup):
            await app.process_update(update(count + i))
        updates = [update(i) for i in range(count)]
        api.calls.clear()
        latencies: list[float] = []
        gc.collect()
        started = time.perf_counter()
        cpu_started = time.process_time()
        for u in updates:
            t0 = time.perf_counter()
            await app.process_update(u)
            latencies.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        cards = len(api.sent("sendMessage"))
    if cards != count:
        raise SystemExit(f"expected {count} cards, got {cards}")
    return elapsed, cpu, latencies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--members", type=int, default=200)
    args = ap.parse_args()
    from handlers.console import run_until_done

    elapsed, cpu, latencies = run_until_done(run(args.count, args.members))
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    rate = args.count / elapsed
    print(f"{args.count} check-ins from {args.members} members in {elapsed:.2f} s ({dt.date.today()})")
    print(f"mean {statistics.fmean(latencies):.2f} ms, max {latencies[-1]:.2f} ms")
    # CPU seconds of this process (both threads): what the rate would be with the cores to itself.
    print(f"cpu {cpu / args.count * 1000:.2f} ms per check-in ({args.count / cpu:.0f}/s of CPU time)")
    print(f"ingest: {rate:.0f} check-ins/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms")


if __name__ == "__main__":
    main()
