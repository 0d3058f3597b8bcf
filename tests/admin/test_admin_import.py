"""Bulk import of the org tree and roster by sending the file: a dry run first, one tap applies it
in one transaction, a second import changes nothing; people get personal links and are bound only
by their own tap; bad input gets a clear answer and loses nothing."""

from __future__ import annotations

import io
import re

import openpyxl
from admin_world import ADMIN, CADRE, audit_rows, two_committees
from sqlalchemy import func, select

from helpers import TgUser
from storage.models import InviteCode, Member, Org, RosterUpload

HEADER = ["序号", "组织", "上级组织", "类型", "姓名", "手机号", "工号", "身份", "入党日期", "备注"]
ROWS = [
    [1, "第三党委", "", "党委", "", "", "", "", "", ""],
    [2, "第一支部", "第三党委", "党支部", "", "", "", "", "", ""],
    [3, "机关总支", "第三党委", "党总支", "", "", "", "", "", "部门"],
    [4, "第一支部", "第三党委", "", "周一", "13900000001", "", "书记", "2001-07-01", ""],
    [5, "第三党委/第一支部", "", "", "吴二", "13900000002", "", "党员", "", ""],
    [6, "机关总支", "", "", "郑三", "", "A-77", "", "2010年5月", ""],
    [7, "第三支部", "第九党委", "", "", "", "", "", "", ""],
    [8, "第三党委/第一支部", "", "", "冯四", "13900000004", "", "副书记", "", ""],
    [9, "第三党委/第一支部", "", "", "吴二二", "139 0000 0002", "", "", "", ""],
]


def workbook(rows: list[list[object]], *, title: str = "花名册", before: list[str] | None = None) -> bytes:
    book = openpyxl.Workbook()
    first = book.active
    if before:
        first.title = before[0]
        first.append(["说明"])
        first.append(["本表为第二页"])
        sheet = book.create_sheet(title)
    else:
        first.title = title
        sheet = first
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def _count(harness, model) -> int:  # type: ignore[no-untyped-def]
    async with harness.session() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_a_dry_run_then_one_tap_imports_and_a_second_import_changes_nothing(harness) -> None:
    await two_committees(harness)
    orgs_before = await _count(harness, Org)
    preview = harness.replies(await harness.document(ADMIN, "花名册.xlsx", workbook(ROWS)))[0]
    text = preview.text
    assert "预览（尚未导入）：花名册.xlsx · 工作表「花名册」 · 9 行" in text
    assert "组织：新建 3 · 调整类型 0 · 不变 0" in text
    assert "人员：新建 3 · 不变 0" in text
    assert "有问题的行 3 行" in text
    assert "· 第8行：上级组织「第九党委」不存在" in text
    assert "· 第9行：身份「副书记」无法识别（可写：党员 / 书记 / 管理员）" in text
    assert "· 第10行：与第6行是同一人（手机 13900000002）" in text
    assert "忽略的列：序号、备注" in text
    # Nothing changed before the tap.
    assert await _count(harness, Org) == orgs_before and await _count(harness, InviteCode) == 0

    calls = await harness.press(ADMIN, preview, "确认导入")
    edited = next(c for c in calls if c.method == "editMessageText")
    assert "✅ 已导入" in edited.text and "新建 3" in edited.text
    sheet = next(c for c in calls if c.method == "sendDocument")
    assert "个人邀请链接 3 个" in sheet.text
    (name, content) = next(iter(sheet.files.values()))
    assert name == "邀请链接.xlsx"
    rows = list(openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert rows[0] == ("姓名", "组织", "身份", "手机号/工号", "邀请码", "邀请链接")
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["周一"][1:4] == ("第三党委/第一支部", "书记", "手机 13900000001")
    assert by_name["郑三"][1:4] == ("第三党委/机关总支", "党员", "工号 A-77")
    assert by_name["周一"][5].startswith("https://t.me/") and by_name["周一"][4] in by_name["周一"][5]
    async with harness.session() as session:
        kinds = dict((await session.execute(select(Org.name, Org.kind).where(Org.id > orgs_before))).all())
    assert kinds == {"第三党委": "committee", "第一支部": "branch", "机关总支": "general_branch"}
    # Nobody is bound yet: binding takes each person's own tap.
    assert await _count(harness, Member) == 4
    (row,) = await audit_rows(harness, "import.apply")
    assert "新建 3" in row.detail

    again = harness.replies(await harness.document(ADMIN, "花名册.xlsx", workbook(ROWS)))[0]
    assert "组织：新建 0 · 调整类型 0 · 不变 3" in again.text and "人员：新建 0 · 不变 3" in again.text
    assert "没有需要导入的变化" in again.text and not again.buttons
    assert await _count(harness, InviteCode) == 3 and await _count(harness, RosterUpload) == 0

    # A person taps their own link: bound with the roster's name, org and role.
    zhou = TgUser(800, "Zhou")
    code = by_name["周一"][4]
    reply = harness.replies(await harness.send(zhou, f"/start {code}"))[0].text
    assert "欢迎加入「第一支部」，您的身份是：书记" in reply
    me = harness.replies(await harness.send(zhou, "/whoami"))[0].text
    assert "姓名：周一" in me and "第三党委/第一支部" in me
    # The roster moves them: the next import is a change of org for the bound member.
    moved = [r[:] for r in ROWS]
    moved[3] = [4, "机关总支", "第三党委", "", "周一", "13900000001", "", "书记", "2001-07-01", ""]
    preview = harness.replies(await harness.document(ADMIN, "花名册.xlsx", workbook(moved)))[0]
    assert "调整组织 1" in preview.text
    await harness.press(ADMIN, preview, "确认导入")
    me = harness.replies(await harness.send(zhou, "/whoami"))[0].text
    assert "第三党委/机关总支" in me


async def test_cancel_forgets_the_file_and_a_stale_tap_is_answered(harness) -> None:
    await two_committees(harness)
    preview = harness.replies(await harness.document(ADMIN, "r.xlsx", workbook(ROWS[:2])))[0]
    calls = await harness.press(ADMIN, preview, "取消")
    assert "已取消，未导入任何内容" in next(c for c in calls if c.method == "editMessageText").text
    calls = await harness.press(ADMIN, preview, "确认导入")
    alert = next(c for c in calls if c.method == "answerCallbackQuery")
    assert "已经导入或已取消" in alert.params["text"]
    assert await _count(harness, Org) == 4


def _csv(lines: list[str], encoding: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


async def test_bad_files_get_a_clear_answer_and_change_nothing(harness) -> None:
    await two_committees(harness)

    async def answer(name: str, content: bytes, **kwargs) -> str:  # type: ignore[no-untyped-def]
        return harness.replies(await harness.document(ADMIN, name, content, **kwargs))[0].text

    assert "文件太大（50.0 MB）" in await answer("big.xlsx", b"x", size=50 * 1024 * 1024)
    assert "无法打开这个 Excel 文件" in await answer("broken.xlsx", b"not a zip")
    assert "暂不支持旧的 .xls" in await answer("old.xls", b"\xd0\xcf\x11\xe0")

    # A workbook whose sheets have no roster header; and one whose roster is on the second sheet.
    book = openpyxl.Workbook()
    book.active.append(["统计表", "数量"])
    book.create_sheet("Sheet2").append(["随便"])
    buffer = io.BytesIO()
    book.save(buffer)
    text = await answer("wrong.xlsx", buffer.getvalue())
    assert "没有找到花名册表头" in text and "Sheet2" in text
    text = await answer("second.xlsx", workbook(ROWS[:2], before=["说明"]))
    assert "工作表「花名册」" in text and "新建 2" in text

    # Merged cells.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append([1, "第三党委", "", "", "", "", "", "", "", ""])
    sheet.append([2, "第一支部", "第三党委", "", "", "", "", "", "", ""])
    sheet.merge_cells("C2:C3")
    buffer = io.BytesIO()
    book.save(buffer)
    assert "合并的单元格" in await answer("merged.xlsx", buffer.getvalue())

    # Formulas: the row is reported, the others go ahead.
    text = await answer(
        "f.xlsx",
        workbook([*ROWS[:2], [3, "第一支部", "第三党委", "", "=A1&B1", "13900000009", "", "", "", ""]]),
    )
    assert "第4行：单元格是公式（姓名）" in text

    # A GBK CSV with a cycle and a missing parent.
    lines = [
        "组织,上级组织,姓名,手机号",
        "甲支部,乙支部,,",
        "乙支部,甲支部,,",
        "丙支部,第九党委,,",
        "第一党委,,,",
    ]
    text = await answer("gbk.csv", _csv(lines, "gbk"))
    assert "第2行：上级关系形成循环：甲支部 → 乙支部 → 甲支部" in text
    assert "第4行：上级组织「第九党委」不存在" in text
    assert "组织：新建 0 · 调整类型 0 · 不变 1" in text
    text = await answer("utf8.csv", _csv(lines, "utf-8-sig"))
    assert "上级关系形成循环" in text
    assert "编码无法识别" in await answer("bin.csv", b"\xff\xfe\x00\x81\x82\x83\xfe")
    assert "没有找到表头" in await answer("r.csv", _csv(["a,b", "1,2"], "utf-8"))

    # Only admins import; their files elsewhere are not previewed.
    reply = harness.replies(await harness.document(CADRE, "花名册.xlsx", workbook(ROWS)))[0].text
    assert "只有管理员可以导入花名册" in reply
    assert await _count(harness, Org) == 4 and await _count(harness, InviteCode) == 0


async def test_many_bad_rows_come_with_a_problem_list(harness) -> None:
    await two_committees(harness)
    rows = [[i, "第一党委/第一支部", "", "", f"人{i}", "123", "", "", "", ""] for i in range(30)]
    calls = harness.replies(await harness.document(ADMIN, "r.xlsx", workbook(rows)), "sendDocument")
    (name, content) = next(iter(calls[0].files.values()))
    assert name == "问题清单.csv"
    text = content.decode("utf-8-sig")
    assert text.count("不是 11 位手机号") == 30 and re.search(r"^2,", text, re.M)
