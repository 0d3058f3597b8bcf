"""The Excel ledger read back with openpyxl, cell by cell; the audit log; the command line."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from digest_world import ADMIN, seed_world
from openpyxl import load_workbook
from sqlalchemy import select, update

from bot.cli import main as cli_main
from storage.db import in_thread
from storage.models import AuditLog, DutyRecord, Member, Org

CATEGORY_HEADERS = [
    "部署推进",
    "督办过问",
    "学习教育",
    "组织生活",
    "谈心谈话",
    "批评教育",
    "约谈诫勉",
    "监督检查",
    "调查研究",
    "志愿服务",
]


async def _fix_times(harness) -> None:  # type: ignore[no-untyped-def]
    async with harness.session() as session:
        await session.execute(
            update(DutyRecord).values(
                created_at=dt.datetime(2026, 11, 17, 2, 30, tzinfo=dt.UTC),
                updated_at=dt.datetime(2026, 11, 18, 1, 0, tzinfo=dt.UTC),
            )
        )


async def test_export_workbook_cell_by_cell(harness) -> None:
    await seed_world(harness)
    await _fix_times(harness)
    calls = await harness.send(ADMIN, "/export 2026-11")
    document = harness.replies(calls, "sendDocument")[0]
    name, data = document.files["document"]
    assert name == "台账_第一党委_20261101-20261130.xlsx"
    assert document.text == "📎 第一党委 · 2026年11月 台账，共 6 条记录。"
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == [
        "汇总",
        "台账",
        "支部党员大会",
        "支委会",
        "党小组会",
        "党课",
        "其他会议",
        "指标完成",
        "未报告",
    ]

    summary = wb["汇总"]
    rows = [list(r) for r in summary.iter_rows(values_only=True)]
    assert rows[0] == ["组织", "类型", *CATEGORY_HEADERS, "合计", "支委会（每月1次）"]
    assert rows[1] == ["第一党委", "党委", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, "—"]
    assert rows[2] == ["第一支部", "党支部", 0, 0, 1, 1, 2, 0, 0, 0, 0, 0, 4, "1/1 已完成"]
    # on 11-27 three days are left for 第二支部's 支委会: at risk
    assert rows[3] == ["第二支部", "党支部", 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, "0/1 临期"]
    assert len(rows) == 4

    ledger = wb["台账"]
    assert ledger.freeze_panes == "A2" and summary.freeze_panes == "A2"
    header = [c.value for c in ledger[1]]
    assert header == [
        "组织",
        "姓名",
        "类别",
        "形式",
        "日期",
        "人数",
        "时长（分钟）",
        "发现问题",
        "整改问题",
        "原文",
        "佐证数",
        "填报时间",
        "修改时间",
        "审核状态",
        "意见",
    ]
    assert all(c.font.bold for c in ledger[1])
    first = [c.value for c in ledger[4]]  # 第一支部's second record: the 支委会 of 11-17
    assert first == [
        "第一支部",
        "张三",
        "组织生活",
        "支委会",
        dt.datetime(2026, 11, 17),
        7,
        90,
        3,
        1,
        "召开支委会<研究>&部署，发现问题3个，整改1个",
        2,
        dt.datetime(2026, 11, 17, 10, 30),
        dt.datetime(2026, 11, 18, 9, 0),
        None,
        None,
    ]
    assert ledger["E4"].number_format == "yyyy-mm-dd"
    assert ledger["L4"].number_format == "yyyy-mm-dd hh:mm"
    assert ledger.column_dimensions["J"].width == 60
    dates = [r[4].date() for r in ledger.iter_rows(min_row=2, values_only=True)]
    orgs = [r[0] for r in ledger.iter_rows(min_row=2, values_only=True)]
    assert orgs == ["第一党委", "第一支部", "第一支部", "第一支部", "第一支部", "第二支部"]
    assert dates == [dt.date(2026, 11, d) for d in (20, 10, 17, 18, 19, 11)]
    empty = [c.value for c in ledger[3]]  # a record without counts leaves the cells empty
    assert empty[5:9] == [None, None, None, None] and empty[10] == 0

    silent = [list(r) for r in wb["未报告"].iter_rows(values_only=True)]
    assert silent == [
        ["组织", "姓名", "身份", "情况", "连续未报告"],
        ["第一党委", "管理员", "管理员", "未报告", "7个月以上"],
        ["第一支部", "<b>李四</b>", "党员", "未报告", "7个月以上"],
        ["第二支部", "钱五", "党员", "无法送达", "7个月以上"],
        ["第二支部", "孙六", "党员", "未报告", "7个月以上"],  # 3 days of leave do not excuse a month
    ]

    async with harness.session() as session:
        audit = (await session.execute(select(AuditLog).where(AuditLog.action == "export"))).scalars().all()
        admin = (await session.execute(select(Member).where(Member.telegram_id == ADMIN.id))).scalar_one()
    assert len(audit) == 1
    assert audit[0].actor_id == admin.id and audit[0].object_type == "org"
    assert audit[0].detail == "第一党委 2026-11-01..2026-11-30 records=6"


async def test_export_defaults_to_this_year(harness) -> None:
    await seed_world(harness)
    document = harness.replies(await harness.send(ADMIN, "/export"), "sendDocument")[0]
    assert document.text == "📎 第一党委 · 2026年 台账，共 7 条记录。"  # October's inspection too


async def test_command_line_export(harness, settings, tmp_path: Path, monkeypatch, capsys) -> None:
    await seed_world(harness)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    out = tmp_path / "ledger.xlsx"
    code = in_thread(cli_main, ["export", "--period", "2026-11", "--org", "第一支部", "-o", str(out)])
    assert code == 0
    assert f"wrote {out} (4 records, 2026年11月)" in capsys.readouterr().out
    wb = load_workbook(out)
    assert [r[1] for r in wb["台账"].iter_rows(min_row=2, values_only=True)] == [
        "张三",
        "张三",
        "李书记",
        "李书记",
    ]
    code = in_thread(cli_main, ["export", "--period", "2026-11", "--org", "没有这个组织", "-o", str(out)])
    assert code == 2 and "没有找到组织「没有这个组织」" in capsys.readouterr().err
    async with harness.session() as session:
        audit = (await session.execute(select(AuditLog).where(AuditLog.action == "export"))).scalars().all()
    assert [(a.actor_id, a.detail) for a in audit] == [(None, "第一支部 2026-11-01..2026-11-30 records=4")]


async def test_user_text_is_written_as_plain_text(harness) -> None:
    await seed_world(harness)
    from digest_world import ZHANG, add_record

    await add_record(
        harness,
        ZHANG,
        dt.date(2026, 11, 21),
        "study",
        "=学习",
        text='=HYPERLINK("http://x","点我")\x07\x1b完',
    )
    document = harness.replies(await harness.send(ADMIN, "/export 2026-11 第一支部"), "sendDocument")[0]
    ledger = load_workbook(io.BytesIO(document.files["document"][1]))["台账"]
    last = ledger[ledger.max_row]
    assert last[3].value == "=学习" and last[3].data_type == "s"
    assert last[9].value == '=HYPERLINK("http://x","点我")完' and last[9].data_type == "s"


async def test_a_too_large_export_asks_for_a_shorter_period(harness, monkeypatch) -> None:
    await seed_world(harness)
    from bot import export

    monkeypatch.setattr(export, "LEDGER_LIMIT", 5)
    calls = await harness.send(ADMIN, "/export 2026-11")
    assert harness.replies(calls, "sendDocument") == []
    assert harness.replies(calls)[0].text.startswith("这段时间共有 6 条记录，超过单个文件 5 条的上限。")
    assert len(harness.replies(await harness.send(ADMIN, "/export 2026-11 第一支部"), "sendDocument")) == 1


async def test_an_org_name_with_markup_characters_is_escaped_in_the_caption(harness) -> None:
    await seed_world(harness)
    async with harness.session() as session:
        await session.execute(update(Org).where(Org.name == "第一支部").values(name="A&B<第一>支部"))
    document = harness.replies(await harness.send(ADMIN, "/export 2026-11 A&B<第一>支部"), "sendDocument")[0]
    caption = document.params["caption"]
    assert "A&amp;B&lt;第一&gt;支部" in caption, caption


HOSTILE_MEMBER = "\u202e张\x00三\x01\n\u200f\ufffe\u2028" + "长" * 190
HOSTILE_ORG = 'A&B\x01<第一>\u202e支部\u2066/:*?"'


async def test_hostile_names_give_a_workbook_that_opens_and_a_clean_file_name(harness) -> None:
    """A name with control characters made the xlsx unreadable (its title); file names kept NUL,
    newlines and right-to-left marks and grew past 255 bytes."""
    import unicodedata

    from digest_world import ZHANG

    await seed_world(harness)
    async with harness.session() as session:
        await session.execute(update(Org).where(Org.name == "第一支部").values(name=HOSTILE_ORG))
        await session.execute(
            update(Member).where(Member.telegram_id == ZHANG.id).values(name=HOSTILE_MEMBER)
        )

        org_id = (await session.execute(select(Org.id).where(Org.name == HOSTILE_ORG))).scalar_one()

    names = []
    # (a "/" in a name would read as a path: such an org, named before paths, is named by its #id)
    for user, command in ((ZHANG, "/export 2026-11"), (ADMIN, f"/export 2026-11 #{org_id}")):
        calls = await harness.send(user, command)
        (document,) = harness.replies(calls, "sendDocument")
        name, data = document.files["document"]
        names.append(name)
        assert len(name.encode()) <= 255 and name.endswith("_20261101-20261130.xlsx"), name
        assert not [ch for ch in name if unicodedata.category(ch) in ("Cc", "Cf", "Zl") or ch in '/\\:*?"<>|']
        wb = load_workbook(io.BytesIO(data))  # it opens
        assert "\x01" not in (wb.properties.title or "") and "\ufffe" not in (wb.properties.title or "")
        cells = [v for ws in wb for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
        assert 'A&B<第一>\u202e支部\u2066/:*?"' in cells
        assert "A&amp;B" in document.params["caption"], "escaped"
    assert names[0].startswith("台账_张三长长长") and 250 <= len(names[0].encode()) <= 255
    assert names[1] == "台账_A&B第一支部_20261101-20261130.xlsx"
    ledger = load_workbook(io.BytesIO(data))["台账"]
    zhang = [r[1] for r in ledger.iter_rows(min_row=2, values_only=True) if "长长" in (r[1] or "")]
    assert zhang and zhang[0] == "\u202e张三\n\u200f\u2028" + "长" * 190
