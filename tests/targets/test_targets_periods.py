"""Period arithmetic and labels (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.periods import PERIOD_NAMES, period_bounds, period_label
from bot.targets import state_of

D = dt.date


@pytest.mark.parametrize(
    ("period", "on", "bounds"),
    [
        ("week", D(2026, 11, 27), (D(2026, 11, 23), D(2026, 11, 29))),
        ("week", D(2026, 11, 23), (D(2026, 11, 23), D(2026, 11, 29))),
        ("week", D(2026, 11, 29), (D(2026, 11, 23), D(2026, 11, 29))),
        ("week", D(2026, 12, 31), (D(2026, 12, 28), D(2027, 1, 3))),
        ("month", D(2026, 11, 27), (D(2026, 11, 1), D(2026, 11, 30))),
        ("month", D(2028, 2, 10), (D(2028, 2, 1), D(2028, 2, 29))),
        ("month", D(2026, 12, 31), (D(2026, 12, 1), D(2026, 12, 31))),
        ("quarter", D(2026, 11, 27), (D(2026, 10, 1), D(2026, 12, 31))),
        ("quarter", D(2026, 3, 31), (D(2026, 1, 1), D(2026, 3, 31))),
        ("quarter", D(2026, 4, 1), (D(2026, 4, 1), D(2026, 6, 30))),
        ("year", D(2026, 11, 27), (D(2026, 1, 1), D(2026, 12, 31))),
    ],
)
def test_period_bounds(period: str, on: dt.date, bounds: tuple[dt.date, dt.date]) -> None:
    assert period_bounds(period, on) == bounds


def test_unknown_period_is_rejected() -> None:
    with pytest.raises(ValueError):
        period_bounds("fortnight", D(2026, 1, 1))


@pytest.mark.parametrize(
    ("period", "start", "today", "label"),
    [
        ("week", D(2026, 11, 23), None, "11月23日—29日"),
        ("week", D(2026, 11, 30), None, "11月30日—12月6日"),
        ("month", D(2026, 11, 1), None, "11月"),
        ("quarter", D(2026, 10, 1), None, "第四季度"),
        ("year", D(2026, 1, 1), None, "2026年"),
        ("week", D(2026, 11, 23), D(2026, 11, 27), "本周"),
        ("week", D(2026, 11, 16), D(2026, 11, 27), "上周"),
        ("month", D(2026, 11, 1), D(2026, 12, 2), "上月"),
        ("month", D(2026, 10, 1), D(2026, 12, 2), "10月"),
        ("quarter", D(2026, 10, 1), D(2026, 11, 2), "本季度"),
        ("year", D(2025, 1, 1), D(2026, 11, 2), "去年"),
    ],
)
def test_period_label(period: str, start: dt.date, today: dt.date | None, label: str) -> None:
    assert period_label(period, start, today=today) == label


def test_period_names() -> None:
    assert PERIOD_NAMES == {"week": "每周", "month": "每月", "quarter": "每季度", "year": "每年"}


@pytest.mark.parametrize(
    ("required", "done", "period", "days_left", "excused", "exempt", "state"),
    [
        (1, 1, "month", 20, False, False, "done"),
        (1, 0, "month", 8, False, False, "due"),
        (1, 0, "month", 7, False, False, "at_risk"),
        (2, 0, "month", 14, False, False, "at_risk"),  # two missing: twice the margin
        (2, 1, "month", 14, False, False, "due"),
        (1, 0, "week", 2, False, False, "at_risk"),
        (1, 0, "week", 3, False, False, "due"),
        (1, 0, "quarter", 22, False, False, "due"),
        (1, 0, "year", 60, False, False, "at_risk"),
        (1, 0, "month", -1, False, False, "overdue"),
        (1, 0, "month", 0, False, False, "at_risk"),
        (1, 0, "month", 3, False, True, "exempt"),
        (1, 1, "month", 3, False, True, "done"),
        (1, 1, "month", 3, True, False, "excused"),  # leave beats everything
        (1, 0, "month", -5, True, False, "excused"),
    ],
)
def test_state_rule(
    required: int, done: int, period: str, days_left: int, excused: bool, exempt: bool, state: str
) -> None:
    assert (
        state_of(
            required=required, done=done, period=period, days_left=days_left, excused=excused, exempt=exempt
        )
        == state
    )
