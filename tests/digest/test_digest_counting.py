"""Nothing counts before it could have happened: an org's 起算日期, a member's joining day, and
periods not begun (through the real Application; the org is built as an office would)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from schedules.sched_support import add_schedule, fast_outbox

from helpers import Harness, TgUser

TZ = ZoneInfo("Asia/Shanghai")

ADMIN = TgUser(1, "王管理员")
SECRETARY = TgUser(30, "李书记")
CADRES = [TgUser(31, "张党员"), TgUser(32, "赵党员"), TgUser(33, "钱党员")]
# A Wednesday: the organisation starts using the bot today.
FIRST_DAY = dt.datetime(2026, 12, 2, 9, 0, tzinfo=TZ)
NEXT_MONDAY = dt.datetime(2026, 12, 7, 9, 0, tzinfo=TZ)


def _code(text: str) -> str:
    found = re.search(r"<code>(\w+)</code>", text)
    assert found, text
    return found.group(1)


async def _text(h: Harness, user: TgUser, command: str) -> str:
    return h.replies(await h.send(user, command))[0].text


async def new_organisation(h: Harness) -> None:
    """第一党委 → 第一支部 built on FIRST_DAY: a secretary and three cadres join with invites."""
    h.clock.set(FIRST_DAY)
    await h.send(ADMIN, "/org add 第一党委")
    await h.send(ADMIN, "/org add 第一支部 第一党委")
    code = _code(await _text(h, ADMIN, "/invite 第一支部 书记"))
    assert "欢迎加入" in await _text(h, SECRETARY, f"/start {code}")
    code = _code(await _text(h, ADMIN, "/invite 第一支部 cadre 5"))
    for cadre in CADRES:
        assert "欢迎加入" in await _text(h, cadre, f"/start {code}")


async def test_first_week_of_a_new_organisation(harness) -> None:
    await new_organisation(harness)
    assert "已记录" in await _text(harness, CADRES[0], "今天召开支委会，研究发展党员工作，参加5人")
    harness.clock.set(FIRST_DAY + dt.timedelta(days=1))
    assert "已记录" in await _text(harness, SECRETARY, "今天与2名党员开展谈心谈话")
    harness.clock.set(NEXT_MONDAY)

    digest = await _text(harness, SECRETARY, "/digest")
    assert digest.startswith("📊 <b>第一支部</b> · 11月30日—12月6日（12月2日起统计）\n报告 2/4 人")
    assert "连续" not in digest, "nobody was silent before they joined"
    # the weeks before the start are not idle weeks: 8 weeks back, only this one counted
    assert "第一支部 ·······▇ 1/1" in digest
    whole = await _text(harness, ADMIN, "/digest")
    assert whole.startswith("📊 <b>第一党委</b> · 11月30日—12月6日（12月2日起统计）")

    # no escalation over periods back before the start
    schedule = await add_schedule(harness, "每周一10:00", kind="escalation")
    await fast_outbox(harness).run(schedule.id, NEXT_MONDAY)
    for user in (SECRETARY, ADMIN):
        assert not any("连续" in c.text for c in harness.api.sent("sendMessage", chat_id=user.id))

    # readiness has no gaps for months before the start
    readiness = await _text(harness, SECRETARY, "/readiness")
    assert " · 缺 " not in readiness and "人有缺口" not in readiness and "个组织有缺口" not in readiness
    assert "1999年早于起算日期（2026年12月2日）" in await _text(harness, SECRETARY, "/readiness 1999")

    # a period wholly before the start is said to be so, not reported as all missed
    november = await _text(harness, SECRETARY, "/digest 上月")
    assert "该期间在起算日期（2026年12月2日）之前，不作统计。" in november
    assert "未报告" not in november


async def test_an_admin_moves_the_counting_start_and_earlier_periods_count(harness) -> None:
    await new_organisation(harness)
    harness.clock.set(NEXT_MONDAY)
    assert "起算日期：2026年12月2日" in await _text(harness, ADMIN, "/org 起算日期 第一党委")
    reply = await _text(harness, ADMIN, "/org 起算日期 第一党委 2026-11-01")
    assert "已将「第一党委」及下级共 2 个组织的起算日期设为 2026年11月1日" in reply
    # the branch's November now counts: its monthly meetings are gaps
    readiness = await _text(harness, ADMIN, "/readiness 2026 第一支部")
    assert "缺 11月" in readiness
    # members still count from the day they joined
    digest = await _text(harness, ADMIN, "/digest 2026-11 第一支部")
    assert "还没有成员加入" in digest
    # bad input: a clear answer, nothing changed
    assert "不能晚于今天" in await _text(harness, ADMIN, "/org 起算日期 第一党委 2027-01-01")
    assert "没看懂这个日期" in await _text(harness, ADMIN, "/org 起算日期 第一党委 昨天晚上")
    assert "没有找到组织「无此党委」" in await _text(harness, ADMIN, "/org 起算日期 无此党委 2026-11-01")
    assert "需要管理员权限" in await _text(harness, SECRETARY, "/org 起算日期 第一支部 2026-11-01")
    assert "2026年11月1日" in await _text(harness, ADMIN, "/org 起算日期 第一支部")


async def test_periods_not_begun_are_refused_or_drawn_as_not_begun(harness) -> None:
    await new_organisation(harness)
    await _text(harness, ADMIN, "/org 起算日期 第一党委 2026-10-01")
    harness.clock.set(NEXT_MONDAY)
    assert "2030年还没有开始" in await _text(harness, SECRETARY, "/digest 2030")
    assert "还没有开始" in await _text(harness, SECRETARY, "/export 2027-01")
    assert "2030年还没有开始" in await _text(harness, SECRETARY, "/readiness 2030")
    # this month's digest: weeks ahead are drawn as not begun, not as idle
    digest = await _text(harness, SECRETARY, "/digest 本月")
    bar = next(line for line in digest.splitlines() if line.startswith("第一支部 "))
    assert bar.startswith("第一支部 ") and bar.endswith("··· 0/5"), bar
