"""The secretary's review loop: 退回 + 意见, the author fixes or answers, 通过; a returned record
counts as not done until then; every step audited."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook
from sqlalchemy import select

from helpers import TgUser, card_message
from storage.models import AuditLog, DutyRecord

ADMIN = TgUser(1, "管理员")
SECRETARY = TgUser(11, "李书记")
ZHANG = TgUser(12, "张党员")
OTHER = TgUser(21, "赵书记")


async def _setup(harness) -> None:  # type: ignore[no-untyped-def]
    await harness.add_org("第一党委")
    await harness.add_org("第一支部", parent="第一党委")
    await harness.add_org("第二支部", parent="第一党委")
    await harness.add_member(ADMIN, "第一党委", role="admin")
    await harness.add_member(SECRETARY, "第一支部", role="secretary")
    await harness.add_member(ZHANG, "第一支部")
    await harness.add_member(OTHER, "第二支部", role="secretary")


def _to(calls, user: TgUser):  # type: ignore[no-untyped-def]
    return [c for c in calls if c.method == "sendMessage" and c.chat_id == user.id]


async def _zhi_wei_hui(harness) -> str:  # type: ignore[no-untyped-def]
    """The 支委会 line of the secretary's digest of this month."""
    text = harness.replies(await harness.send(SECRETARY, "/digest 本月"))[0].text
    return next(line for line in text.splitlines() if line.startswith("· 支委会"))


async def test_return_with_opinion_fix_answer_and_accept(harness) -> None:
    await _setup(harness)
    await harness.send(ZHANG, "今天召开支委会，研究发展党员工作")
    assert await _zhi_wei_hui(harness) == "· 支委会（每月1次） 1/1个组织 ✅"

    # from the list (the digest's [审核记录] shows the same): [退回 #1] asks for the opinion
    listing = harness.replies(await harness.send(SECRETARY, "/review"))[0]
    assert "#1 张党员 【组织生活·支委会】11月27日" in listing.text
    digest = harness.replies(await harness.send(SECRETARY, "/digest 本月"))[0]
    assert _to(await harness.press(SECRETARY, digest, "审核记录"), SECRETARY)[0].text == listing.text
    calls = await harness.press(SECRETARY, listing, "退回 #1")
    question = _to(calls, SECRETARY)[0]
    assert question.text.startswith("✍️ 请写退回意见")
    calls = await harness.send(SECRETARY, "请补充参会人数和会议主题", reply_to=card_message(question))
    assert _to(calls, SECRETARY)[0].text == "已退回张党员的记录（【组织生活·支委会】11月27日），意见已转达。"
    notice = _to(calls, ZHANG)[0]
    assert notice.text.startswith(
        "📝 李书记退回了您的记录：【组织生活·支委会】11月27日\n意见：请补充参会人数和会议主题"
    )
    assert [b["text"] for row in notice.buttons for b in row] == ["补全台账", "改类别", "改日期", "回复书记"]
    # returned: not done until fixed or accepted
    assert await _zhi_wei_hui(harness) == "· 支委会（每月1次） 0/1个组织 · 1个组织临期 · 还剩3天 ⚠️"

    # the author answers; the secretary gets it with [通过]
    calls = await harness.press(ZHANG, notice, "回复书记")
    ask = _to(calls, ZHANG)[0]
    calls = await harness.send(ZHANG, "参会7人，主题是发展党员", reply_to=card_message(ask))
    forwarded = _to(calls, SECRETARY)[0]
    assert "张党员回复（记录 #1" in forwarded.text and "参会7人，主题是发展党员" in forwarded.text
    calls = await harness.press(ZHANG, forwarded, "通过")  # not the author
    assert "权限" in harness.replies(calls, "answerCallbackQuery")[0].params["text"]
    calls = await harness.press(SECRETARY, forwarded, "通过")
    assert _to(calls, ZHANG)[0].text.startswith("✅ 李书记已通过您的记录")
    assert await _zhi_wei_hui(harness) == "· 支委会（每月1次） 1/1个组织 ✅"

    # by command, and fixed by the author: it counts again as 已修改
    assert (
        "已退回张党员的记录" in harness.replies(await harness.send(SECRETARY, "/return 1 日期不对"))[0].text
    )
    assert await _zhi_wei_hui(harness) == "· 支委会（每月1次） 0/1个组织 · 1个组织临期 · 还剩3天 ⚠️"
    notice = _to(harness.api.calls, ZHANG)[-1]
    await harness.press(ZHANG, notice, "改日期")
    async with harness.session() as session:
        record = (await session.execute(select(DutyRecord))).scalar_one()
    assert record.review_status == "returned"

    # a secretary of another branch may not review it
    assert (
        "只能审核本组织及下级组织的记录"
        in harness.replies(await harness.send(OTHER, "/return 1 不行"))[0].text
    )
    assert "需要书记或管理员权限" in harness.replies(await harness.send(ZHANG, "/return 1 不行"))[0].text
    async with harness.session() as session:
        actions = sorted(
            (await session.execute(select(AuditLog.action).where(AuditLog.action.like("record.%")))).scalars()
        )
    assert actions == ["record.accept", "record.answer", "record.return", "record.return"]

    # the ledger shows the review
    document = harness.replies(await harness.send(SECRETARY, "/export 本月"), "sendDocument")[0]
    wb = load_workbook(io.BytesIO(document.files["document"][1]))
    ws = wb["台账"]
    values = [c.value for row in ws.iter_rows() for c in row]
    assert "已退回（待修改）" in values and any(isinstance(v, str) and "日期不对" in v for v in values)


async def test_the_author_fixing_the_date_counts_it_again(harness) -> None:
    await _setup(harness)
    await harness.send(ZHANG, "今天召开支委会")
    await harness.send(SECRETARY, "/return 1 日期应为昨天")
    notice = _to(harness.api.calls, ZHANG)[-1]
    picker = harness.replies(await harness.press(ZHANG, notice, "改日期"), "editMessageText")[0]
    calls = await harness.press(ZHANG, picker, "昨天")
    # the secretary gets the fixed record's card with [通过] [退回]
    card = _to(calls, SECRETARY)[0]
    assert card.text == "✏️ 退回的记录 #1 已修改，重新计入：【组织生活·支委会】11月26日"
    assert [b["text"] for row in card.buttons for b in row] == ["通过", "退回"]
    async with harness.session() as session:
        record = (await session.execute(select(DutyRecord))).scalar_one()
        revise = (await session.execute(select(AuditLog).where(AuditLog.action == "record.revise"))).first()
    assert record.review_status == "revised" and record.date == dt.date(2026, 11, 26) and revise is not None
    assert await _zhi_wei_hui(harness) == "· 支委会（每月1次） 1/1个组织 ✅"
