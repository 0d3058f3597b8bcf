"""三会一课: one composite target over its four forms, each form keeping its own norm."""

from __future__ import annotations

from helpers import TgUser

ADMIN = TgUser(1, "管理员")
SECRETARY = TgUser(11, "王书记")
CADRE = TgUser(12, "李党员")


async def _reply(harness, user: TgUser, text: str) -> str:  # type: ignore[no-untyped-def]
    return harness.replies(await harness.send(user, text))[0].text


async def test_composite_is_listed_with_each_forms_own_norm_and_counts_every_form(harness) -> None:
    await harness.add_org("第一党委")
    await harness.add_org("第一支部", parent="第一党委")
    await harness.add_member(ADMIN, "第一党委", role="admin")
    await harness.add_member(SECRETARY, "第一支部", role="secretary")
    await harness.add_member(CADRE, "第一支部")

    listing = await _reply(harness, SECRETARY, "/target list")
    assert "<b>组合指标</b>" in listing
    assert (
        "三会一课：支部党员大会 #3 每季度1次 · 支委会 #1 每月1次 · 党小组会 #2 每月1次 · 党课 #4 每季度1次"
        in listing
    )

    reply = await _reply(harness, ADMIN, "/target set 三会一课 每月 3 次 支部")
    assert reply.startswith(
        "已添加：#7 三会一课（支部党员大会、支委会、党小组会、党课） · 每月 3 次 · 党支部 · 按组织"
    )

    for text in ("今天召开支委会", "今天召开党小组会", "昨天讲了一堂专题党课"):
        assert "已记录" in await _reply(harness, CADRE, text)
    digest = await _reply(harness, SECRETARY, "/digest 本月")
    assert "· 三会一课（每月3次） 1/1个组织 ✅" in digest
    # each form is still judged by its own norm
    assert "· 支委会（每月1次） 1/1个组织 ✅" in digest
    assert "· 党课（每季度1次） 1/1个组织 ✅" in digest
    assert "· 主题党日（每月1次） 0/1个组织" in digest
