"""Learned phrases in the rule file, and suggestions made from manual categorisations."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.parsing import Parser, RulesError
from bot.parsing.learning import Example, Known, suggest
from bot.parsing.rules import read_rules

NOW = dt.datetime(2026, 11, 27, 10, 0)


def test_a_learned_phrase_decides_its_category_and_a_keyword_inside_it_is_part_of_it() -> None:
    base = read_rules()
    before = Parser(base.parse())
    assert before.parse("今天开展三亮三比活动，参加12人", NOW).records == ()
    after = Parser(base.with_phrases([("三亮三比", "study", 70), ("支委会议事日", "service", 95)]).parse())
    records = after.parse("今天开展三亮三比活动，参加12人", NOW).records
    assert [(r.category, r.keyword, r.participants) for r in records] == [("study", "三亮三比", 12)]
    # 支委会 alone is org_life; inside the learned phrase it is part of the phrase
    assert [r.category for r in after.parse("今天召开支委会", NOW).records] == ["org_life"]
    assert [r.category for r in after.parse("今天开展支委会议事日", NOW).records] == ["service"]


@pytest.mark.parametrize(
    ("phrase", "code", "expected"),
    [
        (
            "谈心谈话",
            "study",
            r"keyword '谈心谈话' appears in category '(study|talk)' and in category '(study|talk)'",
        ),
        ("学习笔记", "study", r"neutral word '学习笔记' is also a keyword"),
        ("三亮 三比", "study", "holds a space"),
        ("三亮三比", "nosuch", "no category 'nosuch'"),
    ],
)
def test_an_overlay_goes_through_the_file_validation(phrase: str, code: str, expected: str) -> None:
    with pytest.raises(RulesError, match=expected):
        read_rules().with_phrases([(phrase, code, 70)]).parse()


def test_two_learned_phrases_for_one_word_in_two_categories_are_refused() -> None:
    with pytest.raises(RulesError, match="may decide one category only"):
        read_rules().with_phrases([("三亮三比", "study", 70), ("三亮三比", "service", 70)]).parse()


def _examples() -> list[Example]:
    texts = [
        "今天开展三亮三比活动，参加12人",
        "支部组织三亮三比，党员亮身份比贡献",
        "昨天下午开展三亮三比，共15人",
    ]
    return [Example(i, t, NOW, "study") for i, t in enumerate(texts)]


def test_suggestions_come_from_the_examples_with_what_they_fix_and_change() -> None:
    known = [
        Known(100, "今天召开支委会，参加7人", NOW, ("org_life",)),
        Known(101, "三亮三比推进会今天召开", NOW, ("deploy",)),  # correct today, would change
        Known(102, "三亮三比", NOW, ()),  # unread: would now be read
    ]
    found = suggest(read_rules(), _examples(), known)
    assert found, "no suggestion"
    top = found[0]
    assert "三亮三比" in top.word and top.category == "study"
    assert sorted(top.fixes) == [0, 1, 2] and top.breaks == ()
    assert top.weight >= 30  # strong enough to make a record of its own


def test_a_phrase_that_would_change_a_correct_record_says_which() -> None:
    examples = [Example(1, "今天组织三亮三比会议，参加9人", NOW, "study")]
    known = [Known(7, "今天召开三亮三比会议推进会", NOW, ("deploy",))]
    found = suggest(read_rules(), examples, known)
    changed = [c for s in found for c in s.changes]
    assert all(c.key == 7 and c.before == "deploy" for c in changed)
    for s in found:
        assert len(s.changes) <= len(s.fixes)


def test_nothing_is_suggested_when_every_example_is_read_right_already() -> None:
    examples = [Example(1, "今天召开支委会", NOW, "org_life")]
    assert suggest(read_rules(), examples) == []


def test_ignored_pairs_are_not_suggested_again() -> None:
    first = suggest(read_rules(), _examples())
    skip = [(s.word, s.category) for s in first]
    again = suggest(read_rules(), _examples(), skip=skip)
    assert not {(s.word, s.category) for s in again} & set(skip)


def test_the_child_process_answers_json_and_reports_bad_input() -> None:
    base = read_rules()
    request = {
        "rules": base.data,
        "user_dict": list(base.user_dict),
        "examples": [
            {"key": e.key, "text": e.text, "sent": e.sent.isoformat(), "category": e.category}
            for e in _examples()
        ],
    }
    run = [sys.executable, "-m", "bot.parsing.learning"]
    proc = subprocess.run(run, input=json.dumps(request), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["suggestions"] and answer["suggestions"][0]["category"] == "study"
    proc = subprocess.run(run, input="not json", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "error" in json.loads(proc.stdout)


ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "parsing"


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "evaluate.py").is_file(), reason="../shared/parsing is not there")
def test_the_learning_bench_prints_one_line_and_set_b_does_not_get_worse() -> None:
    proc = subprocess.run(
        [sys.executable, "bench/learning.py"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    m = re.fullmatch(
        r"learning: set A exact ([\d.]+)% -> ([\d.]+)%, set B exact ([\d.]+)% -> ([\d.]+)%, "
        r"suggestions (\d+), accepted (\d+)",
        line,
    )
    assert m, line
    a0, a1, b0, b1 = (float(g) for g in m.groups()[:4])
    assert a1 >= a0 and b1 >= b0


def test_the_learning_bench_says_when_the_shared_sets_are_missing(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "bench/learning.py", "--learn", str(tmp_path / "none.jsonl")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout.startswith("learning: not run: the shared labelled sets are not there")


def test_generic_words_are_not_suggested_and_time_words_are_not_names() -> None:
    examples = [
        Example(i, f"今天开展{name}活动，参加{i + 3}人", NOW, code)
        for i, (name, code) in enumerate([("红色代办", "service"), ("积分日", "org_life")] * 3)
    ]
    known = [
        Known(100 + i, text, NOW, (code,))
        for i, (text, code) in enumerate(
            [
                ("今天开展专题学习，参加20人", "study"),
                ("今天开展走访慰问", "service"),
                ("开展谈心谈话", "talk"),
            ]
            * 3
        )
    ]
    found = {(s.word, s.category) for s in suggest(read_rules(), examples, known)}
    assert ("红色代办", "service") in found and ("积分日", "org_life") in found
    assert not {w for w, _ in found} & {"开展", "活动", "今天", "今天开展", "开展红色代办"}
