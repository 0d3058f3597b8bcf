"""Reading an office's roster spreadsheet (.xlsx or .csv in UTF-8 or GBK) into plain rows.

Columns are found by their Chinese headers (组织, 上级组织, 类型, 姓名, 手机号, 工号, 身份,
入党日期, and a few common variants); other columns are ignored. The header row is the first of
the first ten rows that names 组织. In a workbook the first sheet with such a header is read.

Whatever cannot be read is a `RosterFileError` with a short Chinese answer (plain text): a file
too big, not a spreadsheet, no sheet with the headers, merged cells. Cell-level problems
(formulas) are kept on the row for the planner to report with its row number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_BYTES = 20 * 1024 * 1024  # Telegram lets a bot download 20 MB; a 10,000-row roster is ~1 MB
MAX_ROWS = 60_000
HEADER_SEARCH_ROWS = 10

# Canonical field -> the headers that name it (compared without spaces, '*' or full-width colons).
HEADERS: dict[str, tuple[str, ...]] = {
    "org": ("组织", "组织名称", "党组织", "所在组织", "所在党组织", "所在支部", "党支部"),
    "parent": ("上级组织", "上级", "上级党组织", "上级组织名称"),
    "kind": ("类型", "组织类型"),
    "name": ("姓名", "名字"),
    "phone": ("手机号", "手机", "手机号码", "联系电话", "电话"),
    "staff_no": ("工号", "员工号", "职工号", "人员编号", "编号"),
    "role": ("身份", "角色"),
    "joined": ("入党日期", "入党时间"),
}
_BY_HEADER = {h: key for key, names in HEADERS.items() for h in names}


class RosterFileError(ValueError):
    """The file cannot be read as a roster (plain Chinese text; adapters escape it)."""


@dataclass(slots=True)
class RosterRow:
    number: int  # the row number as the spreadsheet shows it (1-based, header included)
    values: dict[str, str] = field(default_factory=dict)  # canonical field -> text
    formulas: list[str] = field(default_factory=list)  # header names of cells holding formulas


@dataclass
class RosterFile:
    sheet: str  # the sheet read ("" for a CSV)
    columns: list[str]  # canonical fields found
    rows: list[RosterRow]
    ignored: list[str]  # headers not understood (ignored)


def _clean_header(value: object) -> str:
    return re.sub(r"[\s*＊:：]", "", str(value or ""))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header_map(cells: list[object]) -> tuple[dict[int, str], list[str]]:
    found: dict[int, str] = {}
    ignored = []
    for index, cell in enumerate(cells):
        header = _clean_header(cell)
        key = _BY_HEADER.get(header)
        if key is not None and key not in found.values():
            found[index] = key
        elif header:
            ignored.append(header)
    return found, ignored


def _rows(lines: Iterator[tuple[int, list[object], list[bool]]], sheet: str) -> RosterFile | None:
    """Rows after the header (None when no header names 组织 in the first rows)."""
    header: dict[int, str] | None = None
    ignored: list[str] = []
    names: dict[int, str] = {}
    out: list[RosterRow] = []
    for number, cells, formula in lines:
        if header is None:
            if number > HEADER_SEARCH_ROWS:
                return None
            found, ignored = _header_map(cells)
            if "org" in found.values():
                header = found
                names = {i: _clean_header(cells[i]) for i in found}
            continue
        row = RosterRow(number)
        for index, key in header.items():
            if index < len(cells):
                text = _text(cells[index])
                if text:
                    row.values[key] = text
                if index < len(formula) and formula[index]:
                    row.formulas.append(names[index])
        if row.values or row.formulas:
            out.append(row)
            if len(out) > MAX_ROWS:
                raise RosterFileError(f"行数太多（超过 {MAX_ROWS:,} 行），请分成几个文件导入。")
    if header is None:
        return None
    return RosterFile(sheet, list(header.values()), out, ignored)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterFileError("CSV 文件的编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV，或直接发送 .xlsx。")


def _csv_lines(text: str) -> Iterator[tuple[int, list[object], list[bool]]]:
    for number, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        yield number, list(cells), [False] * len(cells)


def _merged(data: bytes) -> list[str]:
    """Sheets (by part name) that have merged cells: read-only openpyxl cannot see them."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [
            name
            for name in archive.namelist()
            if name.startswith("xl/worksheets/sheet") and b"<mergeCell " in archive.read(name)
        ]


def _xlsx(data: bytes) -> RosterFile:
    import openpyxl  # loaded only when a workbook is read

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many kinds for a broken or foreign file
        raise RosterFileError(
            "无法打开这个 Excel 文件，请确认是 .xlsx 格式（旧的 .xls 请另存为 .xlsx）。"
        ) from error
    try:
        merged = _merged(data)
        seen = []
        for index, sheet in enumerate(book.worksheets, start=1):
            seen.append(sheet.title)

            def lines(ws=sheet) -> Iterator[tuple[int, list[object], list[bool]]]:  # type: ignore[no-untyped-def]
                for number, row in enumerate(ws.iter_rows(), start=1):
                    values = [c.value for c in row]
                    formula = [getattr(c, "data_type", None) == "f" for c in row]
                    yield number, values, formula

            roster = _rows(lines(), sheet.title)
            if roster is None:
                continue
            if f"xl/worksheets/sheet{index}.xml" in merged:
                raise RosterFileError(
                    f"工作表「{sheet.title}」里有合并的单元格，无法逐行读取。请取消合并（每行填写完整）后再发送。"
                )
            return roster
    finally:
        book.close()
    raise RosterFileError(
        f"没有找到花名册表头（需要“组织”列，人员还需“姓名”和“手机号”或“工号”）。读到的工作表：{'、'.join(seen)}。"
    )


def read_roster(data: bytes, filename: str) -> RosterFile:
    """The roster in a file's bytes; `filename` decides the format (.xlsx or .csv)."""
    if len(data) > MAX_BYTES:
        raise RosterFileError(too_big(len(data)))
    lower = filename.lower()
    if lower.endswith(".csv"):
        roster = _rows(_csv_lines(_decode(data)), "")
        if roster is None:
            raise RosterFileError(
                "CSV 的前几行里没有找到表头（需要“组织”列，人员还需“姓名”和“手机号”或“工号”）。"
            )
        return roster
    if lower.endswith((".xlsx", ".xlsm")):
        return _xlsx(data)
    if lower.endswith(".xls"):
        raise RosterFileError("暂不支持旧的 .xls 格式，请在 Excel 里另存为 .xlsx 或 .csv 再发送。")
    raise RosterFileError("请发送 .xlsx 或 .csv 格式的花名册。")


def too_big(size: int) -> str:
    return f"文件太大（{size / 1024 / 1024:.1f} MB），花名册请控制在 {MAX_BYTES // 1024 // 1024} MB 以内。"
