"""Time is injected: services ask a Clock, so tests move time without sleeping."""

from __future__ import annotations

import datetime as dt
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
