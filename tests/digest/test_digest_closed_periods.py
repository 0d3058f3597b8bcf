"""A closed period counts only what happened in it: records dated inside it (late ones marked 补报),
never records dated after it; the export's summary shows each target period's own state."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import shutil
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from digest_world import ADMIN, SEC1, ZHANG, add_record, seed_world
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from bot.digest import org_scope
from bot.periods_parse import period_of
from storage.models import DutyRecord, Member, Org, Target

TZ = ZoneInfo("Asia/Shanghai")

D = dt.date
TODAY = D(2026, 11, 27)


async def test_last_weeks_digest_ignores_later_records_and_marks_late_ones(harness) -> None:
    await seed_world(harness)
    before = harness.replies(await harness.send(SEC1, "/digest 上周"))[0].text
    assert "还剩" not in before
    # done this week: last week's report does not change
    await add_record(harness, SEC1, D(2026, 11, 24), "talk", "谈心谈话")
    await add_record(harness, ZHANG, D(2026, 11, 25), "org_life", "支委会")
    assert harness.replies(await harness.send(SEC1, "/digest 上周"))[0].text == before
    # a late report dated inside the week counts, and is marked
    late = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)
    await add_record(harness, SEC1, D(2026, 11, 20), "study", "学习", created_at=late)
    after = harness.replies(await harness.send(SEC1, "/digest 上周"))[0].text
    assert "记录 4 条" in after and "其中补报 1 条" in after


async def test_yearly_export_shows_each_months_own_state(harness) -> None:
    await seed_world(harness)
    document = harness.replies(await harness.send(ADMIN, "/export 2026"), "sendDocument")[0]
    wb = load_workbook(io.BytesIO(document.files["document"][1]))
    summary = {r[0]: r for r in wb["汇总"].iter_rows(values_only=True)}
    # 支委会 monthly: only November of eleven months so far was met (December has not begun)
    assert summary["第一支部"][-1] == "达标 1/11 期"
    assert summary["第二支部"][-1] == "达标 0/10 期"  # November is still open for 第二支部
    rows = [r for r in wb["指标完成"].iter_rows(values_only=True)]
    assert rows[0] == ("组织", "指标", "周期", "期间", "完成次数", "要求次数", "状态")
    branch = [r for r in rows if r[0] == "第一支部"]
    assert [r[3] for r in branch] == [f"2026年{m}月" for m in range(1, 12)]
    assert branch[9] == ("第一支部", "支委会", "每月", "2026年10月", 0, 1, "未完成")
    assert branch[10] == ("第一支部", "支委会", "每月", "2026年11月", 1, 1, "已完成")
    second = [r for r in rows if r[0] == "第二支部"]
    assert second[10][3:] == ("2026年11月", 0, 1, "临期")


# --- the property: records dated after a period never change that period's report --------------
CATEGORIES = [("org_life", "支委会"), ("org_life", "党课"), ("talk", "谈心谈话"), ("study", "学习")]
later_records = st.lists(
    st.tuples(st.integers(1, 90), st.sampled_from(CATEGORIES), st.integers(0, 2)), min_size=1, max_size=6
)


async def _reports(url: str, periods: list) -> list[object]:  # type: ignore[type-arg]
    from bot.digest import build_digest
    from bot.export import _gather
    from handlers.render_digest import render_digest
    from storage.db import create_engine, create_sessionmaker, session_scope

    engine = create_engine(url)
    out: list[object] = []
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            root = (await session.execute(Org.__table__.select().where(Org.name == "党委"))).one()
            scope = await org_scope(session=session, org_id=root.id)
            for period in periods:
                report = await build_digest(session=session, scope=scope, period=period, today=TODAY, tz=TZ)
                sheets = await _gather(
                    session=session, scope=scope, period=period, today=TODAY, categories={}, limit=None
                )
                out.append((render_digest(report.digest), sheets.summary_rows, sheets.per_period))
    finally:
        await engine.dispose()
    return out


async def _seed(url: str) -> list[int]:
    from storage.db import create_engine, create_sessionmaker, session_scope

    engine = create_engine(url)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            root = Org(name="党委", kind="committee", counting_start=D(2026, 9, 1))
            session.add(root)
            await session.flush()
            branch = Org(name="支部", parent_id=root.id, kind="branch", counting_start=D(2026, 9, 1))
            session.add(branch)
            await session.flush()
            people = [
                Member(
                    telegram_id=100 + i, name=f"党员{i}", org_id=branch.id, role=role, joined_on=D(2026, 9, 1)
                )
                for i, role in enumerate(["secretary", "cadre", "cadre"])
            ]
            session.add_all(people)
            session.add_all(
                [
                    Target(
                        name="支委会", category="org_life", form="支委会", period="month", org_kind="branch"
                    ),
                    Target(
                        name="党课", category="org_life", form="党课", period="quarter", org_kind="branch"
                    ),
                    Target(
                        name="谈心谈话",
                        category="talk",
                        count=2,
                        period="month",
                        role="secretary",
                        scope="member",
                    ),
                    Target(name="学习", category="study", period="week", scope="member"),
                ]
            )
            await session.flush()
            ids = [p.id for p in people if p.id is not None]
            for n, day in enumerate([D(2026, 10, 13), D(2026, 11, 3), D(2026, 11, 17), D(2026, 11, 20)]):
                session.add(
                    DutyRecord(
                        member_id=ids[n % 3],
                        org_id=branch.id,
                        category="org_life" if n % 2 else "talk",
                        keyword="支委会" if n % 2 else "谈心谈话",
                        date=day,
                        chat_id=1,
                        message_id=n + 1,
                        created_at=dt.datetime.combine(day, dt.time(9), dt.UTC),
                    )
                )
    finally:
        await engine.dispose()
    return ids


async def _add_later(url: str, ids: list[int], after: dt.date, later: list) -> None:  # type: ignore[type-arg]
    from storage.db import create_engine, create_sessionmaker, session_scope

    engine = create_engine(url)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            branch = (await session.execute(Org.__table__.select().where(Org.name == "支部"))).one()
            for days, (category, keyword), who in later:
                session.add(
                    DutyRecord(
                        member_id=ids[who],
                        org_id=branch.id,
                        category=category,
                        keyword=keyword,
                        date=after + dt.timedelta(days=days),
                        chat_id=2,
                        message_id=uuid.uuid4().int % 10**12,
                    )
                )
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def property_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("property")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(later=later_records, which=st.sampled_from(["week", "month", "quarter"]))
def test_records_dated_after_a_period_never_change_its_report(
    sqlite_template: Path,
    property_dir: Path,
    later: list,
    which: str,  # type: ignore[type-arg]
) -> None:
    path = property_dir / f"{uuid.uuid4().hex}.sqlite3"
    shutil.copy(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    period = period_of(which, D(2026, 11, 18))
    if which == "quarter":
        period = period.previous()  # a quarter that has closed (Q3)
    ids = asyncio.run(_seed(url))
    before = asyncio.run(_reports(url, [period]))
    asyncio.run(_add_later(url, ids, period.end, later))
    assert asyncio.run(_reports(url, [period])) == before
    path.unlink()
