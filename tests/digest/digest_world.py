"""A small organisation whose digest, readiness and ledger can be counted by hand.

第一党委 (committee)            管理员 (admin, tg 1), 王书记 (secretary, tg 10)
├── 第一支部 (branch)           李书记 (secretary, 11), 张三 (12), <b>李四</b> (13)
└── 第二支部 (branch)           赵书记 (secretary, 21), 钱五 (22, unreachable), 孙六 (23, on leave 11-18..20)

Reference time: Friday 2026-11-27; "last week" is Mon 2026-11-16 .. Sun 2026-11-22.
Targets: the shipped defaults are switched off; two hand-made ones instead:
  #支委会   org_life/支委会, 1 per month, every branch (org scope)
  #谈心谈话 talk, 2 per month, every secretary (member scope)
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy import update

from helpers import TgUser
from storage import targets as target_repo
from storage.models import DutyRecord, Evidence, Leave, Member, Target

ADMIN = TgUser(1, "管理员")
PARTY_SEC = TgUser(10, "王书记")
SEC1 = TgUser(11, "李书记")
ZHANG = TgUser(12, "张三")
LISI = TgUser(13, "<b>李四</b>")
SEC2 = TgUser(21, "赵书记")
QIAN = TgUser(22, "钱五")
SUN = TgUser(23, "孙六")
STRANGER = TgUser(99, "路人")

JOINED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_messages = itertools.count(1)


async def add_record(
    harness: Any,
    user: TgUser,
    day: dt.date,
    category: str,
    keyword: str | None = None,
    *,
    text: str = "",
    evidence: int = 0,
    **fields: Any,
) -> DutyRecord:
    """A live record of `user` in their org, written straight to the database."""
    async with harness.session() as session:
        from storage.orgs import get_member

        member = await get_member(session=session, telegram_id=user.id)
        assert member is not None
        record = DutyRecord(
            member_id=member.id,
            org_id=member.org_id,
            category=category,
            keyword=keyword,
            date=day,
            source_text=text or f"{day} {keyword or category}",
            chat_id=user.id,
            message_id=next(_messages),
            **{"created_at": dt.datetime.combine(day, dt.time(12), dt.UTC), **fields},
        )
        session.add(record)
        await session.flush()
        for n in range(evidence):
            session.add(Evidence(record_id=record.id, file_id=f"F{record.id}_{n}"))
        return record


async def seed_world(harness: Any) -> None:
    await harness.add_org("第一党委")
    await harness.add_org("第一支部", parent="第一党委")
    await harness.add_org("第二支部", parent="第一党委")
    await harness.add_member(ADMIN, "第一党委", role="admin")
    await harness.add_member(PARTY_SEC, "第一党委", role="secretary")
    await harness.add_member(SEC1, "第一支部", role="secretary")
    await harness.add_member(ZHANG, "第一支部")
    await harness.add_member(LISI, "第一支部")
    await harness.add_member(SEC2, "第二支部", role="secretary")
    await harness.add_member(QIAN, "第二支部")
    await harness.add_member(SUN, "第二支部")
    async with harness.session() as session:
        await session.execute(update(Member).values(created_at=JOINED))
        await session.execute(update(Member).where(Member.telegram_id == QIAN.id).values(unreachable=True))
        sun = await _member(session, SUN)
        session.add(Leave(member_id=sun.id, start=dt.date(2026, 11, 18), end=dt.date(2026, 11, 20)))
        await session.execute(update(Target).values(active=False))
        await target_repo.add_target(
            session=session,
            name="支委会",
            category="org_life",
            form="支委会",
            count=1,
            period="month",
            org_kind="branch",
            scope="org",
        )
        await target_repo.add_target(
            session=session,
            name="谈心谈话",
            category="talk",
            count=2,
            period="month",
            role="secretary",
            scope="member",
        )

    d = dt.date
    # last week (2026-11-16 .. 22)
    await add_record(
        harness,
        ZHANG,
        d(2026, 11, 17),
        "org_life",
        "支委会",
        issues_found=3,
        issues_fixed=1,
        evidence=2,
        participants=7,
        duration_min=90,
        text="召开支委会<研究>&部署，发现问题3个，整改1个",
    )
    await add_record(harness, SEC1, d(2026, 11, 18), "talk", "谈心谈话")
    await add_record(harness, SEC1, d(2026, 11, 19), "talk", "谈心谈话")
    await add_record(harness, PARTY_SEC, d(2026, 11, 20), "deploy", "部署")
    # the week before (2026-11-09 .. 15)
    await add_record(harness, ZHANG, d(2026, 11, 10), "study", "学习")
    await add_record(harness, SEC2, d(2026, 11, 11), "study", "学习")
    # October: problems found and fixed earlier this year; a deleted record never counts
    await add_record(harness, SEC2, d(2026, 10, 14), "inspect", "督查", issues_found=2, issues_fixed=2)
    deleted = await add_record(harness, LISI, d(2026, 11, 18), "study", "学习")
    async with harness.session() as session:
        await session.execute(
            update(DutyRecord)
            .where(DutyRecord.id == deleted.id)
            .values(deleted_at=dt.datetime(2026, 11, 19, tzinfo=dt.UTC))
        )


async def _member(session: Any, user: TgUser) -> Member:
    from storage.orgs import get_member

    member = await get_member(session=session, telegram_id=user.id)
    assert member is not None
    return member
