"""Leave for past days (补登): only within the window; in an org that asks for approval it counts
for past days only once a secretary approves; one day of leave does not excuse a week."""

from __future__ import annotations

from sqlalchemy import select

from helpers import TgUser
from storage.models import AuditLog, Leave

ADMIN = TgUser(1, "管理员")
SECRETARY = TgUser(11, "王书记")
CADRES = [TgUser(12, "李党员"), TgUser(13, "赵党员"), TgUser(14, "钱党员")]


async def _setup(harness) -> None:  # type: ignore[no-untyped-def]
    await harness.add_org("第一党委")
    await harness.add_org("第一支部", parent="第一党委")
    await harness.add_member(ADMIN, "第一党委", role="admin")
    await harness.add_member(SECRETARY, "第一支部", role="secretary")
    for cadre in CADRES:
        await harness.add_member(cadre, "第一支部")


async def _reply(harness, user: TgUser, text: str) -> str:  # type: ignore[no-untyped-def]
    return harness.replies(await harness.send(user, text))[0].text


async def _on_leave(harness) -> str:  # type: ignore[no-untyped-def]
    """The digest's headline of this week (today is Friday 11-27)."""
    return (await _reply(harness, SECRETARY, "/digest 本周")).splitlines()[1]


async def test_backfill_window_approval_and_the_half_week_rule(harness) -> None:
    await _setup(harness)
    li, zhao, qian = CADRES
    text = await _reply(harness, li, "/leave 2026-01-01 2026-12-31")
    assert text.startswith("只能补登最近 7 天内的请假（11月20日及以后）")
    async with harness.session() as session:
        assert (await session.execute(select(Leave))).first() is None

    # without approval, backfilled leave counts at once: Mon-Wed is 3 of the week's 5 weekdays
    text = await _reply(harness, li, "/leave 11月23日 11月25日 出差")
    assert text.startswith("✅ 已登记请假（补登）：11月23日（周一）至11月25日（周三），共 3 天 · 出差")
    assert await _on_leave(harness) == "报告 0/3 人（请假 1）"

    # one day of leave does not excuse the week
    await _reply(harness, qian, "/leave 今天")
    assert await _on_leave(harness) == "报告 0/3 人（请假 1）"

    # the branch asks for approval: backfilled days wait for the secretary
    assert "需要书记权限" not in await _reply(harness, SECRETARY, "/leave 审批")
    assert "权限" in await _reply(harness, zhao, "/leave 审批 开")
    assert (
        await _reply(harness, SECRETARY, "/leave 审批 开") == "已设置：「第一支部」补登的请假需要书记批准。"
    )
    calls = await harness.send(zhao, "/leave 11月23日 11月27日 生病")
    assert (
        "今天以前的日期需书记批准后才计入"
        in next(c for c in harness.replies(calls) if c.chat_id == zhao.id).text
    )
    asked = [c for c in harness.replies(calls) if c.chat_id == SECRETARY.id]
    assert (
        len(asked) == 1
        and "赵党员补登请假：11月23日（周一）至11月27日（周五），共 5 天 · 生病" in asked[0].text
    )
    assert await _on_leave(harness) == "报告 0/3 人（请假 1）"  # only 李: 赵 counts from today only

    calls = await harness.press(zhao, asked[0], "批准")
    assert "权限" in harness.replies(calls, "answerCallbackQuery")[0].params["text"]
    calls = await harness.press(SECRETARY, asked[0], "批准")
    told = [c for c in harness.replies(calls) if c.chat_id == zhao.id]
    assert told and told[0].text.startswith("书记已批准您补登的请假：11月23日（周一）至11月27日（周五）")
    assert await _on_leave(harness) == "报告 0/2 人（请假 2）"
    calls = await harness.press(SECRETARY, asked[0], "不批准")
    assert harness.replies(calls, "answerCallbackQuery")[0].params["text"] == "已经处理过了（已批准）。"
    async with harness.session() as session:
        actions = sorted(
            (await session.execute(select(AuditLog.action).where(AuditLog.action.like("leave.a%")))).scalars()
        )
    assert actions == ["leave.add", "leave.add", "leave.add", "leave.approval", "leave.approve"]


async def test_refused_backfill_never_counts_its_past_days(harness) -> None:
    await _setup(harness)
    await _reply(harness, SECRETARY, "/leave 审批 开")
    calls = await harness.send(CADRES[0], "/leave 11月23日 11月26日 培训")
    asked = next(c for c in harness.replies(calls) if c.chat_id == SECRETARY.id)
    calls = await harness.press(SECRETARY, asked, "不批准")
    told = [c for c in harness.replies(calls) if c.chat_id == CADRES[0].id]
    assert told and "今天以前的日期不按请假计" in told[0].text
    assert await _on_leave(harness) == "报告 0/4 人"
