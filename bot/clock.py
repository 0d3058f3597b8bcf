"""Time is injected: services ask a Clock, so tests move time without sleeping."""

from __future__ import annotations

import datetime as dt
import re
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    tz: ZoneInfo

    def now(self) -> dt.datetime:
        """The current time, aware, in the configured zone."""
        ...


class SystemClock:
    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.tz)

    def today(self) -> dt.date:
        return self.now().date()


class FakeClock:
    """A clock that stands still until told to move."""

    def __init__(self, start: dt.datetime, tz: ZoneInfo | None = None) -> None:
        self.tz = tz or (start.tzinfo if isinstance(start.tzinfo, ZoneInfo) else ZoneInfo("Asia/Shanghai"))
        self._now = start if start.tzinfo else start.replace(tzinfo=self.tz)

    def now(self) -> dt.datetime:
        return self._now.astimezone(self.tz)

    def today(self) -> dt.date:
        return self.now().date()

    def set(self, when: dt.datetime) -> None:
        self._now = when if when.tzinfo else when.replace(tzinfo=self.tz)

    def advance(self, **delta: float) -> None:
        self._now += dt.timedelta(**delta)


class OffsetClock:
    """Real time moved by an offset: it flows like the wall clock, and `set` jumps it (the console)."""

    def __init__(self, tz: ZoneInfo, start: dt.datetime | None = None) -> None:
        self.tz = tz
        self._offset = dt.timedelta(0)
        if start is not None:
            self.set(start)

    def now(self) -> dt.datetime:
        return (dt.datetime.now(self.tz) + self._offset).astimezone(self.tz)

    def today(self) -> dt.date:
        return self.now().date()

    def set(self, when: dt.datetime) -> None:
        when = when if when.tzinfo else when.replace(tzinfo=self.tz)
        self._offset = when - dt.datetime.now(self.tz)


_WEEKDAYS = "一二三四五六日"
_UNITS = {
    "w": 604800,
    "周": 604800,
    "d": 86400,
    "天": 86400,
    "h": 3600,
    "时": 3600,
    "小时": 3600,
    "m": 60,
    "分": 60,
}
_RELATIVE = re.compile(r"\+\s*((?:\d+\s*(?:小时|[wdhm周天时分])\s*)+)", re.IGNORECASE)
_PART = re.compile(r"(\d+)\s*(小时|[wdhm周天时分])", re.IGNORECASE)
_TIME = re.compile(r"(\d{1,2})[:：](\d{2})")
_DATE = re.compile(r"(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日?")
_WEEKDAY = re.compile(r"(下)?(?:周|星期|礼拜)([一二三四五六日天])")


def parse_jump(text: str, now: dt.datetime) -> dt.datetime | None:
    """Where `/clock <text>` moves to: `+1d`, `+2h30m`, `周五 16:00`, `下周一 9:00`, `明天`,
    `2026-12-31 09:00`, `12-31`, `16:00`. A day without a time keeps the current time of day;
    a weekday or a bare time means the next one from now. None when the text is not understood."""
    text = text.strip()
    relative = _RELATIVE.fullmatch(text)
    if relative:
        seconds = sum(int(n) * _UNITS[unit.lower()] for n, unit in _PART.findall(relative.group(1)))
        return now + dt.timedelta(seconds=seconds)
    rest = text
    clock = _TIME.search(rest)
    hour, minute = (int(clock.group(1)), int(clock.group(2))) if clock else (now.hour, now.minute)
    if clock:
        rest = (rest[: clock.start()] + rest[clock.end() :]).strip()
    if hour > 23 or minute > 59:
        return None
    day: dt.date | None
    if not rest:
        day = now.date()
    elif rest in ("今天", "明天", "后天"):
        day = now.date() + dt.timedelta(days=("今天", "明天", "后天").index(rest))
    elif (weekday := _WEEKDAY.fullmatch(rest)) is not None:
        wanted = _WEEKDAYS.index(weekday.group(2).replace("天", "日"))
        ahead = (wanted - now.weekday()) % 7
        if weekday.group(1):  # 下周X: the X of next week
            ahead = 7 - now.weekday() + wanted
        day = now.date() + dt.timedelta(days=ahead)
    elif (date := _DATE.fullmatch(rest)) is not None:
        try:
            day = dt.date(int(date.group(1) or now.year), int(date.group(2)), int(date.group(3)))
        except ValueError:
            return None
    else:
        return None
    when = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=now.tzinfo)
    if when <= now and not (rest and _DATE.fullmatch(rest)) and rest != "今天":
        # a weekday or a bare time already past today means its next occurrence
        when += dt.timedelta(days=7 if rest else 1)
    return when
