"""Roster import: a generated tree of 1,000 orgs and a roster of 10,000 members as one .xlsx,
imported through the real reader, planner and applier (as `dutybot import` and the bot do).

Dry run (read the file, compare with the database) and apply (read again, plan and write in one
transaction) are timed on SQLite (a file under /tmp) and, when TEST_DATABASE_URL is set, on
PostgreSQL too (a throw-away database). A second apply of the same file must change nothing.
Peak resident memory of this process is reported against the limit in DESIGN.md.

    .venv/bin/python bench/import.py [--orgs 1000 --members 10000]

Last line: `import: dry run X s, apply Y s, rows Z, changed on re-import 0`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import openpyxl  # noqa: E402
from support import pg_admin  # noqa: E402

from bot.roster_file import read_roster  # noqa: E402
from bot.roster_import import apply_import, plan_import  # noqa: E402
from storage.db import create_engine, create_sessionmaker, session_scope, upgrade_sync  # noqa: E402

MEMORY_LIMIT_MB = 250  # DESIGN.md: resident set with jieba loaded and 10,000 members
HEADER = ["组织", "上级组织", "类型", "姓名", "手机号", "身份", "入党日期", "备注"]


def generate(orgs: int, members: int) -> tuple[bytes, int]:
    """A workbook: committees, each with general branches, each with branches (names repeat under
    different parents, so parents are written as paths), then the members spread over branches."""
    committees = max(1, orgs // 100)
    generals = max(1, (orgs - committees) // (committees * 11))
    per_general = max(1, (orgs - committees - committees * generals) // (committees * generals))
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("花名册")
    sheet.append(HEADER)
    branches: list[str] = []
    rows = 0
    for c in range(committees):
        committee = f"第{c + 1}党委"
        sheet.append([committee, "", "党委", "", "", "", "", ""])
        for g in range(generals):
            general = f"第{g + 1}党总支"
            sheet.append([general, committee, "党总支", "", "", "", "", ""])
            for b in range(per_general):
                sheet.append([f"第{b + 1}支部", f"{committee}/{general}", "党支部", "", "", "", "", ""])
                branches.append(f"{committee}/{general}/第{b + 1}支部")
        rows += 1 + generals * (1 + per_general)
    for i in range(members):
        role = "书记" if i % 11 == 0 else "党员"
        joined = dt.date(1990 + i % 30, 1 + i % 12, 1 + i % 28)
        sheet.append(
            [branches[i % len(branches)], "", "", f"党员{i:05d}", f"13{i:09d}", role, joined, "备注"]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), rows + members


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(url: str, data: bytes) -> tuple[float, float, int, int, int]:
    """(dry run s, apply s, rows, changed by the first apply, changed on re-import)."""
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        roster = await asyncio.to_thread(read_roster, data, "花名册.xlsx")
        async with session_scope(create_sessionmaker(engine)) as session:
            plan = await plan_import(session=session, roster=roster)
        dry = time.perf_counter() - started
        assert not plan.bad, plan.bad[:3]
        del roster, plan  # as in the bot: the dry run and the apply are two updates

        started = time.perf_counter()
        roster = await asyncio.to_thread(read_roster, data, "花名册.xlsx")
        async with session_scope(create_sessionmaker(engine)) as session:
            first = await apply_import(
                session=session, roster=roster, actor=None, now=dt.datetime.now(dt.UTC)
            )
        applied = time.perf_counter() - started
        del roster

        roster = await asyncio.to_thread(read_roster, data, "花名册.xlsx")
        async with session_scope(create_sessionmaker(engine)) as session:
            second = await apply_import(
                session=session, roster=roster, actor=None, now=dt.datetime.now(dt.UTC)
            )
    finally:
        await engine.dispose()
    return dry, applied, second.plan.rows, first.plan.changed, second.plan.changed


async def pg_database(base: str) -> str:
    """A throw-away PostgreSQL database, migrated (dropped by `drop_pg`)."""
    from sqlalchemy.engine import make_url

    name = f"dutybot_bench_{uuid.uuid4().hex[:8]}"
    await pg_admin(base, f'CREATE DATABASE "{name}"')
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade_sync, url)
    return url


async def drop_pg(base: str, url: str) -> None:
    from sqlalchemy.engine import make_url

    await pg_admin(base, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def _line(label: str, figures: tuple[float, float, int, int, int]) -> str:
    dry, applied, rows, changed, again = figures
    return f"{label}: dry run {dry:.2f} s, apply {applied:.2f} s, rows {rows:,}, applied {changed:,}, re-import {again}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orgs", type=int, default=1000)
    ap.add_argument("--members", type=int, default=10_000)
    args = ap.parse_args()

    started = time.perf_counter()
    data, rows = generate(args.orgs, args.members)
    print(
        f"generated {rows:,} rows ({len(data) / 1024:.0f} KB xlsx) in {time.perf_counter() - started:.1f} s"
    )
    base = os.environ.get("TEST_DATABASE_URL")
    results = []
    with tempfile.TemporaryDirectory(prefix="dutybot_bench_import_", dir="/tmp") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'import.sqlite3'}"
        upgrade_sync(url)  # migrations (alembic) before the measurement: the bot has them done
        pg_url = asyncio.run(pg_database(base)) if base else None
        before = rss_mb()
        sqlite = asyncio.run(run(url, data))
        print(_line("sqlite", sqlite))
        results.append(sqlite)
        if base and pg_url:
            try:
                pg = asyncio.run(run(pg_url, data))
            finally:
                asyncio.run(drop_pg(base, pg_url))
            print(_line("postgresql", pg))
            results.append(pg)
    peak = rss_mb()
    print(
        f"memory: the import adds {peak - before:.0f} MB at its peak (this process {before:.0f} -> {peak:.0f} MB; "
        f"the bot's limit {MEMORY_LIMIT_MB} MB with jieba and 10,000 members, bench/memory.py)"
    )
    dry = max(r[0] for r in results)
    applied = max(r[1] for r in results)
    again = max(r[4] for r in results)
    print(
        f"import: dry run {dry:.1f} s, apply {applied:.1f} s, rows {sqlite[2]:,}, changed on re-import {again}"
    )
    ok = dry <= 10 and applied <= 10 and again == 0 and peak <= MEMORY_LIMIT_MB
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
