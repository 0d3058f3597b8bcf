"""The labelled dev sets, scored in-process with evaluate.py's definitions, against the targets."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.parsing import Parser

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "parsing"
FIELDS = ("category", "date", "participants", "duration_min", "issues_found", "issues_fixed")
TZ = ZoneInfo("Asia/Shanghai")

MIN_EXACT = 95.0
MIN_F1 = 97.0


def _items() -> list[dict]:
    paths = sorted(DATA.glob("checkins-dev*.jsonl"))
    assert paths, f"no labelled dev sets under {DATA}"
    items = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                items.append(json.loads(line))
    return items


def _score(items: list[dict], predicted: dict[str, list[dict]]) -> tuple[float, float, int]:
    """(exact %, record F1 % on (category, date), false records), as evaluate.py counts them."""
    exact = tp = n_gold = n_pred = false_records = 0
    for it in items:
        gold, got = it["records"], predicted[it["id"]]
        n_gold += len(gold)
        n_pred += len(got)
        if not gold:
            false_records += len(got)
        gold_keys = Counter((g["category"], g["date"]) for g in gold)
        got_keys = Counter((p["category"], p["date"]) for p in got)
        tp += sum((gold_keys & got_keys).values())
        if [tuple(g.get(k) for k in FIELDS) for g in gold] == [tuple(p.get(k) for k in FIELDS) for p in got]:
            exact += 1
    precision = tp / n_pred if n_pred else 1.0
    recall = tp / n_gold if n_gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return 100 * exact / len(items), 100 * f1, false_records


def test_dev_sets_meet_the_targets(parser: Parser) -> None:
    assert DATA.is_dir(), f"the labelled dev sets are missing: {DATA}"
    items = _items()
    predicted = {}
    for it in items:
        ref = dt.datetime.fromisoformat(it["ref"]).replace(tzinfo=TZ)
        predicted[it["id"]] = [r.to_json() for r in parser.parse(it["text"], ref).records]
    exact, f1, false_records = _score(items, predicted)
    assert false_records == 0
    assert exact >= MIN_EXACT, f"exact {exact:.1f}%"
    assert f1 >= MIN_F1, f"record F1 {f1:.1f}%"


@pytest.mark.parametrize(
    ("gold", "got", "expected"),
    [
        ([], [], (100.0, 100.0, 0)),
        ([], [{"category": "talk", "date": "2026-11-27"}], (0.0, 0.0, 1)),
    ],
)
def test_scoring_follows_evaluate_py(gold: list, got: list, expected: tuple) -> None:
    assert _score([{"id": "x", "records": gold}], {"x": got}) == expected
