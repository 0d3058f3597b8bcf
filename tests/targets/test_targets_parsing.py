"""Reading /target set arguments and /leave dates (pure)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.parsing import CATEGORIES
from bot.periods import PERIODS, parse_days, period_bounds
from bot.targets import TargetSpecError, canonical_form, parse_target_spec

D = dt.date
KEYWORDS = {
    "支委会": "org_life",
    "支部委员会": "org_life",
    "党课": "org_life",
    "专题党课": "org_life",
    "谈心": "talk",
}


def spec(text: str):  # type: ignore[no-untyped-def]
    return parse_target_spec(text, categories=CATEGORIES, keywords=KEYWORDS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("支委会 每月 1 次 支部", ("支委会", "org_life", "支委会", 1, "month", "branch", None, "org")),
        ("支委会每月1次支部", ("支委会", "org_life", "支委会", 1, "month", "branch", None, "org")),
        ("每季度 党课", ("党课", "org_life", "党课", 1, "quarter", None, None, "org")),
        (
            "支部委员会 每月 两次 总支",
            ("支部委员会", "org_life", "支委会", 2, "month", "general_branch", None, "org"),
        ),
        ("谈心谈话 每月 2 次 书记", ("谈心谈话", "talk", None, 2, "month", None, "secretary", "member")),
        ("talk monthly 3", ("talk", "talk", None, 3, "month", None, None, "org")),
        ("学习教育，每周，至少1次，每人", ("学习教育", "study", None, 1, "week", None, None, "member")),
        ("党员大会 每年 4 次 党员", ("党员大会", None, "党员大会", 4, "year", None, "cadre", "member")),
        ("监督检查 每季 十二次 党委", ("监督检查", "inspect", None, 12, "quarter", "committee", None, "org")),
    ],
)
def test_parse_target_spec(text: str, expected: tuple) -> None:
    s = spec(text)
    assert (s.name, s.category, s.form, s.count, s.period, s.org_kind, s.role, s.scope) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "请写明"),
        ("支委会 1 次", "请写明周期"),
        ("每月 2 次 书记", "请写明是哪项工作"),
        ("打球 每月", "不认识“打球”"),
        ("党课 每月 101 次", "次数请写 1 到 100"),
        ("党课 每月 1 次 2 次", "只能写一个次数"),
        ("党课 每月 每年", "只能写一个周期"),
        ("党课 谈心谈话 每月", "没看懂“谈心谈话”"),
    ],
)
def test_parse_target_spec_errors(text: str, message: str) -> None:
    with pytest.raises(TargetSpecError, match=message):
        spec(text)


def test_form_aliases_map_to_one_form() -> None:
    assert canonical_form("支部委员会") == canonical_form("支委会") == "支委会"
    assert canonical_form("支部党员大会") == "党员大会"
    assert canonical_form("党小组会议") == "党小组会"
    assert canonical_form("廉政党课") == "党课"
    assert canonical_form("调研") == "调研"
    assert canonical_form(None) is None


TODAY = D(2026, 11, 27)


@pytest.mark.parametrize(
    ("text", "days", "rest"),
    [
        ("11月30日 12月5日 出差", [D(2026, 11, 30), D(2026, 12, 5)], "出差"),
        ("2026-12-01 2026-12-03", [D(2026, 12, 1), D(2026, 12, 3)], ""),
        ("11月30日至12月5日 培训学习", [D(2026, 11, 30), D(2026, 12, 5)], "培训学习"),
        ("12/1-12/3", [D(2026, 12, 1), D(2026, 12, 3)], ""),
        ("十二月一日到十二月三日", [D(2026, 12, 1), D(2026, 12, 3)], ""),
        ("明天", [D(2026, 11, 28)], ""),
        ("今天 后天 家里有事", [D(2026, 11, 27), D(2026, 11, 29)], "家里有事"),
        ("1月3日 1月5日", [D(2027, 1, 3), D(2027, 1, 5)], ""),  # long past this year: next year
        ("11月20日 11月30日", [D(2026, 11, 20), D(2026, 11, 30)], ""),  # recent past stays
        ("2月30日 3月2日", [None, D(2027, 3, 2)], ""),
        # weekdays look ahead (today is Friday 27 November); weeks start on Monday
        ("明天 下周五 出差", [D(2026, 11, 28), D(2026, 12, 4)], "出差"),
        ("周五", [D(2026, 11, 27)], ""),
        ("周一到周三 培训", [D(2026, 11, 30), D(2026, 12, 2)], "培训"),
        ("本周日", [D(2026, 11, 29)], ""),
        ("这个星期天", [D(2026, 11, 29)], ""),
        ("下下周三至下下周五", [D(2026, 12, 9), D(2026, 12, 11)], ""),
        ("礼拜二", [D(2026, 12, 1)], ""),
        ("大后天", [D(2026, 11, 30)], ""),
        ("cancel", [], "cancel"),
        ("出差 11月30日", [], "出差 11月30日"),
    ],
)
def test_parse_days(text: str, days: list, rest: str) -> None:
    assert parse_days(text, TODAY) == (days, rest)


@given(st.sampled_from(PERIODS), st.dates(min_value=D(2000, 1, 1), max_value=D(2099, 12, 30)))
def test_period_bounds_tile_the_calendar(period: str, on: dt.date) -> None:
    start, end = period_bounds(period, on)
    assert start <= on <= end
    assert period_bounds(period, start) == (start, end) == period_bounds(period, end)
    assert period_bounds(period, end + dt.timedelta(days=1))[0] == end + dt.timedelta(days=1)
    assert period_bounds(period, start - dt.timedelta(days=1))[1] == start - dt.timedelta(days=1)
