"""The rule file: validation at load time, and its own examples and counter-examples run as tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.parsing import CATEGORIES, Parser, RulesError, RuleSet, load_rules
from bot.parsing.rules import parse_rules

DEFAULT = Path(__file__).resolve().parents[2] / "bot" / "parsing" / "data" / "rules.json"


def _default_data() -> dict:
    return json.loads(DEFAULT.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_default_categories_match_the_constant(rules: RuleSet) -> None:
    assert rules.categories == CATEGORIES
    assert list(rules.categories) == list(CATEGORIES)


def _examples(kind: str) -> list[tuple[str, str]]:
    return [(c["code"], text) for c in _default_data()["categories"] for text in c.get(kind, [])]


@pytest.mark.parametrize(("code", "text"), _examples("examples"))
def test_rule_file_examples(parser: Parser, code: str, text: str) -> None:
    assert parser.classify(text) == code


@pytest.mark.parametrize(("code", "text"), _examples("counter_examples"))
def test_rule_file_counter_examples(parser: Parser, code: str, text: str) -> None:
    assert parser.classify(text) != code


def test_every_category_has_examples_and_counter_examples() -> None:
    for category in _default_data()["categories"]:
        assert category["examples"], category["code"]
        assert category["counter_examples"], category["code"]


def test_overlapping_keyword_is_rejected_naming_both_categories(tmp_path: Path) -> None:
    data = _default_data()
    by_code = {c["code"]: c for c in data["categories"]}
    by_code["inspect"]["keywords"]["谈心"] = 50  # also a talk keyword
    with pytest.raises(RulesError) as caught:
        load_rules(_write(tmp_path, data))
    message = str(caught.value)
    assert "'谈心'" in message and "'talk'" in message and "'inspect'" in message
    assert str(tmp_path / "rules.json") in message


def test_neutral_word_that_is_a_keyword_is_rejected() -> None:
    data = _default_data()
    data["neutral"].append("党课")
    with pytest.raises(RulesError, match=r"neutral word '党课'.*'org_life'"):
        parse_rules(data, "test.json")


def test_missing_file_is_reported_with_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "rules.json"
    with pytest.raises(RulesError, match="not found") as caught:
        load_rules(missing)
    assert str(missing) in str(caught.value)


def test_broken_json_is_reported_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text('{"categories": [\n  {"code": "x",,}\n]}', encoding="utf-8")
    with pytest.raises(RulesError, match=r"not valid JSON at line 2, column"):
        load_rules(path)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("categories"), "'categories' must be a non-empty list"),
        (lambda d: d["categories"][0].update(code="Bad Code"), "lower-case identifier"),
        (
            lambda d: d["categories"][1].update(code="deploy"),
            "category 'deploy': category code appears twice",
        ),
        (lambda d: d["categories"][0]["keywords"].update({"研究部署": "high"}), "weight must be an integer"),
        (lambda d: d["categories"][0]["keywords"].update({"三会 一课": 5}), "holds a space"),
        (lambda d: d.update(plan_cues=["(unclosed"]), "plan_cues: bad regular expression"),
        (lambda d: d["categories"][2].update(veto="学习"), "category 'study': veto: expected a list"),
        (lambda d: d.update(weak_weight=-1), "'weak_weight' must be a non-negative integer"),
        (
            lambda d: d["categories"][3].update(named_as_object="yes"),
            "named_as_object: expected true or false",
        ),
    ],
)
def test_inconsistent_rules_say_what_and_where(mutate, expected: str) -> None:
    data = _default_data()
    mutate(data)
    with pytest.raises(RulesError, match=expected):
        parse_rules(data, "custom.json")


def test_a_custom_rule_file_is_used(tmp_path: Path) -> None:
    data = _default_data()
    data["categories"].append(
        {
            "code": "canteen",
            "name": "食堂值守",
            "priority": 20,
            "keywords": {"食堂值守": 90},
            "examples": ["今天食堂值守"],
            "counter_examples": [],
        }
    )
    rules = load_rules(_write(tmp_path, data))
    assert rules.categories["canteen"] == "食堂值守"
    parser = Parser(rules)
    assert parser.classify("今天在机关食堂值守两小时") == "canteen"


def test_start_up_stops_on_a_broken_rules_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    import io
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    from bot.parsing.cli import run_cli

    path = tmp_path / "rules.json"
    path.write_text("not json", encoding="utf-8")
    args = argparse.Namespace(jsonl=True, ref=None, text=[])
    settings = SimpleNamespace(rules_path=path, tz=ZoneInfo("Asia/Shanghai"))
    code = run_cli(args, settings, stdin=io.StringIO(""), stdout=io.StringIO())
    assert code == 2
    err = capsys.readouterr().err
    assert str(path) in err and "not valid JSON" in err and "Traceback" not in err


def test_jieba_is_initialised_once_per_process(rules: RuleSet, monkeypatch: pytest.MonkeyPatch) -> None:
    import jieba

    Parser(rules)

    def _again() -> None:
        raise AssertionError("jieba initialised a second time")

    monkeypatch.setattr(jieba, "initialize", _again)
    second = Parser(rules)
    assert second.classify("召开支委会") == "org_life"


def test_importing_the_package_does_no_work() -> None:
    import subprocess
    import sys

    code = "import sys, bot.parsing; print('jieba' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False" and proc.stderr == ""
