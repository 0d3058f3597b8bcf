"""`dutybot demo`: the console on a believable office with eight weeks of history."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _demo(tmp_path: Path, lines: list[str], *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_URL", "ADMIN_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", *args],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_demo_builds_an_office_with_history_and_opens_the_console(tmp_path: Path) -> None:
    out = _demo(
        tmp_path, ["/as 管理员", "/org list", "/members", "/digest 上周", "/export", "/clock 下周一 9:10"]
    )
    assert "示范党委（党委）" in out
    assert out.count("（党总支）") == 2 and out.count("（党支部）") == 6
    assert "👥 成员 40 人" in out
    digest = out[out.index("📊 示范党委") :]
    reported = re.search(r"报告 (\d+)/(\d+) 人（请假 \d+）", digest)
    assert reported, digest[:400]
    assert 15 <= int(reported.group(1)) < int(reported.group(2)), "most reported, some did not"
    assert "未报告" in digest and "学习教育" in digest
    ledger = re.search(r"\[文件：([^\]]+\.xlsx)\] 📎 示范党委 · \d+年 台账，共 (\d+) 条记录", out)
    assert ledger and int(ledger.group(2)) > 200
    assert (tmp_path / ledger.group(1)).read_bytes().startswith(b"PK")
    # the first Monday digest goes out to every secretary and the admin
    assert "⏰" in out and "工作摘要（每周一 9:00）" in out


@pytest.mark.slow
def test_demo_is_rebuilt_from_nothing_each_time(tmp_path: Path) -> None:
    first = _demo(tmp_path, ["/as 管理员", "/members"])
    second = _demo(tmp_path, ["/as 管理员", "/members"])
    assert "👥 成员 40 人" in first and "👥 成员 40 人" in second


@pytest.mark.slow
def test_demo_on_a_database_that_has_the_office_already_keeps_it(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'own.sqlite3'}"
    first = _demo(tmp_path, ["/as 管理员", "/members"], "--database-url", url)
    again = _demo(tmp_path, ["/as 管理员", "/members"], "--database-url", url)
    assert "👥 成员 40 人" in first
    assert "已经有「示范党委」，沿用其中的数据" in again and "👥 成员 40 人" in again
