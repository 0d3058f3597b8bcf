"""Calendar periods of targets: week (Monday to Sunday), month, quarter and year.

Pure functions over local calendar dates; bounds are inclusive.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.parsing.numbers import cn_to_int

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


# --- dates the user types (leave): future-friendly, unlike check-in dates ------------------------
DAY_HINT = "11月30日 · 12月5日 · 2026-12-01 · 12/1 · 今天 · 明天 · 周五 · 下周一"
_CN_NUM = "[一二三四五六七八九十]{1,3}"
_DAY_RE = re.compile(
    r"(?P<ymd>(?P<y>\d{4})\s*[年.\-/]\s*(?P<m>\d{1,2})\s*[月.\-/]\s*(?P<d>\d{1,2})\s*[日号]?)"
    r"|(?P<compact>(?P<y5>\d{4})(?P<m5>\d{2})(?P<d5>\d{2}))(?!\d)"
    r"|(?P<md>(?P<m2>\d{1,2})\s*(?:月\s*(?P<d2>\d{1,2})\s*[日号]?|[./-](?P<d3>\d{1,2})(?!\d)))"
    rf"|(?P<cn>(?P<m4>{_CN_NUM})月(?P<d4>{_CN_NUM})[日号]?)"
    r"|(?P<rel>今天|今日|明天|明日|大后天|后天|昨天|昨日|前天)"
    r"|(?P<wk>(?P<wp>本|这|下下|下)?个?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天]))"
)
_RELATIVE_DAYS = {
    "今天": 0,
    "今日": 0,
    "明天": 1,
    "明日": 1,
    "后天": 2,
    "大后天": 3,
    "昨天": -1,
    "昨日": -1,
    "前天": -2,
}
WEEKDAY_NAMES = "一二三四五六日"
# Separators allowed between two dates of a range.
_RANGE_SEP = re.compile(r"\s*(?:至|到|~|～|—|－|-|–)?\s*")


def _month_day(today: dt.date, month: int, day: int) -> dt.date | None:
    """A month and day without a year: this year, or next year when that is long past (12月 → 1月)."""
    try:
        found = dt.date(today.year, month, day)
    except ValueError:
        return None
    if (today - found).days > 180:
        try:
            found = dt.date(today.year + 1, month, day)
        except ValueError:
            return None
    return found


def _resolve_day(m: re.Match[str], today: dt.date) -> dt.date | None:
    if m.group("ymd") or m.group("compact"):
        names = ("y", "m", "d") if m.group("ymd") else ("y5", "m5", "d5")
        try:
            return dt.date(*(int(m.group(name)) for name in names))
        except ValueError:
            return None
    if m.group("md"):
        return _month_day(today, int(m.group("m2")), int(m.group("d2") or m.group("d3")))
    if m.group("cn"):
        month, day = cn_to_int(m.group("m4")), cn_to_int(m.group("d4"))
        return _month_day(today, month, day) if month and day else None
    if m.group("wk"):
        weekday = WEEKDAY_NAMES.index(m.group("wd").replace("天", "日"))
        prefix = m.group("wp")
        if not prefix:  # 周五: the coming one (today when it is Friday)
            return today + dt.timedelta(days=(weekday - today.weekday()) % 7)
        monday = today - dt.timedelta(days=today.weekday())  # weeks start on Monday
        weeks = {"本": 0, "这": 0, "下": 1, "下下": 2}[prefix]
        return monday + dt.timedelta(weeks=weeks, days=weekday)
    return today + dt.timedelta(days=_RELATIVE_DAYS[m.group("rel")])


def parse_day(text: str, today: dt.date) -> dt.date | None:
    """Exactly one date and nothing else (/holiday), or None."""
    days, rest = parse_days(text, today, limit=1)
    return days[0] if days and not rest else None


def parse_days(text: str, today: dt.date, *, limit: int = 2) -> tuple[list[dt.date | None], str]:
    """Leading dates of `text` (at most `limit`, e.g. a range 11月30日至12月5日) and the rest.

    A date that looks like one but does not exist (2月30日) comes back as None.
    """
    days: list[dt.date | None] = []
    pos = 0
    text = text.strip()
    while len(days) < limit:
        if days:
            sep = _RANGE_SEP.match(text, pos)
            start = sep.end() if sep else pos
        else:
            start = pos
        m = _DAY_RE.match(text, start)
        if m is None:
            break
        days.append(_resolve_day(m, today))
        pos = m.end()
    return days, text[pos:].strip()
