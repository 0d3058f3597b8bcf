"""Benchmark the batched target status service at the digest's and nudges' scale.

Run: .venv/bin/python tests/targets/bench_targets_status.py [--members 10000] [--orgs 1000] [--records 1000000]
Builds a throw-away SQLite database (or DATABASE_URL), then times statuses_for_orgs over every org,
members_statuses over every member, and one branch. Prints figures; the last line is a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from bot import targets  # noqa: E402
from storage.db import create_engine, create_sessionmaker, session_scope, upgrade  # noqa: E402
from storage.models import DutyRecord, Member, Org  # noqa: E402

ON = dt.date(2026, 11, 27)
KEYWORDS = [
    ("org_life", "支委会"),
    ("org_life", "支部委员会"),
    ("org_life", "党课"),
    ("org_life", "主题党日"),
    ("org_life", "党小组会"),
    ("org_life", "党员大会"),
    ("talk", "谈心"),
    ("study", "学习"),
    ("inspect", "检查"),
]


async def build(url: str, n_members: int, n_orgs: int, n_records: int) -> None:
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    rnd = random.Random(7)
    async with session_scope(maker) as session:
        await session.execute(
            insert(Org), [{"id": 1, "name": "党委", "kind": "committee", "parent_id": None}]
        )
        generals = max(1, n_orgs // 10)
        rows = [
            {"id": 2 + g, "name": f"总支{g}", "kind": "general_branch", "parent_id": 1}
            for g in range(generals)
        ]
        first_branch = 2 + generals
        branches = n_orgs - 1 - generals
        rows += [
            {"id": first_branch + b, "name": f"支部{b}", "kind": "branch", "parent_id": 2 + b % generals}
            for b in range(branches)
        ]
        await session.execute(insert(Org), rows)
        members = []
        for i in range(n_members):
            org_id = first_branch + i % branches
            role = "secretary" if i < branches else "cadre"
            members.append(
                {"id": i + 1, "telegram_id": 10_000 + i, "name": f"m{i}", "org_id": org_id, "role": role}
            )
        await session.execute(insert(Member), members)
    start_day = dt.date(2025, 1, 1)
    span = (ON - start_day).days
    batch = 50_000
    for offset in range(0, n_records, batch):
        records = []
        for j in range(offset, min(offset + batch, n_records)):
            m = members[rnd.randrange(n_members)]
            category, keyword = KEYWORDS[rnd.randrange(len(KEYWORDS))]
            records.append(
                {
                    "member_id": m["id"],
                    "org_id": m["org_id"],
                    "category": category,
                    "keyword": keyword,
                    "date": start_day + dt.timedelta(days=rnd.randrange(span + 1)),
                    "chat_id": m["telegram_id"],
                    "message_id": j,
                    "activity_index": 0,
                    "source_text": "",
                }
            )
        async with session_scope(maker) as session:
            await session.execute(insert(DutyRecord), records)
    async with session_scope(maker) as session:
        await targets.seed_defaults(session=session)
        if url.startswith("sqlite"):
            await session.execute(text("ANALYZE"))
    await engine.dispose()


async def measure(url: str) -> dict[str, float]:
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    out: dict[str, float] = {}
    async with session_scope(maker) as session:
        org_ids = list((await session.execute(select(Org.id))).scalars())
        members = list((await session.execute(select(Member))).scalars())
        branch = await session.get(Org, org_ids[-1])
        for name, call in (
            ("orgs", lambda: targets.statuses_for_orgs(session=session, org_ids=org_ids, on=ON)),
            ("members", lambda: targets.members_statuses(session=session, members=members, on=ON)),
            ("branch", lambda: targets.org_statuses(session=session, org=branch, on=ON)),
            ("member", lambda: targets.member_statuses(session=session, member=members[0], on=ON)),
        ):
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                result = await call()
                best = min(best, time.perf_counter() - t0)
            out[name] = best
            size = len(result)
            print(f"{name:8s} {size:6d} subjects  best of 3: {best * 1000:8.1f} ms")
    await engine.dispose()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--orgs", type=int, default=1_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        await upgrade(url)
        t0 = time.perf_counter()
        await build(url, args.members, args.orgs, args.records)
        print(
            f"built {args.orgs} orgs, {args.members} members, {args.records} records in {time.perf_counter() - t0:.1f} s"
        )
        r = await measure(url)
    print(
        f"target statuses: all orgs {r['orgs'] * 1000:.0f} ms · all members {r['members'] * 1000:.0f} ms · "
        f"one branch {r['branch'] * 1000:.1f} ms · one member {r['member'] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
