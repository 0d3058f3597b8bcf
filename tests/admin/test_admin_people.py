"""People move and leave: a transfer keeps history with the org it was recorded in; a deactivated
member keeps their records and drops out of nudges, digests' silent lists and targets; scoped."""

from __future__ import annotations

import datetime as dt

from admin_world import ADMIN, CADRE, OTHER, SECRETARY, audit_rows, member_row, two_committees
from sqlalchemy import select

from bot.outbox import Pacer
from bot.recurrence import parse_rule
from helpers import TgUser
from storage import orgs
from storage import schedules as schedule_repo
from storage.models import DutyRecord, Target


async def test_a_transfer_moves_the_member_and_leaves_their_records_where_they_were_made(harness) -> None:
    await two_committees(harness)
    card = harness.replies(await harness.send(CADRE, "今天组织主题党日，参加18人"))[0].text
    assert "已记录" in card

    choice = harness.replies(await harness.send(ADMIN, "/member move 张党员 第一支部"))[0]
    reply = harness.replies(await harness.press(ADMIN, choice, "第二党委/第一支部"))[0].text
    assert "从「第一党委/第一支部」转到「第二党委/第一支部」" in reply

    moved = await member_row(harness, CADRE.id)
    async with harness.session() as session:
        record = (await session.execute(select(DutyRecord))).scalar_one()
        old = await orgs.get_org_by_name(session=session, name="第一党委/第一支部")
        new = await orgs.get_org_by_name(session=session, name="第二党委/第一支部")
    assert old is not None and new is not None
    assert moved.org_id == new.id and record.org_id == old.id
    listing = harness.replies(await harness.send(ADMIN, "/members 第二党委/第一支部"))[0].text
    assert "张党员" in listing and "赵党员" in listing
    # The old branch's digest still counts the record made there.
    digest = "\n".join(
        c.text for c in harness.replies(await harness.send(ADMIN, "/digest 本月 第一党委/第一支部"))
    )
    assert "组织生活 1" in digest or "组织生活1" in digest
    (row,) = await audit_rows(harness, "member.transfer")
    assert "第一党委/第一支部 → 第二党委/第一支部" in row.detail and row.actor_id is not None

    again = harness.replies(await harness.send(ADMIN, "/member move 张党员 第二党委/第一支部"))[0].text
    assert "已经在" in again


async def _nudge_run(harness) -> list[int]:  # type: ignore[no-untyped-def]
    """Fire a weekly nudge for a per-cadre study target; the chats nudged."""
    parsed = parse_rule("每周五10:00")
    async with harness.session() as session:
        session.add(
            Target(name="理论学习", category="study", count=1, period="week", role="cadre", scope="member")
        )
        schedule = await schedule_repo.add_schedule(
            session=session,
            rule_text=parsed.label,
            cron=parsed.cron,
            special=parsed.special,
            timezone="Asia/Shanghai",
            org_id=None,
            kind="nudge",
            holiday_policy="ignore",
            created_at=(harness.clock.now() - dt.timedelta(days=30)).astimezone(dt.UTC),
        )
    box = harness.services.scheduler.outbox
    box.pacer = Pacer(1_000_000, per_chat=0)
    before = len(harness.api.sent("sendMessage"))
    await box.run(schedule.id, harness.clock.now().replace(hour=10, minute=0))
    return [c.chat_id for c in harness.api.sent("sendMessage")[before:]]


async def test_a_deactivated_member_keeps_records_and_drops_out_of_nudges_and_silent_lists(harness) -> None:
    await two_committees(harness)
    stays = TgUser(42, "孙党员")
    await harness.add_member(stays, "第二党委/第一支部")
    await harness.send(CADRE, "今天开展理论学习")
    digest = "\n".join(c.text for c in harness.replies(await harness.send(ADMIN, "/digest 本周 第二党委")))
    assert "赵党员" in digest and "孙党员" in digest  # both silent so far
    reply = harness.replies(await harness.send(ADMIN, "/member leave 赵党员 转出"))[0].text
    assert "已停用赵党员（转出）" in reply and "/member back 40" in reply

    gone = await member_row(harness, OTHER.id)
    assert not gone.active and gone.left_reason == "转出" and gone.left_on == dt.date(2026, 11, 27)
    digest = "\n".join(c.text for c in harness.replies(await harness.send(ADMIN, "/digest 本周 第二党委")))
    assert "赵党员" not in digest and "孙党员" in digest
    nudged = await _nudge_run(harness)
    assert stays.id in nudged and OTHER.id not in nudged
    # The member left: the bot no longer treats them as bound.
    reply = harness.replies(await harness.send(OTHER, "/whoami"))[0].text
    assert "还没有加入组织" in reply
    listing = harness.replies(await harness.send(ADMIN, "/members 第二党委"))[0].text
    assert "赵党员" not in listing

    back = harness.replies(await harness.send(ADMIN, "/member back 40"))[0].text
    assert "已恢复赵党员（第二党委/第一支部）" in back
    assert (await member_row(harness, OTHER.id)).active
    assert [r.action for r in await audit_rows(harness, "member.deactivate")] == ["member.deactivate"]
    (row,) = await audit_rows(harness, "member.reactivate")
    assert "转出" in row.detail


async def test_a_secretary_manages_their_own_branch_only(harness) -> None:
    await two_committees(harness)
    reply = harness.replies(await harness.send(SECRETARY, "/member leave 赵党员"))[0].text
    assert "书记只能管理本组织及下级组织的成员" in reply
    reply = harness.replies(await harness.send(SECRETARY, "/member move 张党员 第二党委/第一支部"))[0].text
    assert "书记只能把成员转到本组织及下级组织" in reply
    reply = harness.replies(await harness.send(SECRETARY, "/member leave 王管理员"))[0].text
    assert "书记只能管理" in reply  # the admin sits above the branch
    reply = harness.replies(await harness.send(SECRETARY, "/member leave 李书记"))[0].text
    assert "不能对自己" in reply
    reply = harness.replies(await harness.send(CADRE, "/member leave 赵党员"))[0].text
    assert "需要书记或管理员权限" in reply
    reply = harness.replies(await harness.send(SECRETARY, "/member leave 张党员 离职"))[0].text
    assert "已停用张党员（离职）" in reply
    assert not (await member_row(harness, CADRE.id)).active


async def test_namesakes_and_bad_arguments_get_clear_answers(harness) -> None:
    await two_committees(harness)
    await harness.add_member(TgUser(41, "赵党员"), "第一党委")
    reply = harness.replies(await harness.send(ADMIN, "/member leave 赵党员"))[0].text
    assert "有 2 位成员叫「赵党员」，请用 ID 指定" in reply and "ID 40" in reply and "ID 41" in reply
    reply = harness.replies(await harness.send(ADMIN, "/member leave 钱党员"))[0].text
    assert "没有找到成员「钱党员」" in reply
    reply = harness.replies(await harness.send(ADMIN, "/member"))[0].text
    assert "/member move 成员 组织" in reply
    reply = harness.replies(await harness.send(ADMIN, "/member back 40"))[0].text
    assert "没有找到已停用的成员「40」" in reply
    reply = harness.replies(await harness.send(ADMIN, "/member leave 40 " + "很长的原因" * 10))[0].text
    assert "原因请控制在" in reply
    reply = harness.replies(await harness.send(ADMIN, "/member leave 王管理员"))[0].text
    assert "不能对自己" in reply
    reply = harness.replies(await harness.send(ADMIN, "/member move <b>x</b> 第一党委"))[0].text
    assert "&lt;b&gt;" in reply
