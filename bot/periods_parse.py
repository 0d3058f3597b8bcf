"""Reading the period a secretary asks about: 本周 · 上周 · 本月 · 上月 · 本季度 · 2026-11 · 2026.

Pure functions of (text, today). Bounds are inclusive local dates.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.periods import period_bounds, previous_start

PERIOD_HINT = "本周 · 上周 · 本月 · 上月 · 本季度 · 上季度 · 今年 · 去年 · 2026-11 · 2026年11月 · 2026"

_RELATIVE: dict[str, tuple[str, int]] = {
    "本周": ("week", 0),
    "这周": ("week", 0),
    "上周": ("week", 1),
    "本月": ("month", 0),
    "这个月": ("month", 0),
    "上月": ("month", 1),
    "上个月": ("month", 1),
    "本季度": ("quarter", 0),
    "本季": ("quarter", 0),
    "上季度": ("quarter", 1),
    "今年": ("year", 0),
    "本年": ("year", 0),
    "本年度": ("year", 0),
    "去年": ("year", 1),
    "上年": ("year", 1),
}
_MONTH = re.compile(r"^(\d{4})\s*(?:-|/|\.|年)\s*(\d{1,2})\s*月?$")
_QUARTER = re.compile(r"^(\d{4})\s*(?:-|年)?\s*(?:Q|q|第)([1-4一二三四])(?:季度)?$")
_YEAR = re.compile(r"^(\d{4})\s*年?(?:度)?$")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}


@dataclass(frozen=True)
class Period:
    kind: str  # week, month, quarter, year, or days (a free span)
    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        return period_text(self.start, self.end)

    def previous(self) -> Period:
        if self.kind == "days":  # a free span: the same number of days just before it
            length = self.end - self.start + dt.timedelta(days=1)
            return Period("days", self.start - length, self.start - dt.timedelta(days=1))
        start = previous_start(self.kind, self.start)
        return Period(self.kind, start, period_bounds(self.kind, start)[1])


def period_of(kind: str, on: dt.date, back: int = 0) -> Period:
    """The `kind` period containing `on`, or the one `back` periods earlier."""
    start, end = period_bounds(kind, on)
    period = Period(kind, start, end)
    for _ in range(back):
        period = period.previous()
    return period


def period_from_bounds(start: dt.date, end: dt.date) -> Period:
    """The calendar period with exactly these bounds; any other span counts as a run of days."""
    for kind in ("week", "month", "quarter", "year"):
        if period_bounds(kind, start) == (start, end):
            return Period(kind, start, end)
    return Period("days", start, end)


def last_full_week(today: dt.date) -> Period:
    return period_of("week", today, back=1)


def parse_period(text: str, today: dt.date) -> Period | None:
    """The period named by `text`, or None when it names none (a bad month gives None too)."""
    text = text.strip()
    if text in _RELATIVE:
        kind, back = _RELATIVE[text]
        return period_of(kind, today, back)
    if m := _MONTH.match(text):
        year, month = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12 and 2000 <= year <= 2100:
            return period_of("month", dt.date(year, month, 1))
        return None
    if m := _QUARTER.match(text):
        year, q = int(m.group(1)), m.group(2)
        quarter = _CN_DIGITS.get(q) or int(q)
        if 2000 <= year <= 2100:
            return period_of("quarter", dt.date(year, 3 * quarter - 2, 1))
        return None
    if m := _YEAR.match(text):
        year = int(m.group(1))
        if 2000 <= year <= 2100:
            return period_of("year", dt.date(year, 1, 1))
    return None


def split_period_and_org(args: list[str], today: dt.date) -> tuple[Period | None, str | None]:
    """`/digest [期间] [组织]`: the period if the first word names one, and the rest as an org name."""
    if not args:
        return None, None
    period = parse_period(args[0], today)
    rest = args[1:] if period is not None else args
    org = " ".join(rest).strip() or None
    return period, org


def period_text(start: dt.date, end: dt.date) -> str:
    """11月16日—22日 · 2026年11月 · 2026年第四季度 · 2026年 · 11月30日—12月6日 (any span)."""
    if start == dt.date(start.year, 1, 1) and end == dt.date(start.year, 12, 31):
        return f"{start.year}年"
    month_start, month_end = period_bounds("month", start)
    if start == month_start and end == month_end:
        return f"{start.year}年{start.month}月"
    q_start, q_end = period_bounds("quarter", start)
    if start == q_start and end == q_end:
        return f"{start.year}年第{'一二三四'[(start.month - 1) // 3]}季度"
    if start == end:
        return f"{start.month}月{start.day}日"
    if start.year != end.year:
        return f"{start.year}年{start.month}月{start.day}日—{end.year}年{end.month}月{end.day}日"
    tail = f"{end.day}日" if end.month == start.month else f"{end.month}月{end.day}日"
    return f"{start.month}月{start.day}日—{tail}"
