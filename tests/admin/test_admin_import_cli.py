"""`dutybot import FILE [--apply]`: the same dry run and apply on the command line."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[2]
LINES = [
    "组织,上级组织,类型,姓名,手机号,身份",
    "第一党委,,党委,,,",
    "第一支部,第一党委,,,,",
    "第一党委/第一支部,,,张三,13800000001,党员",
    "第一党委/第一支部,,,李四,13800000002,书记",
    "第一党委/第一支部,,,王五,13800000003,组长",
]


def _import(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "import", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_gbk_csv_is_previewed_applied_with_a_sheet_of_links_and_then_unchanged(
    database_url: str, tmp_path: Path
) -> None:
    roster = tmp_path / "花名册.csv"
    roster.write_bytes(("\r\n".join(LINES) + "\r\n").encode("gbk"))
    dry = _import(database_url, str(roster))
    assert dry.returncode == 0, dry.stderr
    assert "组织：新建 2" in dry.stdout and "人员：新建 2" in dry.stdout
    assert "第6行：身份「组长」无法识别" in dry.stdout and "--apply" in dry.stdout

    links = tmp_path / "links.xlsx"
    applied = _import(
        database_url, str(roster), "--apply", "--links", str(links), "--bot-username", "dutybot"
    )
    assert applied.returncode == 0, applied.stderr
    assert "邀请链接 2 个" in applied.stdout
    rows = list(openpyxl.load_workbook(io.BytesIO(links.read_bytes())).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["张三", "李四"]
    assert rows[1][5].startswith("https://t.me/dutybot?start=")

    again = _import(database_url, str(roster))
    assert "没有需要导入的变化" in again.stdout and "新建 0" in again.stdout


def test_a_missing_or_huge_file_is_refused_plainly(database_url: str, tmp_path: Path) -> None:
    missing = _import(database_url, str(tmp_path / "none.xlsx"))
    assert missing.returncode == 2 and "没有这个文件" in missing.stderr
    huge = tmp_path / "huge.xlsx"
    with huge.open("wb") as f:
        f.truncate(50 * 1024 * 1024)
    refused = _import(database_url, str(huge))
    assert refused.returncode == 2 and "文件太大（50.0 MB）" in refused.stderr
    assert "Traceback" not in refused.stderr
