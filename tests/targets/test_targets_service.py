"""The target status service over a real database: counting, states, leave and exemptions."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot import targets
from storage import orgs
from storage import targets as repo
from storage.db import create_engine, create_sessionmaker, session_scope
from storage.models import DutyRecord, Member, Org, Target

D = dt.date
NOV27 = D(2026, 11, 27)  # a Friday; November has 3 days left after it
_msg = itertools.count(1)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator:
    engine = create_engine(database_url)
    maker = create_sessionmaker(engine)
    try:
        yield lambda: session_scope(maker)
    finally:
        await engine.dispose()


async def _tree(session: AsyncSession) -> tuple[Org, Org, Member, Member]:
    committee = await orgs.create_org(session=session, name="第一党委")
    branch = await orgs.create_org(session=session, name="第一支部", parent=committee)
    secretary = await orgs.create_member(
        session=session, telegram_id=101, name="王书记", org=branch, role="secretary"
    )
    cadre = await orgs.create_member(session=session, telegram_id=102, name="李党员", org=branch)
    await targets.seed_defaults(session=session)
    return committee, branch, secretary, cadre


def _record(member: Member, category: str, keyword: str | None, day: dt.date, **kw) -> DutyRecord:
    return DutyRecord(
        member_id=member.id,  # type: ignore[arg-type]
        org_id=member.org_id,
        category=category,
        keyword=keyword,
        date=day,
        chat_id=member.telegram_id,
        message_id=next(_msg),
        activity_index=0,
        source_text="x",
        **kw,
    )


def _by_name(statuses: list[targets.TargetStatus]) -> dict[str, targets.TargetStatus]:
    return {s.name: s for s in statuses}


async def test_defaults_bind_branch_and_secretary(db) -> None:
    async with db() as session:
        committee, branch, secretary, cadre = await _tree(session)
        org_s = _by_name(await targets.org_statuses(session=session, org=branch, on=NOV27))
        assert set(org_s) == {"支委会", "党小组会", "支部党员大会", "党课", "主题党日"}
        # the committee is not a branch: the 三会一课 norms do not bind it
        assert await targets.org_statuses(session=session, org=committee, on=NOV27) == []
        sec = _by_name(await targets.member_statuses(session=session, member=secretary, on=NOV27))
        assert set(sec) == set(org_s) | {"谈心谈话"}
        assert sec["谈心谈话"].subject == "member" and sec["支委会"].subject == "org"
        # a cadre answers for nothing by default
        assert await targets.member_statuses(session=session, member=cadre, on=NOV27) == []


async def test_counts_live_records_of_the_form_with_aliases(db) -> None:
    async with db() as session:
        _, branch, secretary, cadre = await _tree(session)
        session.add_all(
            [
                _record(
                    cadre, "org_life", "支部委员会", D(2026, 11, 3)
                ),  # alias of 支委会, by anyone in the org
                _record(cadre, "org_life", "支委会", D(2026, 10, 31)),  # last month: not counted
                _record(
                    cadre,
                    "org_life",
                    "主题党日",
                    D(2026, 11, 5),
                    deleted_at=dt.datetime(2026, 11, 6, tzinfo=dt.UTC),
                ),
                _record(cadre, "org_life", "专题党课", D(2026, 10, 9)),  # this quarter
                _record(secretary, "talk", "谈心", D(2026, 11, 20)),
                _record(cadre, "talk", "谈心", D(2026, 11, 21)),  # the cadre's talk is not the secretary's
            ]
        )
        await session.flush()
        org_s = _by_name(await targets.org_statuses(session=session, org=branch, on=NOV27))
        assert (org_s["支委会"].done, org_s["支委会"].state) == (1, "done")
        assert (org_s["主题党日"].done, org_s["主题党日"].state) == (
            0,
            "at_risk",
        )  # deleted record does not count
        assert (org_s["党课"].done, org_s["党课"].state) == (1, "done")
        assert org_s["党课"].period_start == D(2026, 10, 1) and org_s["党课"].period_end == D(2026, 12, 31)
        sec = _by_name(await targets.member_statuses(session=session, member=secretary, on=NOV27))
        talk = sec["谈心谈话"]
        assert (talk.done, talk.required, talk.days_left, talk.state) == (1, 2, 3, "at_risk")
        assert talk.describe() == "本月谈心谈话 1/2 次，还剩3天"
        assert org_s["支委会"].describe() == "本月支委会已完成"
        assert org_s["党课"].describe() == "本季度党课已完成"
        assert org_s["主题党日"].describe() == "本月主题党日尚未记录，还剩3天"


async def test_states_over_the_period(db) -> None:
    async with db() as session:
        _, branch, _, _ = await _tree(session)
        early = _by_name(await targets.org_statuses(session=session, org=branch, on=D(2026, 11, 2)))
        assert early["支委会"].state == "due" and early["支委会"].days_left == 28
        # a quarter target is due early in the quarter and at risk with three weeks left
        assert early["党课"].state == "due"
        late = _by_name(await targets.org_statuses(session=session, org=branch, on=D(2026, 12, 10)))
        assert late["党课"].state == "at_risk" and late["党课"].days_left == 21
        # asking on Dec 2 about November: overdue
        past = _by_name(
            await targets.org_statuses(
                session=session, org=branch, on=D(2026, 12, 2), period_of=D(2026, 11, 15)
            )
        )
        assert past["支委会"].state == "overdue" and past["支委会"].days_left == -2
        assert past["支委会"].describe() == "上月支委会尚未记录，未完成"


async def test_leave_excuses_a_member(db) -> None:
    async with db() as session:
        _, _, secretary, _ = await _tree(session)
        await repo.add_leave(session=session, member=secretary, start=D(2026, 11, 12), end=D(2026, 11, 30))
        assert await targets.is_on_leave(session=session, member_id=secretary.id, on=NOV27)
        assert not await targets.is_on_leave(session=session, member_id=secretary.id, on=D(2026, 12, 1))
        # 13 of November's 21 weekdays: the month is excused
        statuses = await targets.member_statuses(session=session, member=secretary, on=NOV27)
        assert {s.state for s in statuses if s.period == "month"} == {"excused"}
        assert {s.state for s in statuses if s.period == "quarter"} == {"due"}  # 13 of 66 weekdays
        after = await targets.member_statuses(session=session, member=secretary, on=D(2026, 12, 1))
        assert "excused" not in {s.state for s in after}
        # a week of leave does not excuse a month
        await repo.add_leave(session=session, member=secretary, start=D(2026, 12, 7), end=D(2026, 12, 11))
        december = await targets.member_statuses(session=session, member=secretary, on=D(2026, 12, 14))
        assert "excused" not in {s.state for s in december}


async def test_exemption_is_idempotent_and_per_period(db) -> None:
    async with db() as session:
        _, branch, secretary, _ = await _tree(session)
        sub = (await repo.list_targets(session=session))[0]
        assert sub.name == "支委会"
        for _ in range(2):
            await targets.record_exemption(
                session=session, member=secretary, target_id=sub.id, on=NOV27, reason="本月不涉及"
            )
        org_s = _by_name(await targets.org_statuses(session=session, org=branch, on=NOV27))
        assert org_s["支委会"].state == "exempt"
        assert org_s["支委会"].describe() == "本月支委会：本期不涉及"
        december = _by_name(await targets.org_statuses(session=session, org=branch, on=D(2026, 12, 1)))
        assert december["支委会"].state == "due"


async def test_batched_statuses_match_single_ones(db) -> None:
    async with db() as session:
        committee, branch, secretary, cadre = await _tree(session)
        other = await orgs.create_org(session=session, name="第二支部", parent=committee)
        sec2 = await orgs.create_member(
            session=session, telegram_id=201, name="赵书记", org=other, role="secretary"
        )
        session.add_all(
            [
                _record(sec2, "org_life", "支委会", D(2026, 11, 2)),
                _record(sec2, "talk", "谈话", D(2026, 11, 2)),
            ]
        )
        await session.flush()
        many = await targets.members_statuses(session=session, members=[secretary, cadre, sec2], on=NOV27)
        for m in (secretary, cadre, sec2):
            assert many[m.id] == await targets.member_statuses(session=session, member=m, on=NOV27)
        by_org = await targets.statuses_for_orgs(
            session=session, org_ids=[branch.id, other.id, committee.id], on=NOV27
        )
        assert by_org[committee.id] == []
        assert _by_name(by_org[other.id])["支委会"].state == "done"
        assert _by_name(by_org[branch.id])["支委会"].state == "at_risk"


async def test_seeding_happens_once_and_respects_removals(db) -> None:
    async with db() as session:
        await _tree(session)  # seeds
        first = await repo.list_targets(session=session)
        assert len(first) == 6
        await repo.remove_target(session=session, target_id=first[0].id)
        assert await targets.seed_defaults(session=session) == 0
        assert [t.id for t in await repo.list_targets(session=session)] == [t.id for t in first[1:]]


async def test_custom_member_target_for_every_member(db) -> None:
    async with db() as session:
        _, _, secretary, cadre = await _tree(session)
        session.add(Target(name="学习教育", category="study", count=1, period="week", scope="member"))
        session.add(_record(cadre, "study", "学习", D(2026, 11, 23)))
        await session.flush()
        mine = _by_name(await targets.member_statuses(session=session, member=cadre, on=NOV27))
        assert mine["学习教育"].state == "done" and mine["学习教育"].period_start == D(2026, 11, 23)
        theirs = _by_name(await targets.member_statuses(session=session, member=secretary, on=NOV27))
        assert theirs["学习教育"].state == "at_risk" and theirs["学习教育"].days_left == 2


async def _queries_for(database_url: str, n_branches: int, members_per_branch: int) -> int:
    """Statements members_statuses and statuses_for_orgs issue for a tree of the given size."""
    from sqlalchemy import event

    engine = create_engine(database_url)
    maker = create_sessionmaker(engine)
    statements: list[str] = []
    try:
        async with session_scope(maker) as session:
            committee = await orgs.create_org(session=session, name=f"党委{n_branches}")
            members, branch_ids = [], []
            for b in range(n_branches):
                branch = await orgs.create_org(
                    session=session, name=f"支部{n_branches}-{b}", parent=committee
                )
                branch_ids.append(branch.id)
                for i in range(members_per_branch):
                    role = "secretary" if i == 0 else "cadre"
                    m = await orgs.create_member(
                        session=session,
                        telegram_id=n_branches * 10_000 + b * 100 + i,
                        name="x",
                        org=branch,
                        role=role,
                    )
                    members.append(m)
                    session.add(_record(m, "org_life", "支委会", D(2026, 11, 2)))
            await targets.seed_defaults(session=session)
            await session.flush()

            def count(*args) -> None:  # type: ignore[no-untyped-def]
                statements.append(args[2])

            event.listen(engine.sync_engine, "before_cursor_execute", count)
            by_member = await targets.members_statuses(session=session, members=members, on=NOV27)
            by_org = await targets.statuses_for_orgs(session=session, org_ids=branch_ids, on=NOV27)
            event.remove(engine.sync_engine, "before_cursor_execute", count)
            assert all(_by_name(by_org[b])["支委会"].done == members_per_branch for b in branch_ids)
            assert sum(len(v) for v in by_member.values()) == n_branches * 6  # each secretary: 5 org + 1 own
    finally:
        await engine.dispose()
    return len(statements)


async def test_batched_statuses_use_a_fixed_number_of_queries(database_url: str) -> None:
    small = await _queries_for(database_url, 2, 3)
    large = await _queries_for(database_url, 12, 8)
    assert small == large
    assert large <= 16


async def test_a_form_only_target_counts_the_form_in_any_category(db) -> None:
    async with db() as session:
        _, branch, _, cadre = await _tree(session)
        session.add(Target(name="党员大会", form="党员大会", count=2, period="year", org_kind="branch"))
        session.add_all(
            [
                _record(cadre, "org_life", "支部党员大会", D(2026, 3, 1)),
                _record(cadre, "deploy", "党员大会", D(2026, 6, 1)),
                _record(cadre, "org_life", "党员大会", D(2025, 12, 31)),  # last year
            ]
        )
        await session.flush()
        statuses = [
            s for s in await targets.org_statuses(session=session, org=branch, on=NOV27) if s.category is None
        ]
        assert [(s.done, s.state, s.describe()) for s in statuses] == [
            (2, "done", "今年党员大会已完成（2/2 次）")
        ]


async def test_two_processes_starting_together_seed_once(database_url: str) -> None:
    import asyncio

    engines = [create_engine(database_url) for _ in range(2)]
    try:

        async def seed(engine) -> int:  # type: ignore[no-untyped-def]
            async with session_scope(create_sessionmaker(engine)) as session:
                added = await targets.seed_defaults(session=session)
                await asyncio.sleep(0.05)  # hold the transaction open while the other one starts
                return added

        added = await asyncio.gather(*(seed(e) for e in engines))
        assert sorted(added) == [0, 6]
        async with session_scope(create_sessionmaker(engines[0])) as session:
            assert len(await repo.list_targets(session=session)) == 6
    finally:
        for engine in engines:
            await engine.dispose()
