"""Assessment readiness: per target and sub-org, the periods met this year and the gaps."""

from __future__ import annotations

import datetime as dt

from digest_world import ADMIN, SEC1, SEC2, ZHANG, add_record, seed_world


async def _seed_year(harness) -> None:  # type: ignore[no-untyped-def]
    await seed_world(harness)
    # 第一支部 held its 支委会 every month so far except March and July (November: 11-17 in the world)
    for month in (1, 2, 4, 5, 6, 8, 9, 10):
        await add_record(harness, ZHANG, dt.date(2026, month, 12), "org_life", "支部委员会会议")
    # 赵书记 talked twice in May, once in June
    for day in ((5, 6), (5, 20), (6, 3)):
        await add_record(harness, SEC2, dt.date(2026, *day), "talk", "谈心谈话")


EXPECTED = """\
📋 <b>年度达标预览</b> · 第一党委 · 2026年（截至11月27日）
如果今天考核：0/2 项指标没有缺口。
<b>支委会</b>（每月1次 · 按组织）
· 第一支部 9/11 · 缺 3月、7月
· 第二支部 0/10 · 缺 1月、2月、3月、4月、5月、6月等10期 · 本月还差1次，剩3天
<b>谈心谈话</b>（每月2次 · 每人）
· 第一党委 0/10 · 缺 1月、2月、3月、4月、5月、6月等10期 · 本月还差2次，剩3天
· 第一支部 1/11 · 缺 1月、2月、3月、4月、5月、6月等10期
· 第二支部 1/10 · 缺 1月、2月、3月、4月、6月、7月等9期 · 本月还差2次，剩3天"""


async def test_readiness_of_the_whole_tree(harness) -> None:
    await _seed_year(harness)
    texts = [c.text for c in harness.replies(await harness.send(ADMIN, "/readiness"))]
    assert texts == [EXPECTED]


async def test_a_subtree_with_several_orgs_shows_how_many_have_gaps(harness) -> None:
    await _seed_year(harness)
    await harness.add_org("机关总支", parent="第一党委", kind="general_branch")
    await harness.add_org("机关一支部", parent="机关总支")
    await harness.add_org("机关二支部", parent="机关总支")
    await harness.add_member(SEC1.__class__(31, "周书记"), "机关一支部", role="secretary")
    for month in range(1, 12):
        await add_record(harness, SEC1.__class__(31), dt.date(2026, month, 3), "org_life", "支委会")
    text = harness.replies(await harness.send(ADMIN, "/readiness 2026"))[0].text
    # two branches below 机关总支: 11 months met by one, none by the other (10 past + November open)
    assert "· 机关总支 11/21 · 1个组织有缺口 · 本月尚有未完成，剩3天" in text


async def test_a_past_year_is_judged_at_its_end(harness) -> None:
    await _seed_year(harness)
    text = harness.replies(await harness.send(SEC1, "/readiness 2025"))[0].text
    assert text.startswith(
        "📋 <b>年度达标预览</b> · 第一支部 · 2025年（截至12月31日）\n如果今天考核：0/2 项指标没有缺口。"
    )
    assert "· 第一支部 0/12 · 缺 1月、2月、3月、4月、5月、6月等12期" in text
    assert "本月" not in text


async def test_a_cadre_sees_their_own_targets(harness) -> None:
    await _seed_year(harness)
    text = harness.replies(await harness.send(ZHANG, "/readiness"))[0].text
    assert (
        text
        == "📋 <b>年度达标预览</b> · 张三（第一支部） · 2026年（截至11月27日）\n暂无适用的量化指标。管理员可用 /target 设置。"
    )
    text = harness.replies(await harness.send(SEC2, "/readiness"))[0].text
    assert "· 第二支部 1/10 · 缺 1月、2月、3月、4月、6月、7月等9期 · 本月还差2次，剩3天" in text


async def test_leave_excuses_only_the_period_it_falls_in(harness) -> None:
    await _seed_year(harness)
    async with harness.session() as session:
        from storage.models import Leave
        from storage.orgs import get_member

        zhao = await get_member(session=session, telegram_id=SEC2.id)
        session.add(Leave(member_id=zhao.id, start=dt.date(2026, 11, 9), end=dt.date(2026, 11, 30)))
    text = harness.replies(await harness.send(SEC2, "/readiness"))[0].text
    # November is excused (leave on 16 of its 21 weekdays); the ten months before still count
    assert (
        "<b>谈心谈话</b>（每月2次 · 每人）\n· 第二支部 1/10 · 缺 1月、2月、3月、4月、6月、7月等9期\n"
        in text + "\n"
    )
