"""The meeting ledger (台账): what the text states is filled in, 补全台账 adds the rest in one
message, and the export has a sheet per meeting form with a title block and print settings."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook
from sqlalchemy import select

from bot.export import MEETING_HEADERS
from helpers import TgUser, card_message
from storage.models import AuditLog, DutyRecord

SECRETARY = TgUser(11, "李书记")
ZHANG = TgUser(12, "张党员")

MEETING = "今天召开支部党员大会，应到25人，实到22人，由书记张三主持，主题为学习党章，缺席：王五（出差）、赵六（病假）"


async def _setup(harness) -> None:  # type: ignore[no-untyped-def]
    await harness.add_org("第一支部")
    await harness.add_member(SECRETARY, "第一支部", role="secretary")
    await harness.add_member(ZHANG, "第一支部")


async def _record(harness) -> DutyRecord:  # type: ignore[no-untyped-def]
    async with harness.session() as session:
        return (await session.execute(select(DutyRecord))).scalar_one()


async def test_the_text_fills_the_ledger_and_one_message_completes_it(harness) -> None:
    await _setup(harness)
    card = harness.replies(await harness.send(ZHANG, MEETING))[0]
    record = await _record(harness)
    assert (record.keyword, record.participants, record.expected_count, record.absent_count) == (
        "支部党员大会",
        22,
        25,
        3,
    )
    assert (record.host, record.topic, record.absent_reasons) == (
        "张三",
        "学习党章",
        "王五（出差）、赵六（病假）",
    )
    assert (record.recorder, record.place) == (None, None)  # nothing is required

    calls = await harness.press(ZHANG, card, "补全台账")
    question = next(c for c in calls if c.method == "sendMessage")
    assert question.text.startswith("📋 补全台账，记录 #1：")
    calls = await harness.send(ZHANG, "哈哈", reply_to=card_message(question))
    assert harness.replies(calls)[0].text.startswith("没看出台账内容。")
    calls = await harness.send(ZHANG, "记录人李四，地点=党员活动室", reply_to=card_message(question))
    reply = harness.replies(calls)[0].text
    assert "主持人：张三" in reply and "记录人：李四" in reply and "地点：=党员活动室" in reply
    record = await _record(harness)
    assert (record.recorder, record.place, record.host) == ("李四", "=党员活动室", "张三")
    async with harness.session() as session:
        audited = (await session.execute(select(AuditLog).where(AuditLog.action == "record.ledger"))).first()
    assert audited is not None

    # someone else's record cannot be completed
    calls = await harness.send(SECRETARY, "记录人王五", reply_to=card_message(question))
    assert harness.replies(calls)[0].text == "只能补全自己的记录。"

    # a talk is not a meeting: no ledger button
    card = harness.replies(await harness.send(ZHANG, "今天和王五谈心谈话"))[-1]
    assert "补全台账" not in [b["text"] for row in card.buttons for b in row]

    document = harness.replies(await harness.send(SECRETARY, "/export 本月"), "sendDocument")[0]
    wb = load_workbook(io.BytesIO(document.files["document"][1]))
    assert wb.sheetnames[2:7] == ["支部党员大会", "支委会", "党小组会", "党课", "其他会议"]
    ws = wb["支部党员大会"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0][0] == "第一支部 支部党员大会台账"
    assert rows[1][:3] == ["组织：第一支部", "期间：2026年11月", "导出人：李书记"]
    assert rows[1][3].startswith("导出时间：2026-11-27 ")
    assert tuple(rows[2]) == MEETING_HEADERS
    assert rows[3] == [
        1,
        "第一支部",
        dt.datetime(2026, 11, 27),
        None,
        "=党员活动室",
        "张三",
        "李四",
        25,
        22,
        3,
        "王五（出差）、赵六（病假）",
        "学习党章",
        MEETING,
        "张党员",
        0,
        None,
        None,
    ]
    assert ws["E4"].data_type == "s"  # text starting with = stays text, never a formula
    assert ws.freeze_panes == "A4" and ws.print_title_rows == "$3:$3"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert len(list(wb["支委会"].iter_rows())) == 3  # title block and header, no records
