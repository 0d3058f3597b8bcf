"""The flood guard never drops a command silently, and setting things up is not slowed by check-ins."""

from __future__ import annotations

from helpers import Harness, TgUser

ADMIN = TgUser(1, "管理员")
SECRETARY = TgUser(101, "王书记")


async def _tree(h: Harness) -> None:
    await h.add_org("第一党委")
    await h.add_org("第一支部", parent="第一党委")
    await h.add_member(SECRETARY, "第一支部", role="secretary")


async def test_every_command_past_the_limit_is_answered_by_name_and_runs_after_the_window(
    harness: Harness,
) -> None:
    await _tree(harness)
    limit = harness.services.settings.flood_max_commands
    for _ in range(limit):
        assert harness.replies(await harness.send(SECRETARY, "/my"))
    for command in ("/members", "/schedule", "/my"):
        (notice,) = harness.replies(await harness.send(SECRETARY, command))
        assert notice.text.startswith("⏳ 这条命令没有执行：" + command), "each one, by name"
        assert "请过一会儿再发" in notice.text
    harness.clock.advance(seconds=harness.services.settings.flood_window_seconds + 1)
    (members,) = harness.replies(await harness.send(SECRETARY, "/members"))
    assert members.text.startswith("👥 成员")


async def test_setting_up_is_not_limited_like_a_burst_of_check_ins(harness: Harness) -> None:
    await _tree(harness)
    burst = harness.services.settings.flood_max_messages + 5
    # an admin creating many orgs in a row: more commands than the check-in limit, all run
    for n in range(burst):
        (reply,) = harness.replies(await harness.send(ADMIN, f"/org add 第{n + 2}支部 第一党委"))
        assert f"第{n + 2}支部" in reply.text and "⏳" not in reply.text
    # a secretary's burst of check-ins does not hold back their commands
    for n in range(burst):
        await harness.send(SECRETARY, f"今天和党员谈心谈话，第{n + 1}次")
    (reply,) = harness.replies(await harness.send(SECRETARY, "/target"))
    assert "⏳" not in reply.text and "您发得有点快" not in reply.text
