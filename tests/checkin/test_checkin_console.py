"""The console chat runs the real bot in a terminal, also under a plain pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _console(tmp_path: Path, lines: list[str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_URL", "ADMIN_"))}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'console.sqlite3'}"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--console"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_console_check_in_buttons_and_personas(tmp_path: Path) -> None:
    out = _console(
        tmp_path,
        [
            "今天组织主题党日，参加<b>18</b>人",
            "1",  # 撤销
            "恢复",
            "/as admin",
            "/org list",
            "/as 书记",
            "/as nobody",
            "/quit",
            "this line is never read",
        ],
    )
    assert "✅ 已记录 1 项" in out and "[1 撤销] [2 改类别] [3 改日期]" in out
    assert "（已更新）↩️ 已撤销" in out
    assert out.count("✅ 已记录 1 项") == 2, "restored by typing the button's label"
    assert "现在的身份：王管理员（管理员）" in out
    assert "现在的身份：李书记（书记）" in out, "roles may be named in Chinese"
    assert "示范党委（党委）· 1人" in out and "└ 第一支部（党支部）· 2人" in out
    assert "用法：/as 党员" in out
    assert "<" not in out.replace("<b>18</b>", ""), "HTML tags are stripped from the bot's replies"


@pytest.mark.slow
def test_console_keeps_its_database_and_seeds_only_once(tmp_path: Path) -> None:
    _console(tmp_path, ["今天开展志愿服务"])
    out = _console(tmp_path, ["今天组织集中学习", "/my", "/as admin", "/members"])
    assert "✅ 已记录 1 项" in out, "a new session's first check-in is new, not a redelivery"
    assert "本周（" in out and "志愿服务 1" in out and "学习教育 1" in out
    assert "👥 成员 3 人" in out
