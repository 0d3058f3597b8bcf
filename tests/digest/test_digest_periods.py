"""The period words of /digest and /export (pure, table-driven)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.periods_parse import parse_period, period_from_bounds, split_period_and_org

TODAY = dt.date(2026, 11, 27)  # a Friday
D = dt.date


@pytest.mark.parametrize(
    ("text", "kind", "start", "end", "label"),
    [
        ("本周", "week", D(2026, 11, 23), D(2026, 11, 29), "11月23日—29日"),
        ("上周", "week", D(2026, 11, 16), D(2026, 11, 22), "11月16日—22日"),
        ("本月", "month", D(2026, 11, 1), D(2026, 11, 30), "2026年11月"),
        ("上月", "month", D(2026, 10, 1), D(2026, 10, 31), "2026年10月"),
        ("本季度", "quarter", D(2026, 10, 1), D(2026, 12, 31), "2026年第四季度"),
        ("上季度", "quarter", D(2026, 7, 1), D(2026, 9, 30), "2026年第三季度"),
        ("2026-11", "month", D(2026, 11, 1), D(2026, 11, 30), "2026年11月"),
        ("2026年2月", "month", D(2026, 2, 1), D(2026, 2, 28), "2026年2月"),
        ("2024/2", "month", D(2024, 2, 1), D(2024, 2, 29), "2024年2月"),
        ("2026", "year", D(2026, 1, 1), D(2026, 12, 31), "2026年"),
        ("去年", "year", D(2025, 1, 1), D(2025, 12, 31), "2025年"),
        ("2026Q1", "quarter", D(2026, 1, 1), D(2026, 3, 31), "2026年第一季度"),
    ],
)
def test_period_words(text: str, kind: str, start: dt.date, end: dt.date, label: str) -> None:
    period = parse_period(text, TODAY)
    assert period is not None
    assert (period.kind, period.start, period.end, period.label) == (kind, start, end, label)


@pytest.mark.parametrize("text", ["2026-13", "2026-0", "上周五", "第一支部", "1999", "", "明年"])
def test_not_a_period(text: str) -> None:
    assert parse_period(text, TODAY) is None


def test_previous_periods_cross_years_and_month_lengths() -> None:
    january = parse_period("2026-01", TODAY)
    assert january is not None
    assert (january.previous().start, january.previous().end) == (D(2025, 12, 1), D(2025, 12, 31))
    span = period_from_bounds(D(2026, 11, 30), D(2026, 12, 6))
    assert span.kind == "week" and span.label == "11月30日—12月6日"
    free = period_from_bounds(D(2026, 11, 3), D(2026, 11, 12))
    assert free.kind == "days" and (free.previous().start, free.previous().end) == (
        D(2026, 10, 24),
        D(2026, 11, 2),
    )


def test_split_period_and_org() -> None:
    assert split_period_and_org([], TODAY) == (None, None)
    period, org = split_period_and_org(["上周", "第一", "支部"], TODAY)
    assert period is not None and period.start == D(2026, 11, 16) and org == "第一 支部"
    assert split_period_and_org(["第一支部"], TODAY) == (None, "第一支部")
