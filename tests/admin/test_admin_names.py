"""Org names are unique among siblings: a path or an unambiguous name names an org everywhere,
an ambiguous name gets its choices as buttons."""

from __future__ import annotations

from admin_world import ADMIN, SECRETARY, two_committees
from sqlalchemy import func, select

from storage.models import InviteCode, Org


async def test_a_second_committee_may_have_its_own_first_branch_but_not_twice(harness) -> None:
    await harness.send(ADMIN, "/org add 第一党委")
    await harness.send(ADMIN, "/org add 第二党委")
    assert (
        "已建立「第一支部」"
        in harness.replies(await harness.send(ADMIN, "/org add 第一支部 第一党委"))[0].text
    )
    assert (
        "已建立「第一支部」"
        in harness.replies(await harness.send(ADMIN, "/org add 第一支部 第二党委"))[0].text
    )
    again = harness.replies(await harness.send(ADMIN, "/org add 第一支部 第二党委"))[0].text
    assert "「第二党委」下已经有「第一支部」了" in again
    # Under a path: 第一党委/第一支部 gets a 第一小组; the name is free under the other one.
    reply = harness.replies(await harness.send(ADMIN, "/org add 第一小组 第一党委/第一支部"))[0].text
    assert "上级：第一支部" in reply
    bad = harness.replies(await harness.send(ADMIN, "/org add 甲/乙 第一党委"))[0].text
    assert "不能有“/”" in bad
    async with harness.session() as session:
        count = (await session.execute(select(func.count()).select_from(Org))).scalar_one()
    assert count == 5
    tree = harness.replies(await harness.send(ADMIN, "/org list"))[0].text
    assert tree.count("第一支部（党支部）") == 2


async def test_a_path_names_the_org_and_an_ambiguous_name_offers_buttons(harness) -> None:
    await two_committees(harness)
    listing = harness.replies(await harness.send(ADMIN, "/members 第二党委/第一支部"))[0].text
    assert "赵党员" in listing and "张党员" not in listing

    choice = harness.replies(await harness.send(ADMIN, "/members 第一支部"))[0]
    assert "有 2 个组织叫「第一支部」" in choice.text
    labels = [b["text"] for row in choice.buttons for b in row]
    assert labels == ["第一党委/第一支部", "第二党委/第一支部"]
    listing = harness.replies(await harness.press(ADMIN, choice, "第二党委/第一支部"))[0].text
    assert "赵党员" in listing and "张党员" not in listing

    # /invite: the choice keeps the other arguments.
    choice = harness.replies(await harness.send(ADMIN, "/invite 第一支部 cadre 5"))[0]
    reply = harness.replies(await harness.press(ADMIN, choice, "第一党委/第一支部"))[0].text
    assert "加入「第一支部」" in reply and "可用 5 次" in reply
    async with harness.session() as session:
        invite = (await session.execute(select(InviteCode))).scalar_one()
        org = await session.get(Org, invite.org_id)
    assert org is not None and org.parent_id == 1  # 第一党委's branch


async def test_a_secretary_choosing_a_namesake_outside_their_tree_is_refused(harness) -> None:
    await two_committees(harness)
    choice = harness.replies(await harness.send(SECRETARY, "/members 第一支部"))[0]
    calls = await harness.press(SECRETARY, choice, "第二党委/第一支部")
    alerts = [c for c in calls if c.method == "answerCallbackQuery"]
    assert "只能查看本组织及下级组织" in alerts[0].params["text"]
    assert not harness.replies(calls)


async def test_names_that_match_nothing_and_forged_choices_are_answered(harness) -> None:
    await two_committees(harness)
    reply = harness.replies(await harness.send(ADMIN, "/members 第九党委/第一支部"))[0].text
    assert "没有找到组织「第九党委/第一支部」" in reply
    reply = harness.replies(await harness.send(ADMIN, "/members /第一支部"))[0].text
    assert "没有找到组织" in reply  # from the root: no root is called 第一支部
    forged = {
        "id": "1",
        "from": ADMIN.to_dict(),
        "chat_instance": "ci",
        "data": "pick:nosuch:#1",
    }
    calls = await harness.process({"callback_query": forged})
    assert "已失效" in calls[0].params["text"]
    forged["data"] = "pick:members:#99999"
    calls = await harness.process({"callback_query": dict(forged, id="2")})
    assert "没有找到组织" in calls[0].params["text"]


async def test_digest_and_schedules_take_a_path_and_refuse_an_ambiguous_name(harness) -> None:
    await two_committees(harness)
    reply = harness.replies(await harness.send(ADMIN, "/digest 本月 第一支部"))[0].text
    assert "第一党委/第一支部" in reply and "第二党委/第一支部" in reply
    reply = harness.replies(await harness.send(ADMIN, "/digest 本月 第二党委/第一支部"))
    assert any("第一支部" in c.text and "📊" in c.text for c in reply)
    reply = harness.replies(await harness.send(ADMIN, "/schedule add 每周五16:00 提醒 第一支部"))[0].text
    assert "有多个组织叫「第一支部」" in reply
    reply = harness.replies(await harness.send(ADMIN, "/schedule add 每周五16:00 提醒 第二党委/第一支部"))[
        0
    ].text
    assert reply.startswith("已添加") and "第一支部" in reply
