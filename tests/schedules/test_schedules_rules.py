"""Schedule phrases → fire times, with China's holidays and 调休 days (pure functions, no database)."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from bot.calendar import WorkCalendar
from bot.recurrence import (
    RuleError,
    ScheduleTrigger,
    Spec,
    fire_times_between,
    last_fire_time,
    next_fire_times,
    parse_rule,
)

TZ = ZoneInfo("Asia/Shanghai")
# Wednesday 2026-11-25 12:00, Beijing.
NOV25 = dt.datetime(2026, 11, 25, 12, 0, tzinfo=TZ)
# Friday 2026-09-25 12:00: Mid-Autumn (Sep 25-27 off), then National Day (Oct 1-7 off).
SEP25 = dt.datetime(2026, 9, 25, 12, 0, tzinfo=TZ)


def _times(text: str, now: dt.datetime, policy: str = "ignore", n: int = 5, cal: WorkCalendar | None = None):
    rule = parse_rule(text)
    spec = Spec(rule.cron, rule.special, TZ, policy)
    return [t.strftime("%m-%d %a %H:%M") for t in next_fire_times(spec, cal or WorkCalendar(), now, n)]


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("每天9:00", ["11-26 Thu 09:00", "11-27 Fri 09:00", "11-28 Sat 09:00"]),
        ("每日 21：30", ["11-25 Wed 21:30", "11-26 Thu 21:30", "11-27 Fri 21:30"]),
        ("每周五16:00", ["11-27 Fri 16:00", "12-04 Fri 16:00", "12-11 Fri 16:00"]),
        ("每周一三五 8:30", ["11-27 Fri 08:30", "11-30 Mon 08:30", "12-02 Wed 08:30"]),
        ("每周一至五下午3点半", ["11-25 Wed 15:30", "11-26 Thu 15:30", "11-27 Fri 15:30"]),
        ("每个工作日9:30", ["11-26 Thu 09:30", "11-27 Fri 09:30", "11-30 Mon 09:30"]),
        ("每月1日9:00", ["12-01 Tue 09:00", "01-01 Fri 09:00", "02-01 Mon 09:00"]),
        ("每月最后一个工作日10:00", ["11-30 Mon 10:00", "12-31 Thu 10:00", "01-29 Fri 10:00"]),
        ("每季度最后一个月15日10:00", ["12-15 Tue 10:00", "03-15 Mon 10:00", "06-15 Tue 10:00"]),
        ("0 16 * * 5", ["11-27 Fri 16:00", "12-04 Fri 16:00", "12-11 Fri 16:00"]),
        ("30 9 1,15 * *", ["12-01 Tue 09:30", "12-15 Tue 09:30", "01-01 Fri 09:30"]),
        ("每周日 晚上8点", ["11-29 Sun 20:00", "12-06 Sun 20:00", "12-13 Sun 20:00"]),
    ],
)
def test_phrase_fire_times(phrase: str, expected: list[str]) -> None:
    assert _times(phrase, NOV25, n=3) == expected


@pytest.mark.parametrize(
    "bad", ["每周八 9点", "每周五", "", "每月32日9:00", "hello", "61 * * * *", "每天25:00", "0 16 * *"]
)
def test_unparseable_phrases_are_refused(bad: str) -> None:
    with pytest.raises(RuleError):
        parse_rule(bad)


def test_cron_day_of_week_counts_sunday_as_zero_and_seven() -> None:
    assert _times("0 8 * * 0", NOV25, n=1) == _times("0 8 * * 7", NOV25, n=1) == ["11-29 Sun 08:00"]


def test_national_day_2026_holiday_policies() -> None:
    """Oct 1-7 2026 are off; Sun Sep 20 and Sat Oct 10 are make-up working days (调休)."""
    # Fridays Sep 25 (Mid-Autumn) and Oct 2 fall in holidays; Sep 24 16:00 is already past.
    assert _times("每周五16:00", SEP25, "previous", 2) == ["09-30 Wed 16:00", "10-09 Fri 16:00"]
    assert _times("每周五16:00", SEP25, "next", 3) == [
        "09-28 Mon 16:00",
        "10-08 Thu 16:00",
        "10-09 Fri 16:00",
    ]
    assert _times("每周五16:00", SEP25, "skip", 2) == ["10-09 Fri 16:00", "10-16 Fri 16:00"]
    assert _times("每周五16:00", SEP25, "ignore", 2) == ["09-25 Fri 16:00", "10-02 Fri 16:00"]
    # Every working day: nothing during the holiday, and the make-up Saturday counts.
    workdays = _times("每个工作日9:30", SEP25, n=5)
    assert workdays == [
        "09-28 Mon 09:30",
        "09-29 Tue 09:30",
        "09-30 Wed 09:30",
        "10-08 Thu 09:30",
        "10-09 Fri 09:30",
    ]
    assert _times("每个工作日9:30", dt.datetime(2026, 10, 9, 12, tzinfo=TZ), n=1) == ["10-10 Sat 09:30"]
    assert _times("每个工作日9:30", dt.datetime(2026, 9, 19, 12, tzinfo=TZ), n=1) == ["09-20 Sun 09:30"]
    # 每月1日 on National Day moves to the last working day before it.
    assert _times("每月1日9:00", SEP25, "previous", 1) == ["09-30 Wed 09:00"]


def test_admin_overrides_change_working_days() -> None:
    friday = dt.date(2026, 11, 27)
    cal = WorkCalendar({friday: True, dt.date(2026, 11, 28): False})
    assert not cal.is_workday(friday) and cal.is_workday(dt.date(2026, 11, 28))
    assert _times("每周五16:00", NOV25, "previous", 1, cal) == ["11-26 Thu 16:00"]
    assert _times("每周五16:00", NOV25, "next", 1, cal) == ["11-28 Sat 16:00"]
    assert _times("每个工作日9:30", NOV25, n=3, cal=cal) == [
        "11-26 Thu 09:30",
        "11-28 Sat 09:30",
        "11-30 Mon 09:30",
    ]


def test_unknown_year_falls_back_to_weekdays_and_is_flagged() -> None:
    cal = WorkCalendar()
    assert not cal.knows(2031) and cal.knows(2026)
    assert cal.is_workday(dt.date(2031, 1, 1))  # a Wednesday: New Year unknown, weekdays used
    assert not cal.is_workday(dt.date(2031, 1, 4))  # a Saturday
    assert cal.unknown_years == {2031}
    times = _times("每周五16:00", dt.datetime(2030, 12, 30, tzinfo=TZ), "previous", 2, cal)
    assert times == ["01-03 Fri 16:00", "01-10 Fri 16:00"]


def test_between_and_last_fire_time_agree_with_next() -> None:
    rule = parse_rule("每周五16:00")
    spec = Spec(rule.cron, rule.special, TZ, "previous")
    cal = WorkCalendar()
    ahead = next_fire_times(spec, cal, SEP25, 3)
    assert fire_times_between(spec, cal, SEP25, ahead[-1]) == ahead
    assert last_fire_time(spec, cal, ahead[1]) == ahead[1]
    assert last_fire_time(spec, cal, ahead[1] - dt.timedelta(seconds=1)) == ahead[0]


def test_trigger_follows_the_computed_times() -> None:
    rule = parse_rule("每周五16:00")
    trigger = ScheduleTrigger(Spec(rule.cron, rule.special, TZ, "previous"), WorkCalendar())
    first = trigger.get_next_fire_time(None, SEP25)
    assert first == dt.datetime(2026, 9, 30, 16, tzinfo=TZ)
    assert trigger.get_next_fire_time(first, first) == dt.datetime(2026, 10, 9, 16, tzinfo=TZ)


async def test_pacer_keeps_every_second_under_telegrams_limits() -> None:
    """25/s with a catch-up of at most 4 slots: never 30 in a second, never 2 per second in one chat."""
    from bot.outbox import Pacer

    clock = [0.0]
    stamps: list[tuple[float, int | None]] = []

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    pacer = Pacer(25, per_chat=1.0, monotonic=lambda: clock[0], sleep=sleep)
    for i in range(400):
        if i % 50 == 0:
            clock[0] += 0.7  # the sender stalls now and then, then tries to catch up
        chat = 7 if i % 60 == 0 else (None if i % 2 else 1000 + i)
        await pacer.wait(chat)
        stamps.append((clock[0], chat))
    times = [t for t, _ in stamps]
    busiest = max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
    assert 25 <= busiest <= 29
    own = [t for t, c in stamps if c == 7]
    assert min(b - a for a, b in itertools.pairwise(own)) >= 1.0
    pacer.pause(5)
    before = clock[0]
    await pacer.wait()
    assert clock[0] - before >= 5
