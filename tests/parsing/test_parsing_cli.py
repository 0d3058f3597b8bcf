"""`python -m bot parse`: the JSON-lines contract of SPEC.md and the single-message mode."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bot.parsing.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = SimpleNamespace(rules_path=None, tz=ZoneInfo("Asia/Shanghai"))


def _jsonl(lines: list[str]) -> list[dict]:
    out = io.StringIO()
    args = argparse.Namespace(jsonl=True, ref=None, text=[])
    assert run_cli(args, SETTINGS, stdin=io.StringIO("".join(line + "\n" for line in lines)), stdout=out) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_jsonl_answers_every_line_in_order() -> None:
    lines = [
        json.dumps(
            {"id": "a", "text": "昨天召开支委会，参加5人", "ref": "2026-11-27 10:15"}, ensure_ascii=False
        ),
        "not json",
        json.dumps({"id": "b", "text": "你好", "ref": "2026-11-27 10:15"}, ensure_ascii=False),
        json.dumps({"id": "c", "text": "召开支委会"}, ensure_ascii=False),
        json.dumps({"id": "d", "text": "召开支委会", "ref": "2026-02-30 10:00"}, ensure_ascii=False),
        json.dumps({"id": "e", "text": "召开支委会" * 400, "ref": "2026-11-27 10:15"}, ensure_ascii=False),
        "[1, 2]",
        "",
    ]
    answers = _jsonl(lines)
    assert len(answers) == len(lines)
    assert answers[0] == {
        "id": "a",
        "records": [
            {
                "category": "org_life",
                "date": "2026-11-26",
                "participants": 5,
                "duration_min": None,
                "issues_found": None,
                "issues_fixed": None,
            }
        ],
    }
    assert answers[1]["id"] is None and answers[1]["records"] == [] and answers[1]["error"]
    assert answers[2] == {"id": "b", "records": []}
    assert answers[3]["id"] == "c" and answers[3]["records"] == [] and "ref" in answers[3]["error"]
    assert answers[4]["id"] == "d" and answers[4]["records"] == [] and "ref" in answers[4]["error"]
    assert answers[5]["id"] == "e" and len(answers[5]["records"]) == 1
    assert answers[6]["id"] is None and answers[6]["error"]
    assert answers[7]["id"] is None and answers[7]["error"]


def test_single_message_prints_readable_records() -> None:
    out = io.StringIO()
    args = argparse.Namespace(jsonl=False, ref="2026-11-27 10:15", text=["上午召开支委会；下午讲党课"])
    assert run_cli(args, SETTINGS, stdin=io.StringIO(), stdout=out) == 0
    shown = json.loads(out.getvalue())
    assert [r["keyword"] for r in shown["records"]] == ["支委会", "党课"]
    assert shown["records"][0]["span"] == [0, 7]
    assert shown["intent"] == "report"


def test_single_message_with_a_bad_ref_fails_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(jsonl=False, ref="yesterday", text=["召开支委会"])
    assert run_cli(args, SETTINGS, stdin=io.StringIO(), stdout=io.StringIO()) == 2
    assert "ref" in capsys.readouterr().err


@pytest.mark.slow
def test_module_entry_point_reads_stdin(tmp_path: Path) -> None:
    feed = json.dumps({"id": "x", "text": "今天开展主题党日", "ref": "2026-11-27 10:15"}, ensure_ascii=False)
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "parse", "--jsonl"],
        input=feed + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["records"][0]["category"] == "org_life"
