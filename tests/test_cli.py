"""The command line: start-up refuses a broken rule set with a message that says what and where."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        input="",
    )


def test_a_missing_rule_file_stops_start_up_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "rules.json"
    proc = _run(["run"], tmp_path, RULES_PATH=str(missing))
    assert proc.returncode == 2
    assert str(missing) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_broken_rule_file_stops_start_up_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "rules.json"
    broken.write_text("{ not json", encoding="utf-8")
    proc = _run(["run"], tmp_path, RULES_PATH=str(broken))
    assert proc.returncode == 2
    assert str(broken) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_parse_command_prints_the_records_of_one_message(tmp_path: Path) -> None:
    proc = _run(["parse", "--ref", "2026-11-27 10:15", "昨天与3名党员开展谈心谈话"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "talk" in proc.stdout and "2026-11-26" in proc.stdout


def test_parse_jsonl_answers_every_line_even_a_broken_one(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {"id": "a", "ref": "2026-11-27 10:15", "text": "今天开展主题党日活动"}, ensure_ascii=False
        ),
        "not json",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "parse", "--jsonl"],
        cwd=ROOT,
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert out[0]["records"][0]["category"] == "org_life"
    assert out[1]["records"] == [] and out[1]["error"]
