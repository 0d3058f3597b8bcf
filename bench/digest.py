"""Digest benchmark: an org tree of 10,000 members and 1,000,000 records over two years.

Times the weekly digest (figures, rendering and chart, as a scheduled digest sends it) for the
whole tree and for one branch, then adds two more years of older history (2,000,000 records)
and times again: the cost should follow the period's records, not the history.

    .venv/bin/python bench/digest.py [--members 10000] [--records 1000000] [--keep]

Runs on SQLite (a file under /tmp) and, when TEST_DATABASE_URL is set, on PostgreSQL too (a
throw-away database). Last line: `digest: tree <a> s, branch <b> ms, history x2 -> tree x<r>`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.digest import build_digest, org_scope, weekly_digest
from bot.periods_parse import last_full_week
from bot.readiness import readiness
from bot.targets import default_targets
from handlers.render_digest import digest_message, readiness_parts
from storage.db import create_engine, create_sessionmaker, session_scope, upgrade_sync

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 27, 10, 15, tzinfo=TZ)  # a Friday: the digest covers 11-16 .. 11-22
GENERAL_BRANCHES = 10
BRANCHES = 1000
CHUNK = 50_000
FORMS = {
    "deploy": ["部署", "推进会"],
    "oversee": ["督办", "过问"],
    "study": ["学习", "理论学习中心组"],
    "org_life": ["支委会", "党小组会", "党员大会", "党课", "主题党日"],
    "talk": ["谈心谈话"],
    "criticize": ["批评教育"],
    "interview": ["约谈"],
    "inspect": ["督查", "检查"],
    "research": ["调研"],
    "service": ["志愿服务"],
}
CATEGORY_WEIGHTS = [8, 4, 20, 30, 15, 2, 2, 8, 6, 5]


def _tree(members: int) -> tuple[list[tuple], list[tuple]]:
    """Org rows (id, name, parent_id, kind) and member rows (id, telegram_id, name, org_id, role)."""
    orgs = [(1, "第一党委", None, "committee")]
    for g in range(GENERAL_BRANCHES):
        orgs.append((2 + g, f"第{g + 1}党总支", 1, "general_branch"))
    first_branch = 2 + GENERAL_BRANCHES
    for b in range(BRANCHES):
        orgs.append((first_branch + b, f"第{b + 1}党支部", 2 + b % GENERAL_BRANCHES, "branch"))
    people = []
    upper = 20 + GENERAL_BRANCHES * 3  # a few people at the committee and general-branch levels
    for i in range(members):
        if i < 20:
            org_id = 1
        elif i < upper:
            org_id = 2 + (i - 20) % GENERAL_BRANCHES
        else:
            org_id = first_branch + (i - upper) % BRANCHES
        # the first person of each org is its secretary
        secretary = i == 0 or 20 <= i < 20 + GENERAL_BRANCHES or upper <= i < upper + BRANCHES
        role = "secretary" if secretary else "cadre"
        people.append((i + 1, 100_000 + i, f"党员{i + 1:05d}", org_id, role))
    return orgs, people


def _records(people: list[tuple], count: int, first_day: dt.date, days: int, seed: int, start_id: int):
    """Record rows in chunks, spread evenly over `days` days from `first_day`."""
    rng = random.Random(seed)
    codes = list(FORMS)
    created = "2026-01-01 00:00:00.000000"
    batch = []
    for n in range(count):
        member_id, _, _, org_id, _ = people[rng.randrange(len(people))]
        category = rng.choices(codes, CATEGORY_WEIGHTS)[0]
        keyword = rng.choice(FORMS[category])
        day = first_day + dt.timedelta(days=n * days // count)
        found = rng.randrange(5) if category == "inspect" else None
        fixed = min(found, rng.randrange(5)) if found is not None else None
        rid = start_id + n
        batch.append(
            (
                rid,
                member_id,
                org_id,
                category,
                keyword,
                day.isoformat(),
                rng.randrange(3, 30),
                rng.choice((30, 60, 90, 120)),
                found,
                fixed,
                f"{keyword}（{day}）",
                member_id,
                rid,
                0,
                created,
                created,
            )
        )
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


RECORD_COLUMNS = (
    "id, member_id, org_id, category, keyword, date, participants, duration_min, issues_found, "
    "issues_fixed, source_text, chat_id, message_id, activity_index, created_at, updated_at"
)


def _targets_rows() -> list[tuple]:
    return [
        (
            i + 1,
            t["name"],
            t["category"],
            t["form"],
            t["count"],
            t["period"],
            t["org_kind"],
            t["role"],
            t["scope"],
        )
        for i, t in enumerate(default_targets())
    ]


def build_sqlite(path: Path, members: int, records: int) -> tuple[list[tuple], float]:
    url = f"sqlite+aiosqlite:///{path}"
    upgrade_sync(url)
    started = time.perf_counter()
    orgs, people = _tree(members)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    con.executemany(
        "INSERT INTO org (id, name, parent_id, kind, created_at) VALUES (?, ?, ?, ?, '2026-01-01')", orgs
    )
    con.executemany(
        "INSERT INTO member (id, telegram_id, name, org_id, role, active, unreachable, created_at) "
        "VALUES (?, ?, ?, ?, ?, 1, 0, '2025-01-01 00:00:00.000000')",
        people,
    )
    con.executemany(
        "INSERT INTO target (id, name, category, form, count, period, org_kind, role, scope, active, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, '2026-01-01')",
        _targets_rows(),
    )
    placeholders = ", ".join("?" * 16)
    first_day = NOW.date() - dt.timedelta(days=730)
    for batch in _records(people, records, first_day, 730, seed=1, start_id=1):
        con.execute("BEGIN")
        con.executemany(f"INSERT INTO dutyrecord ({RECORD_COLUMNS}) VALUES ({placeholders})", batch)
        con.execute("COMMIT")
    con.execute("ANALYZE")
    con.close()
    return people, time.perf_counter() - started


def add_history_sqlite(path: Path, people: list[tuple], records: int) -> float:
    """Two more years of older records (ids after the existing ones)."""
    started = time.perf_counter()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    first_day = NOW.date() - dt.timedelta(days=1460)
    placeholders = ", ".join("?" * 16)
    for batch in _records(people, records, first_day, 730, seed=2, start_id=records + 1):
        con.execute("BEGIN")
        con.executemany(f"INSERT INTO dutyrecord ({RECORD_COLUMNS}) VALUES ({placeholders})", batch)
        con.execute("COMMIT")
    con.execute("ANALYZE")
    con.close()
    return time.perf_counter() - started


async def _pg_copy(
    url: str, people: list[tuple] | None, records: int, *, older: bool, members: int
) -> list[tuple]:
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    con = await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, database=u.database
    )
    try:
        created = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        if people is None:
            orgs, people = _tree(members)
            await con.copy_records_to_table(
                "org",
                records=[(*o, created) for o in orgs],
                columns=["id", "name", "parent_id", "kind", "created_at"],
            )
            await con.copy_records_to_table(
                "member",
                records=[(*p, True, False, dt.datetime(2025, 1, 1, tzinfo=dt.UTC)) for p in people],
                columns=[
                    "id",
                    "telegram_id",
                    "name",
                    "org_id",
                    "role",
                    "active",
                    "unreachable",
                    "created_at",
                ],
            )
            await con.copy_records_to_table(
                "target",
                records=[(*t, True, created) for t in _targets_rows()],
                columns=[
                    "id",
                    "name",
                    "category",
                    "form",
                    "count",
                    "period",
                    "org_kind",
                    "role",
                    "scope",
                    "active",
                    "created_at",
                ],
            )
        first_day = NOW.date() - dt.timedelta(days=1460 if older else 730)
        columns = [c.strip() for c in RECORD_COLUMNS.split(",")]
        for batch in _records(
            people, records, first_day, 730, seed=2 if older else 1, start_id=records + 1 if older else 1
        ):
            rows = [(*r[:5], dt.date.fromisoformat(r[5]), *r[6:14], created, created) for r in batch]
            await con.copy_records_to_table("dutyrecord", records=rows, columns=columns)
        await con.execute("ANALYZE")
    finally:
        await con.close()
    return people


async def time_digests(url: str, branch_id: int, repeat: int = 5) -> dict[str, float]:
    """Median seconds (after a warm-up) of the weekly digest for the whole tree and one branch:
    figures and text (`tree`, `branch`), and the whole message with its chart (`*_chart`)."""
    engine = create_engine(url)
    maker = create_sessionmaker(engine)

    async def once(org_id: int, chart: bool) -> float:
        started = time.perf_counter()
        async with session_scope(maker) as session:
            if chart:
                digest_message(await weekly_digest(session=session, org_id=org_id, now=NOW))
            else:
                scope = await org_scope(session=session, org_id=org_id)
                report = await build_digest(
                    session=session,
                    scope=scope,
                    period=last_full_week(NOW.date()),
                    today=NOW.date(),
                    chart=False,
                )
                digest_message(report)
        return time.perf_counter() - started

    out: dict[str, float] = {}
    try:
        for name, org_id in (("tree", 1), ("branch", branch_id)):
            for chart in (False, True):
                await once(org_id, chart)
                out[name + ("_chart" if chart else "")] = statistics.median(
                    [await once(org_id, chart) for _ in range(repeat)]
                )
    finally:
        await engine.dispose()
    return out


async def time_readiness(url: str, branch_id: int) -> tuple[float, float]:
    """Seconds of /readiness for the current year (whole tree, one branch), one run each."""
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    out = []
    try:
        for org_id in (1, branch_id):
            started = time.perf_counter()
            async with session_scope(maker) as session:
                scope = await org_scope(session=session, org_id=org_id)
                readiness_parts(
                    await readiness(session=session, scope=scope, year=NOW.year, today=NOW.date())
                )
            out.append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    return out[0], out[1]


async def _pg_admin(url: str, sql: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    con = await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, database=u.database
    )
    try:
        await con.execute(sql)
    finally:
        await con.close()


async def run_pg(
    base: str, members: int, records: int, branch_id: int
) -> tuple[dict[str, float], dict[str, float]]:
    from sqlalchemy.engine import make_url

    name = f"dutybot_bench_{uuid.uuid4().hex[:8]}"
    await _pg_admin(base, f'CREATE DATABASE "{name}"')
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade_sync, url)
        started = time.perf_counter()
        people = await _pg_copy(url, None, records, older=False, members=members)
        print(
            f"postgresql: built {members} members, {records} records in {time.perf_counter() - started:.1f} s"
        )
        first = await time_digests(url, branch_id)
        await _pg_copy(url, people, records, older=True, members=members)
        second = await time_digests(url, branch_id)
    finally:
        await _pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return first, second


def _figures(label: str, t: dict[str, float]) -> str:
    return (
        f"{label}: weekly digest, figures and text: whole tree {t['tree']:.3f} s, one branch "
        f"{t['branch'] * 1000:.1f} ms; with the chart: {t['tree_chart']:.3f} s, {t['branch_chart'] * 1000:.1f} ms"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the SQLite file under /tmp")
    args = ap.parse_args()

    branch_id = 2 + GENERAL_BRANCHES  # the first 党支部
    workdir = Path(tempfile.mkdtemp(prefix="dutybot_bench_digest_", dir="/tmp"))
    path = workdir / "digest.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    people, built = build_sqlite(path, args.members, args.records)
    per_week = round(args.records * 7 / 730)
    print(
        f"sqlite: built {args.members} members in {GENERAL_BRANCHES + BRANCHES + 1} orgs, "
        f"{args.records} records over 2 years (~{per_week} a week) in {built:.1f} s"
    )
    first = asyncio.run(time_digests(url, branch_id))
    print(_figures("sqlite", first))
    tree_ready, branch_ready = asyncio.run(time_readiness(url, branch_id))
    print(
        f"sqlite: /readiness {NOW.year} (every month and quarter so far): whole tree {tree_ready:.2f} s, "
        f"one branch {branch_ready * 1000:.0f} ms"
    )
    added = add_history_sqlite(path, people, args.records)
    print(f"sqlite: added two older years ({2 * args.records} records over 4 years) in {added:.1f} s")
    second = asyncio.run(time_digests(url, branch_id))
    print(_figures("sqlite, history x2", second))
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        pg_first, pg_second = asyncio.run(run_pg(base, args.members, args.records, branch_id))
        print(_figures("postgresql", pg_first))
        print(_figures("postgresql, history x2", pg_second))
        print(f"postgresql: history x2 -> tree x{pg_second['tree'] / pg_first['tree']:.2f}")
    if not args.keep:
        path.unlink(missing_ok=True)
        for extra in workdir.iterdir():
            extra.unlink()
        workdir.rmdir()
    else:
        print(f"kept {path}")
    tree, branch = first["tree"], first["branch"]
    print(
        f"digest: tree {tree:.2f} s, branch {branch * 1000:.0f} ms, history x2 -> tree x{second['tree'] / tree:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
