"""Resident memory of the bot with jieba loaded and 10,000 members, through a working week.

The real Application and services on a SQLite file, the Bot API in memory (its record of calls is
emptied after each phase, so the fake's own memory is not counted). Phases: start-up (rules and
jieba loaded), 10,000 members in an org tree, a check-in from every member, a nudge run to
everyone with a duty due, and the this week's digest of the whole tree with its chart. The resident set
is read after each phase; the peak is the process's maximum.

    .venv/bin/python bench/memory.py [--members 10000]

Last line: `memory: rss <a> MB after the week, peak <b> MB (target <= 250 MB)`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import private_text, sqlite_app

TARGET_MB = 250
BRANCHES = 100
FIRST_USER = 3_000_000
MESSAGES = [
    "今天下午组织支部党员开展主题党日活动，参加{n}人，时长2小时",
    "昨天与第三支部{n}名党员开展谈心谈话",
    "参加党委理论学习中心组专题学习，时长1.5小时",
    "督办上次巡察反馈问题整改，已整改到位{n}项",
    "组织{n}名党员到社区开展志愿服务",
    "召开支委会研究发展党员工作，到会{n}人",
]


def rss_mb() -> float:
    """The resident set now (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


async def populate(app, members: int) -> int:  # type: ignore[no-untyped-def]
    """1 committee, 10 general branches, BRANCHES branches; a secretary in each branch."""
    from storage import orgs
    from storage.models import Member, Role, Target

    async with app.bot_data.session() as session:
        root = await orgs.create_org(session=session, name="第一党委")
        generals = [
            await orgs.create_org(session=session, name=f"第{g + 1}党总支", parent=root) for g in range(10)
        ]
        branches = [
            await orgs.create_org(session=session, name=f"第{b + 1}党支部", parent=generals[b % 10])
            for b in range(BRANCHES)
        ]
        for start in range(0, members, 2000):
            session.add_all(
                Member(
                    telegram_id=FIRST_USER + i,
                    name=f"党员{i}",
                    org_id=branches[i % BRANCHES].id,
                    role=Role.secretary if i < BRANCHES else Role.cadre,
                )
                for i in range(start, min(start + 2000, members))
            )
            await session.flush()
        # A weekly duty for every cadre, so the nudge run plans for everyone.
        session.add(
            Target(name="理论学习", category="study", count=1, period="week", role="cadre", scope="member")
        )
    return root.id  # type: ignore[return-value]


async def run(members: int) -> list[tuple[str, float]]:
    from bot.digest import build_digest, org_scope
    from bot.outbox import Pacer
    from bot.periods_parse import period_of
    from handlers.render_digest import digest_message

    phases: list[tuple[str, float]] = []

    def mark(label: str) -> None:
        gc.collect()
        phases.append((label, rss_mb()))
        print(f"{label}: rss {phases[-1][1]:.0f} MB", flush=True)

    async with sqlite_app(flood_max_messages=members + 1) as (app, api):
        mark("started, rules and jieba loaded")
        root_id = await populate(app, members)
        mark(f"{members} members in {BRANCHES + 11} orgs")

        now = app.bot_data.clock.now()
        started = time.perf_counter()
        for i in range(members):
            text = MESSAGES[i % len(MESSAGES)].format(n=3 + i % 40)
            await app.process_update(private_text(app, i + 1, FIRST_USER + i, text, int(now.timestamp())))
            if i % 1000 == 999:
                api.calls.clear()
        api.calls.clear()
        mark(f"a check-in from every member ({time.perf_counter() - started:.0f} s)")

        box = app.bot_data.scheduler.outbox
        box.pacer = Pacer(1_000_000, per_chat=0)  # pacing is fanout.py's subject, not memory
        fire = now.replace(second=0, microsecond=0)
        report = await box.run(1, fire)  # the default 每周五16:00 nudge schedule
        sent = len(api.sent("sendMessage"))
        api.calls.clear()
        mark(f"a nudge run ({sent} sent, {report.counts if report else None})")

        async with app.bot_data.session() as session:
            scope = await org_scope(session=session, org_id=root_id)
            report = await build_digest(
                session=session,
                scope=scope,
                period=period_of("week", now.date()),
                today=now.date(),
                chart=True,
            )
        message = digest_message(report)
        chart = (
            f"{len(message.chart_png) // 1024} KB chart" if message.chart_png else "no chart (no CJK font)"
        )
        mark(f"this week's digest of the whole tree ({chart})")
    return phases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=10_000)
    args = ap.parse_args()
    from handlers.console import run_until_done

    phases = run_until_done(run(args.members))
    print(f"({dt.date.today()}, Python {sys.version.split()[0]})")
    print(
        f"memory: rss {phases[-1][1]:.0f} MB after the week, peak {peak_mb():.0f} MB (target <= {TARGET_MB} MB)"
    )


if __name__ == "__main__":
    main()
