"""/audit: every administrative change (who, what, before, after), newest first, paged, escaped."""

from __future__ import annotations

import re

from admin_world import ADMIN, CADRE, SECRETARY, two_committees

from helpers import TgUser


async def test_admins_read_the_changes_newest_first_with_who_before_and_after(harness) -> None:
    await two_committees(harness)
    await harness.send(ADMIN, "/org rename 第二党委/第一支部 第三支部")
    await harness.send(SECRETARY, "/member leave 张党员 离职")
    card = harness.replies(await harness.send(ADMIN, "/audit"))[0]
    lines = card.text.splitlines()
    assert "共 3 条" in lines[0]  # and the default targets seeded at the start
    assert "李书记 · 停用成员 · 张党员 第一党委/第一支部 党员 → 离职" in lines[1]
    assert "王管理员 · 组织改名 · 第二党委/第一支部 → 第二党委/第三支部" in lines[2]
    assert re.match(r"\d\d-\d\d \d\d:\d\d ", lines[1])
    assert "系统 · 默认指标" in lines[3]
    assert not card.buttons  # one page


async def test_pages_turn_with_buttons_and_names_are_escaped(harness) -> None:
    await two_committees(harness)
    for i in range(25):
        harness.clock.advance(seconds=30)  # not a flood
        await harness.send(ADMIN, f"/org add <组{i}>&x 第一党委")
    card = harness.replies(await harness.send(ADMIN, "/audit"))[0]
    assert "第 1/2 页（共 26 条" in card.text
    assert card.text.count("新建组织") == 20
    assert "新建组织 · — → 第一党委/&lt;组24&gt;&amp;x" in card.text
    pressed = await harness.press(ADMIN, card, "下一页")
    edited = next(c for c in pressed if c.method == "editMessageText")
    assert "第 2/2 页" in edited.text and edited.text.count("新建组织") == 5
    assert "上一页" in str(edited.buttons)
    far = harness.replies(await harness.send(ADMIN, "/audit 99"))[0].text
    assert "第 2/2 页" in far
    bad = harness.replies(await harness.send(ADMIN, "/audit 第二"))[0].text
    assert "用法：/audit [页码]" in bad


async def test_only_admins_read_the_audit_log(harness) -> None:
    await two_committees(harness)
    for user in (SECRETARY, CADRE, TgUser(999, "路人")):
        reply = harness.replies(await harness.send(user, "/audit"))[0].text
        assert "需要管理员权限" in reply or "还没有加入组织" in reply
