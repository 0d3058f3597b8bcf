"""Schedule rules: Chinese phrases or cron → a rule, and the fire times of a rule.

A rule is a standard five-field cron expression (minute hour day-of-month month day-of-week,
day-of-week 0/7 = Sunday) plus an optional `special` day filter for what cron cannot say
(每个工作日 with 调休, 每月最后一个工作日). Fire times are computed here, in the schedule's zone,
with its holiday policy applied, so `/schedule test`, the job trigger and the restart catch-up all
agree. Pure functions; the working-day calendar is passed in.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from bot.calendar import WorkCalendar
from bot.parsing.numbers import cn_to_int
from bot.periods import WEEKDAY_NAMES

ACCEPTED_FORMS = (
    "每天9:00 · 每周五16:00 · 每周一三五8:30 · 每个工作日9:30 · 每月1日9:00 · "
    "每月最后一个工作日10:00 · 每季度最后一个月15日10:00 · 或 cron：0 16 * * 5"
)
SPECIALS: tuple[str, ...] = ("workday", "first_workday", "last_workday", "last_day")
KIND_NAMES: dict[str, str] = {"nudge": "提醒", "digest": "汇总", "escalation": "督促升级"}
# A shifted fire lands at most this many days from its nominal day (see WorkCalendar.shift).
_SHIFT_SPAN = dt.timedelta(days=32)


class RuleError(ValueError):
    """The text is not a schedule rule we understand."""


@dataclass(frozen=True)
class Rule:
    label: str  # canonical Chinese wording, e.g. 每周五 16:00
    cron: str
    special: str | None = None


# --- cron ------------------------------------------------------------------------------------
_FIELD_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def _parse_field(text: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise RuleError(text)
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            if not (a.isdigit() and b.isdigit()):
                raise RuleError(text)
            start, end = int(a), int(b)
        elif part.isdigit():
            start = end = int(part)
            if step != 1:
                end = high
        else:
            raise RuleError(text)
        if not (low <= start <= end <= high):
            raise RuleError(text)
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday … 6 = Saturday
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, expr: str) -> Cron:
        fields = expr.split()
        if len(fields) != 5:
            raise RuleError(expr)
        parsed = [_parse_field(f, lo, hi) for f, (lo, hi) in zip(fields, _FIELD_RANGES, strict=True)]
        weekdays = frozenset(d % 7 for d in parsed[4])
        return cls(parsed[0], parsed[1], parsed[2], parsed[3], weekdays, fields[2] != "*", fields[4] != "*")

    def matches_day(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow  # cron's classic OR when both are given
        return dom and dow

    def times(self) -> list[dt.time]:
        return [dt.time(h, m) for h in sorted(self.hours) for m in sorted(self.minutes)]


# --- phrases ---------------------------------------------------------------------------------
_FULLWIDTH = str.maketrans("０１２３４５６７８９：　，、", "0123456789: ,,")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 0, "天": 0, "七": 0}
_CN_DIGITS.update({str(i): i % 7 for i in range(1, 8)})
_CRON_RE = re.compile(r"^[\d*/,\-]+(\s+[\d*/,\-]+){4}$")
_TIME_RE = re.compile(
    r"(?P<ampm>上午|早上|早晨|中午|下午|晚上)?\s*"
    r"(?P<h>\d{1,2}|[零一二两三四五六七八九十]{1,3})"
    r"(?:[:.](?P<m>\d{2})|[点时](?:(?P<m2>\d{1,2}|[零一二三四五六七八九十]{1,3})分?|(?P<half>半))?)"
)
_QUARTER_MONTH = {"第一个月": 0, "第二个月": 1, "第三个月": 2, "最后一个月": 2, "": 0}


def _cn_int(text: str) -> int:
    """An Arabic or Chinese numeral of a rule (十八, 二十, 30); RuleError when it is none."""
    value = int(text) if text.isdigit() else cn_to_int(text)
    if value is None:
        raise RuleError(text)
    return value


def _take_time(text: str) -> tuple[dt.time, str]:
    """Find the time of day in `text`; return it and the text without it."""
    matches = list(_TIME_RE.finditer(text))
    if not matches:
        raise RuleError(text)
    match = matches[-1]
    hour = _cn_int(match["h"])
    minute_text = match["m"] or match["m2"]
    minute = 30 if match["half"] else (_cn_int(minute_text) if minute_text else 0)
    if match["ampm"] in ("下午", "晚上") and hour < 12:
        hour += 12
    if match["ampm"] == "中午" and hour < 11:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise RuleError(text)
    return dt.time(hour, minute), (text[: match.start()] + text[match.end() :]).strip()


def _weekdays(text: str) -> list[int]:
    text = text.replace(",", "").replace("和", "").replace("及", "").replace("周", "")
    ranged = re.fullmatch(r"(.)(?:至|到|-|~)(.)", text)
    if ranged:
        a, b = (_CN_DIGITS.get(ch) for ch in ranged.groups())
        if a is None or b is None:
            raise RuleError(text)
        a, b = a or 7, b or 7
        if a > b:
            raise RuleError(text)
        return [d % 7 for d in range(a, b + 1)]
    found = [_CN_DIGITS.get(ch) for ch in text]
    days = [d for d in found if d is not None]
    if not days or len(days) != len(found):
        raise RuleError(text)
    return sorted(set(days), key=lambda d: d or 7)


def _hm(time: dt.time) -> str:
    return f"{time.hour}:{time.minute:02d}"


def parse_rule(text: str) -> Rule:
    """A Chinese phrase (每周五16:00 …) or a cron expression → Rule. Raises RuleError."""
    raw = (text or "").translate(_FULLWIDTH).strip()
    if not raw:
        raise RuleError(text)
    if _CRON_RE.match(raw):
        expr = " ".join(raw.split())
        Cron.parse(expr)
        return Rule(f"cron {expr}", expr)
    time, rest = _take_time(raw)
    rest = re.sub(r"[\s的]", "", rest)
    m, h = time.minute, time.hour
    hm = _hm(time)
    if rest in ("每天", "每日", "天天"):
        return Rule(f"每天 {hm}", f"{m} {h} * * *")
    if rest in ("每个工作日", "每工作日", "工作日", "每逢工作日", "工作日每天"):
        return Rule(f"每个工作日 {hm}", f"{m} {h} * * *", "workday")
    if match := re.fullmatch(r"(?:每周|每星期|每礼拜|周)(.+)", rest):
        days = _weekdays(match[1])
        names = "".join(WEEKDAY_NAMES[(d - 1) % 7] for d in days)  # cron 0 = Sunday
        return Rule(f"每周{names} {hm}", f"{m} {h} * * {','.join(str(d) for d in days)}")
    if match := re.fullmatch(r"每月(第一个|最后一个)工作日", rest):
        special = "first_workday" if match[1] == "第一个" else "last_workday"
        return Rule(f"每月{match[1]}工作日 {hm}", f"{m} {h} * * *", special)
    if rest in ("每月最后一天", "每月月底", "每月末"):
        return Rule(f"每月最后一天 {hm}", f"{m} {h} * * *", "last_day")
    if match := re.fullmatch(r"每(?:个)?月(\d{1,2}|[一二三四五六七八九十]{1,3})[日号]", rest):
        day = _cn_int(match[1])
        if not 1 <= day <= 31:
            raise RuleError(text)
        return Rule(f"每月{day}日 {hm}", f"{m} {h} {day} * *")
    quarter = (
        r"每(?:个)?季度?(第一个月|第二个月|第三个月|最后一个月|)(\d{1,2}|[一二三四五六七八九十]{1,3})[日号]"
    )
    if match := re.fullmatch(quarter, rest):
        offset, day = _QUARTER_MONTH[match[1]], _cn_int(match[2])
        if not 1 <= day <= 31:
            raise RuleError(text)
        months = ",".join(str(q + offset) for q in (1, 4, 7, 10))
        return Rule(f"每季度{match[1]}{day}日 {hm}", f"{m} {h} {day} {months} *")
    if match := re.fullmatch(r"每年(\d{1,2})月(\d{1,2})[日号]", rest):
        month, day = int(match[1]), int(match[2])
        if not (1 <= month <= 12 and 1 <= day <= 31):
            raise RuleError(text)
        return Rule(f"每年{month}月{day}日 {hm}", f"{m} {h} {day} {month} *")
    raise RuleError(text)


# --- fire times ------------------------------------------------------------------------------
class ScheduleLike(Protocol):
    """What a schedule row carries for its fire times."""

    cron: str
    special: str | None
    timezone: str
    holiday_policy: str


@dataclass(frozen=True)
class Spec:
    """What fire times depend on: the rule, the zone and the holiday policy."""

    cron: str
    special: str | None
    tz: ZoneInfo
    policy: str

    @classmethod
    def of(cls, schedule: ScheduleLike) -> Spec:
        return cls(schedule.cron, schedule.special, ZoneInfo(schedule.timezone), schedule.holiday_policy)


def _nominal_day(cron: Cron, special: str | None, day: dt.date, calendar: WorkCalendar) -> bool:
    if not cron.matches_day(day):
        return False
    if special is None:
        return True
    if special == "workday":
        return calendar.is_workday(day)
    if special == "last_day":
        return (day + dt.timedelta(days=1)).month != day.month
    if not calendar.is_workday(day):
        return False
    step = dt.timedelta(days=1 if special == "last_workday" else -1)
    other = day + step
    while other.month == day.month:
        if calendar.is_workday(other):
            return False
        other += step
    return True


def fire_times_between(
    spec: Spec, calendar: WorkCalendar, start: dt.datetime, end: dt.datetime
) -> list[dt.datetime]:
    """Every fire time t with start < t <= end, holiday policy applied, ascending."""
    cron = Cron.parse(spec.cron)
    times = cron.times()
    policy = "ignore" if spec.special else spec.policy  # special days are working days already
    day = (start - _SHIFT_SPAN).astimezone(spec.tz).date()
    last = (end + _SHIFT_SPAN).astimezone(spec.tz).date()
    found: set[dt.datetime] = set()
    while day <= last:
        if _nominal_day(cron, spec.special, day, calendar):
            target = calendar.shift(day, policy)
            if target is not None:
                for time in times:
                    when = dt.datetime.combine(target, time, tzinfo=spec.tz)
                    if start < when <= end:
                        found.add(when)
        day += dt.timedelta(days=1)
    return sorted(found)


def next_fire_times(
    spec: Spec, calendar: WorkCalendar, after: dt.datetime, count: int = 5
) -> list[dt.datetime]:
    """The next `count` fire times strictly after `after` (fewer if none within ~3 years)."""
    window = dt.timedelta(days=40)
    while True:
        found = fire_times_between(spec, calendar, after, after + window)
        if len(found) >= count or window > dt.timedelta(days=1200):
            return found[:count]
        window *= 3


def last_fire_time(spec: Spec, calendar: WorkCalendar, at: dt.datetime) -> dt.datetime | None:
    """The latest fire time at or before `at` within the last ~3 years."""
    window = dt.timedelta(days=40)
    while window <= dt.timedelta(days=1200):
        found = fire_times_between(spec, calendar, at - window, at)
        if found:
            return found[-1]
        window *= 3
    return None


class ScheduleTrigger(BaseTrigger):
    """An APScheduler trigger over `next_fire_times` (holidays and special days included)."""

    def __init__(self, spec: Spec, calendar: WorkCalendar) -> None:
        self.spec = spec
        self.calendar = calendar

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime | None:
        after = max(previous_fire_time, now) if previous_fire_time else now - dt.timedelta(microseconds=1)
        found = next_fire_times(self.spec, self.calendar, after, 1)
        return found[0] if found else None

    def __str__(self) -> str:
        return f"schedule[{self.spec.cron}{'/' + self.spec.special if self.spec.special else ''}]"


def zone_label(tz: str) -> str:
    return "北京时间" if tz in ("Asia/Shanghai", "Asia/Chongqing", "PRC") else tz


def format_fire(when: dt.datetime) -> str:
    weekday = WEEKDAY_NAMES[when.weekday()]
    return f"{when.month}月{when.day}日 周{weekday} {_hm(when.timetz())}"
