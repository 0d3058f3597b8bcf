"""Calendar periods of targets: week (Monday to Sunday), month, quarter and year.

Pure functions over local calendar dates; bounds are inclusive.
"""

from __future__ import annotations

import datetime as dt

PERIODS: tuple[str, ...] = ("week", "month", "quarter", "year")
PERIOD_NAMES: dict[str, str] = {"week": "每周", "month": "每月", "quarter": "每季度", "year": "每年"}
# The period this is / the one before, as said of `today` (本月支委会 …, 上月 …).
_THIS: dict[str, str] = {"week": "本周", "month": "本月", "quarter": "本季度", "year": "今年"}
_PREVIOUS: dict[str, str] = {"week": "上周", "month": "上月", "quarter": "上季度", "year": "去年"}
_QUARTERS = ("第一季度", "第二季度", "第三季度", "第四季度")


def _check(period: str) -> None:
    if period not in PERIOD_NAMES:
        raise ValueError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")


def period_bounds(period: str, on: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day (inclusive) of the `period` containing `on`."""
    _check(period)
    if period == "week":
        start = on - dt.timedelta(days=on.weekday())
        return start, start + dt.timedelta(days=6)
    if period == "month":
        start = on.replace(day=1)
    elif period == "quarter":
        start = dt.date(on.year, 3 * ((on.month - 1) // 3) + 1, 1)
    else:
        return dt.date(on.year, 1, 1), dt.date(on.year, 12, 31)
    months = 1 if period == "month" else 3
    year, month = divmod(start.month - 1 + months, 12)
    return start, dt.date(start.year + year, month + 1, 1) - dt.timedelta(days=1)


def previous_start(period: str, start: dt.date) -> dt.date:
    """The first day of the period before the one starting at `start`."""
    return period_bounds(period, start - dt.timedelta(days=1))[0]


def period_label(period: str, start: dt.date, *, today: dt.date | None = None) -> str:
    """A short Chinese name of the period starting at `start`.

    Absolute by default (11月23日—29日 · 11月 · 第四季度 · 2026年); relative (本周 · 本月 · 本季度 ·
    今年, or 上周 …) when `today` is given and lies in that period or the one after it.
    """
    _check(period)
    if today is not None:
        current = period_bounds(period, today)[0]
        if start == current:
            return _THIS[period]
        if start == previous_start(period, current):
            return _PREVIOUS[period]
    if period == "week":
        end = start + dt.timedelta(days=6)
        tail = f"{end.day}日" if end.month == start.month else f"{end.month}月{end.day}日"
        return f"{start.month}月{start.day}日—{tail}"
    if period == "month":
        return f"{start.month}月"
    if period == "quarter":
        return _QUARTERS[(start.month - 1) // 3]
    return f"{start.year}年"
