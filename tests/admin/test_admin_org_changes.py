"""Orgs change: rename, move (no cycles), merge, archive — kept in history, gone from what is current."""

from __future__ import annotations

from admin_world import ADMIN, OTHER, SECRETARY, audit_rows, invite_code, member_row, two_committees
from sqlalchemy import select

from helpers import TgUser
from storage.models import DutyRecord, InviteCode, Org

NEWCOMER = TgUser(700, "新人")


async def _tree(harness) -> str:  # type: ignore[no-untyped-def]
    return harness.replies(await harness.send(ADMIN, "/org list"))[0].text


async def test_rename_and_move_keep_names_unique_among_siblings_and_refuse_cycles(harness) -> None:
    await two_committees(harness)
    reply = harness.replies(await harness.send(ADMIN, "/org move 第二党委/第一支部 第一党委"))[0].text
    assert "新上级下已经有「第一支部」了" in reply
    reply = harness.replies(await harness.send(ADMIN, "/org rename 第二党委/第一支部 第三支部"))[0].text
    assert "「第二党委/第一支部」→「第二党委/第三支部」" in reply
    reply = harness.replies(await harness.send(ADMIN, "/org move 第三支部 第一党委"))[0].text
    assert "「第二党委/第三支部」→「第一党委/第三支部」" in reply
    assert "赵党员" in harness.replies(await harness.send(ADMIN, "/members 第一党委/第三支部"))[0].text
    # Now only one 第一支部 is left under a name that is unique: the bare name works.
    assert "李书记" in harness.replies(await harness.send(ADMIN, "/members 第一支部"))[0].text

    reply = harness.replies(await harness.send(ADMIN, "/org move 第一党委 第一党委/第三支部"))[0].text
    assert "会形成循环" in reply
    reply = harness.replies(await harness.send(ADMIN, "/org move 第一党委 第一党委"))[0].text
    assert "会形成循环" in reply
    reply = harness.replies(await harness.send(ADMIN, "/org rename 第三支部 第一支部"))[0].text
    assert "同一上级下已经有「第一支部」了" in reply
    reply = harness.replies(await harness.send(ADMIN, "/org move 第二党委 无"))[0].text
    assert "已经在那里了" in reply
    reply = harness.replies(await harness.send(ADMIN, "/org move 第三支部 无"))[0].text
    assert "→「第三支部」" in reply
    reply = harness.replies(await harness.send(ADMIN, "/org rename 第三支部 a/b"))[0].text
    assert "不能有“/”" in reply
    reply = harness.replies(await harness.send(SECRETARY, "/org rename 第一支部 新支部"))[0].text
    assert "需要管理员权限" in reply
    (row,) = await audit_rows(harness, "org.rename")
    assert "第二党委/第一支部 → 第二党委/第三支部" in row.detail
    assert len(await audit_rows(harness, "org.move")) == 2


async def test_a_merge_moves_people_and_keeps_the_history_with_the_org_it_happened_in(harness) -> None:
    await two_committees(harness)
    assert "已记录" in harness.replies(await harness.send(OTHER, "今天组织主题党日，参加10人"))[0].text
    code = invite_code(
        harness.replies(await harness.send(ADMIN, "/invite 第二党委/第一支部 cadre 5"))[0].text
    )

    reply = harness.replies(await harness.send(ADMIN, "/org merge 第二党委/第一支部 第一党委/第一支部"))[
        0
    ].text
    assert "转入成员 1 人" in reply and "作废邀请码 1 个" in reply
    async with harness.session() as session:
        gone = (await session.execute(select(Org).where(Org.parent_id == 2))).scalar_one()
        record = (await session.execute(select(DutyRecord))).scalar_one()
        invite = (await session.execute(select(InviteCode).where(InviteCode.code == code))).scalar_one()
    assert gone.archived_at is not None and record.org_id == gone.id and invite.revoked_at is not None
    moved = await member_row(harness, OTHER.id)
    assert moved.org_id != gone.id
    assert "赵党员" in harness.replies(await harness.send(ADMIN, "/members 第一党委/第一支部"))[0].text
    # Gone from the tree and from names; only one 第一支部 is left.
    assert (await _tree(harness)).count("第一支部") == 1
    assert "李书记" in harness.replies(await harness.send(ADMIN, "/members 第一支部"))[0].text
    # History: 第二党委's digest of this month still counts the record made in the merged branch.
    digest = "\n".join(c.text for c in harness.replies(await harness.send(ADMIN, "/digest 本月 第二党委")))
    assert "组织生活 1" in digest or "组织生活1" in digest

    reply = harness.replies(await harness.send(ADMIN, "/org merge 第一党委 第一党委/第一支部"))[0].text
    assert "不能并入它自己或它的下级组织" in reply
    (row,) = await audit_rows(harness, "org.merge")
    assert "第二党委/第一支部 → 第一党委/第一支部" in row.detail


async def test_archive_needs_an_empty_org_and_then_it_is_gone_from_everything_current(harness) -> None:
    await two_committees(harness)
    code = invite_code(
        harness.replies(await harness.send(ADMIN, "/invite 第二党委/第一支部 cadre 5"))[0].text
    )
    reply = harness.replies(await harness.send(ADMIN, "/org archive 第二党委"))[0].text
    assert "还有下级组织" in reply
    reply = harness.replies(await harness.send(ADMIN, "/org archive 第二党委/第一支部"))[0].text
    assert "还有 1 名成员" in reply
    await harness.send(ADMIN, "/member leave 赵党员 转出")
    reply = harness.replies(await harness.send(ADMIN, "/org archive 第二党委/第一支部"))[0].text
    assert "已撤销「第二党委/第一支部」：作废邀请码 1 个" in reply

    assert "第二党委（党委）· 0人" in await _tree(harness) and (await _tree(harness)).count("第一支部") == 1
    reply = harness.replies(await harness.send(ADMIN, "/members 第二党委/第一支部"))[0].text
    assert "没有找到组织" in reply
    reply = harness.replies(await harness.send(NEWCOMER, f"/start {code}"))[0].text
    assert "已作废" in reply
    # The name is free again under the same parent.
    reply = harness.replies(await harness.send(ADMIN, "/org add 第一支部 第二党委"))[0].text
    assert "已建立「第一支部」" in reply
    # A deactivated member of the archived org comes back only to a live org.
    reply = harness.replies(await harness.send(ADMIN, "/member back 40"))[0].text
    assert "原组织已撤销" in reply
    reply = harness.replies(await harness.send(ADMIN, "/member back 40 第二党委/第一支部"))[0].text
    assert "已恢复赵党员（第二党委/第一支部）" in reply
    reply = harness.replies(await harness.send(ADMIN, "/org archive 第一党委"))[0].text
    assert "不能撤销您自己所在的组织" in reply
    (row,) = await audit_rows(harness, "org.archive")
    assert "第二党委/第一支部 → 撤销" in row.detail
