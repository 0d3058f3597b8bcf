"""/whoami (/id): a user's own Telegram id, role and org, for the office to fill the roster."""

from __future__ import annotations

from admin_world import CADRE, OTHER, two_committees

from helpers import TgUser, group_chat

STRANGER = TgUser(500, "路人")


async def test_a_member_reads_their_id_role_and_org_path(harness) -> None:
    await two_committees(harness)
    reply = harness.replies(await harness.send(OTHER, "/whoami"))[0].text
    assert "<code>40</code>" in reply and "身份：党员" in reply and "组织：第二党委/第一支部" in reply
    reply = harness.replies(await harness.send(CADRE, "/id"))[0].text
    assert "<code>30</code>" in reply and "第一党委/第一支部" in reply


async def test_a_stranger_gets_their_id_and_how_to_join_and_nothing_is_stored(harness) -> None:
    await two_committees(harness)
    reply = harness.replies(await harness.send(STRANGER, "/id"))[0].text
    assert "<code>500</code>" in reply and "还没有加入组织" in reply
    reply = harness.replies(await harness.send(TgUser(501, "<b>x</b>"), "/whoami"))[0].text
    assert "<code>501</code>" in reply


async def test_in_a_group_the_answer_goes_private(harness) -> None:
    await two_committees(harness)
    calls = harness.replies(await harness.send(CADRE, "/whoami", chat=group_chat(-100)))
    private = [c for c in calls if c.chat_id == CADRE.id]
    assert private and "身份：党员" in private[0].text
    assert any(c.chat_id == -100 and "已私信" in c.text for c in calls)
