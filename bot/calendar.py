"""The working-day calendar: China's statutory holidays and 调休 days plus admin overrides.

`chinese_calendar` knows a fixed range of years. For a year it does not know, the calendar falls back
to Monday–Friday (overrides still apply) and remembers the year in `unknown_years`, so admins can be
warned once; it never raises.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

import chinese_calendar

log = logging.getLogger(__name__)

POLICIES: tuple[str, ...] = ("skip", "previous", "next", "ignore")
POLICY_NAMES: dict[str, str] = {
    "skip": "节假日跳过",
    "previous": "节假日提前到前一个工作日",
    "next": "节假日顺延到下一个工作日",
    "ignore": "节假日照常",
}
# A holiday stretch is at most ~9 days; never search further than this for a working day.
_MAX_SHIFT_DAYS = 31


class WorkCalendar:
    """Answers "is this a working day?" for local dates."""

    def __init__(self, overrides: Mapping[dt.date, bool] | None = None) -> None:
        # day -> True when it is a day off, False when it is a working day (调休).
        self.overrides: dict[dt.date, bool] = dict(overrides or {})
        self.unknown_years: set[int] = set()

    def is_workday(self, day: dt.date) -> bool:
        if day in self.overrides:
            return not self.overrides[day]
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self.unknown_years:
                log.warning("holiday calendar has no data for %s; using weekdays", day.year)
                self.unknown_years.add(day.year)
            return day.weekday() < 5

    def is_holiday(self, day: dt.date) -> bool:
        return not self.is_workday(day)

    def shift(self, day: dt.date, policy: str) -> dt.date | None:
        """Where a fire on `day` goes under `policy`: the same day, another working day, or None."""
        if policy == "ignore" or self.is_workday(day):
            return day
        if policy == "skip":
            return None
        step = dt.timedelta(days=-1 if policy == "previous" else 1)
        current = day
        for _ in range(_MAX_SHIFT_DAYS):
            current += step
            if self.is_workday(current):
                return current
        return None

    def knows(self, year: int) -> bool:
        """Whether the statutory calendar covers `year` (without recording anything)."""
        try:
            chinese_calendar.is_workday(dt.date(year, 6, 1))
        except NotImplementedError:
            return False
        return True
