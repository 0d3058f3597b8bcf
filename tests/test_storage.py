"""The storage layer keeps every write: concurrent read-then-write units, rollbacks, big reads.

On SQLite these run over storage.sqlite_driver (statements and BEGIN sent in fewer trips to
aiosqlite's thread), so they also pin that the driver keeps SQLite's transaction semantics.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from storage import orgs
from storage.db import create_engine, create_sessionmaker, session_scope
from storage.models import Member, Org


async def test_concurrent_read_then_write_units_lose_no_update(database_url: str) -> None:
    """Ten units read a member's name and append to it at once: every append survives."""
    engines = [create_engine(database_url) for _ in range(2)]  # two processes' worth of connections
    try:
        async with session_scope(create_sessionmaker(engines[0])) as session:
            org = await orgs.create_org(session=session, name="并发党委")
            member = await orgs.create_member(session=session, telegram_id=1, name="", org=org)
            member_id = member.id

        async def append(engine, mark: str) -> None:  # type: ignore[no-untyped-def]
            async with session_scope(create_sessionmaker(engine)) as session:
                row = await session.get(Member, member_id, with_for_update=True)
                assert row is not None
                name = row.name
                await asyncio.sleep(0.01)  # let the other units reach their read
                row.name = name + mark

        marks = "一二三四五六七八九十"
        await asyncio.gather(*(append(engines[i % 2], mark) for i, mark in enumerate(marks)))
        async with session_scope(create_sessionmaker(engines[1])) as session:
            name = (await session.get(Member, member_id)).name  # type: ignore[union-attr]
        assert sorted(name) == sorted(marks)
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_failed_unit_leaves_nothing_and_the_next_one_works(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    try:
        with pytest.raises(RuntimeError):
            async with session_scope(sessions) as session:
                await orgs.create_org(session=session, name="不该留下")
                raise RuntimeError("handler failed")
        async with session_scope(sessions) as session:
            pass  # a unit that runs no statement commits nothing and fails on nothing
        async with session_scope(sessions) as session:
            await orgs.create_org(session=session, name="留下")
        async with session_scope(sessions) as session:
            names = (await session.execute(select(Org.name))).scalars().all()
        assert "留下" in names and "不该留下" not in names
    finally:
        await engine.dispose()


async def test_large_reads_come_back_whole_in_order(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    try:
        async with session_scope(sessions) as session:
            org = await orgs.create_org(session=session, name="大支部")
            session.add_all(
                Member(telegram_id=100_000 + i, name=f"党员{i:04d}", org_id=org.id) for i in range(1500)
            )
        async with session_scope(sessions) as session:
            names = (
                (
                    await session.execute(
                        select(Member.name).where(Member.org_id == org.id).order_by(Member.id)
                    )
                )
                .scalars()
                .all()
            )
            streamed = [
                row.name
                async for row in await session.stream(
                    select(Member.name).where(Member.org_id == org.id).order_by(Member.id)
                )
            ]
            count = await session.scalar(
                select(func.count()).select_from(Member).where(Member.org_id == org.id)
            )
        assert names == [f"党员{i:04d}" for i in range(1500)] == streamed
        assert count == 1500
    finally:
        await engine.dispose()


async def test_the_ingest_fast_path_stores_what_the_orm_would(database_url: str) -> None:
    """Check-ins go through a one-trip INSERT on SQLite; read back, and as the database holds
    them, they match a record the ORM wrote (dates, aware UTC times, nulls)."""
    import datetime as dt

    from sqlalchemy import text

    from storage import records as repo
    from storage.models import DutyRecord, utcnow

    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    try:
        async with session_scope(sessions) as session:
            org = await orgs.create_org(session=session, name="快路径支部")
            member = await orgs.create_member(session=session, telegram_id=77, name="党员", org=org)
            values = {
                "category": "talk",
                "keyword": "谈心谈话",
                "date": dt.date(2026, 11, 26),
                "participants": 3,
                "duration_min": None,
                "issues_found": None,
                "issues_fixed": 2,
                "source_text": "昨天与3名党员开展谈心谈话<b>",
                "chat_id": 77,
            }
            now = utcnow()
            session.add(
                DutyRecord(
                    member_id=member.id,
                    org_id=org.id,
                    message_id=1,
                    activity_index=0,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            )
        fast = await repo.insert_for_member(
            engine=engine, telegram_id=77, rows=[{**values, "message_id": 2, "activity_index": 0}]
        )
        stranger = [{**values, "message_id": 3, "activity_index": 0}]
        assert await repo.insert_for_member(engine=engine, telegram_id=78, rows=stranger) == [], "no member"
        async with session_scope(sessions) as session:
            slow_row, fast_row = (
                (await session.execute(select(DutyRecord).order_by(DutyRecord.message_id))).scalars().all()
            )
            stored = (
                await session.execute(
                    text("SELECT date, created_at, typeof(participants) FROM dutyrecord ORDER BY message_id")
                    if database_url.startswith("sqlite")
                    else text(
                        "SELECT date, created_at, pg_typeof(participants)::text FROM dutyrecord ORDER BY message_id"
                    )
                )
            ).all()
        assert fast_row.id == fast[0].id and fast_row.member_id == member.id and fast_row.org_id == org.id
        for name in (*values, "activity_index"):
            assert getattr(fast_row, name) == getattr(slow_row, name), name
        assert fast_row.created_at.tzinfo is not None and slow_row.created_at.tzinfo is not None
        assert abs(fast_row.created_at - slow_row.created_at) < dt.timedelta(minutes=1)
        # the same representation in the database itself (format of dates and times, types)
        assert [type(v) for v in stored[0]] == [type(v) for v in stored[1]]
        assert len(str(stored[0][1])) == len(str(stored[1][1])) and stored[0][0] == stored[1][0]
    finally:
        await engine.dispose()


async def test_a_long_report_does_not_hold_back_check_ins(harness) -> None:
    """While a read-only unit (a digest, a readiness report) is open, check-ins are stored and
    confirmed; on PostgreSQL such a unit cannot write."""
    from sqlalchemy.exc import DBAPIError

    from helpers import TgUser

    cadre = TgUser(301, "张三")
    await harness.add_org("第一党委")
    await harness.add_member(cadre, "第一党委")
    async with harness.services.session(read_only=True) as report:
        before = await report.scalar(select(func.count()).select_from(Member))
        calls = await asyncio.wait_for(harness.send(cadre, "今天开展志愿服务，参加5人"), timeout=10)
        assert harness.replies(calls)[0].text.startswith("✅ 已记录 1 项")
        assert await report.scalar(select(func.count()).select_from(Member)) == before
    if harness.services.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="read-only"):
            async with harness.services.session(read_only=True) as report:
                await orgs.create_org(session=report, name="不该写入")


async def test_database_errors_never_carry_user_text(database_url: str) -> None:
    """What a failed statement raises (and so what is logged) names no parameter: user text stays
    out of the logs."""
    from sqlalchemy.exc import IntegrityError

    engine = create_engine(database_url)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            org = await orgs.create_org(session=session, name="保密党委")
            await orgs.create_member(session=session, telegram_id=7, name="甲", org=org)
        with pytest.raises(IntegrityError) as failed:
            async with session_scope(create_sessionmaker(engine)) as session:
                org = (await session.execute(select(Org))).scalar_one()
                await orgs.create_member(
                    session=session, telegram_id=7, name="身份证号110101199001011234", org=org
                )
        assert "110101199001011234" not in str(failed.value)
        assert "hidden" in str(failed.value)
    finally:
        await engine.dispose()
