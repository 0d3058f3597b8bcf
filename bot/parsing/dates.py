"""Dates stated in a clause, resolved against the send time (past preference)."""

from __future__ import annotations

import datetime as dt
import re

from bot.parsing.numbers import cn_to_int

_WEEKDAY = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7}
_WEEKDAY.update({str(i): i for i in range(1, 8)})

_CN = "[一二三四五六七八九十]"
# A day followed by 前 / 之前 / 为止 is a deadline (11月30日前), not the day of an activity.
_NOT_DEADLINE = r"(?!\s*(?:前(?![往来去进])|之前|以前|为止|止))"

DATE_RE = re.compile(
    r"(?<!截至)(?<!截止)(?:"
    r"(?P<ymd>(?<!\d)(?P<y1>\d{4})\s*[年.\-/]\s*(?P<m1>\d{1,2})\s*[月.\-/]\s*(?P<d1>\d{1,2})(?:\s*[日号]|(?!\d)))"
    + _NOT_DEADLINE
    + r"|(?P<md>(?<![\d.])(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*[日号])"
    + _NOT_DEADLINE
    + r"|(?P<mdot>(?<![\d.:：\-/])(?P<m3>\d{1,2})[.\-/](?P<d3>\d{1,2})"
    r"(?![\d.:：\-/]|\s*(?:小时|个|分|万|元|倍|%|天|人|名|次|h)))"
    rf"|(?P<cnmd>(?<!{_CN})(?P<m4>{_CN}{{1,3}})月(?P<d4>{_CN}{{1,3}})[日号])"
    + _NOT_DEADLINE
    + r"|(?P<dd>(?:(?P<mp>本月|这个月|上月|上个月)|(?<![\d.月第\-/]))(?P<d5>\d{1,2})\s*[日号](?![\d内后]))"
    + _NOT_DEADLINE
    + r"|(?P<rel>大前天|前天|前日|昨天|昨日|昨晚|昨早|昨夜|今天|今日|今早|今晚|今儿|当天|当日|同日|同一天|次日|第二天)"
    r"|(?P<wk>(?P<pre>上上个?|上个?|本|这个?)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7]))"
    r")"
)
_YEARS_BACK = re.compile(r"(?P<back>去年|前年)\s*$")

# A month without a day that stands as the time of the act (11月份开展了…, 去年12月开展的党课,
# 上月召开了…): the first day of that month. A month followed by the name of a form instead
# (11月份主题党日) only says which period's meeting it is and sets no date.
_MONTH = re.compile(
    r"(?<![\d.月第])(?:(?P<back>去年|前年|今年)|(?P<year>\d{4})\s*年)?\s*"
    r"(?:(?P<last>上个?月)|(?P<month>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])\s*月份?)"
    r"(?:上旬|中旬|下旬|初|中)?"
    r"(?=\s*[，,]?\s*(?:以来|期间|里|内)?\s*[，,]?\s*(?:先后|共|共计|累计|分别|集中|陆续|又|再次|已|已经|还|就)?\s*"
    r"(?:开展|召开|组织|举办|进行|举行|开了|开过|开|参加|完成|走访|深入|带领|带队|约谈|对))"
)
# …or opens the clause as its time, before a comma (2026年11月，支部开展…; 11月上旬，…).
_MONTH_LEAD = re.compile(
    r"(?:(?P<back>去年|前年|今年)|(?P<year>\d{4})\s*年)?\s*"
    r"(?:(?P<last>上个?月)|(?P<month>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])\s*月份?)"
    r"(?:上旬|中旬|下旬|初|中)?\s*[，,]"
)

_REL_OFFSET = {
    "大前天": -3,
    "前天": -2,
    "前日": -2,
    "昨天": -1,
    "昨日": -1,
    "昨晚": -1,
    "昨早": -1,
    "昨夜": -1,
}
_REL_TODAY = {"今天", "今日", "今早", "今晚", "今儿"}
_REL_IN_FORCE = {"当天", "当日", "同日", "同一天"}
_REL_NEXT = {"次日", "第二天"}


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _shift(day: dt.date, days: int) -> dt.date | None:
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return None


def _month_day(ref: dt.date, month: int, day: int) -> dt.date | None:
    found = _safe_date(ref.year, month, day)
    if found is not None and found > ref:
        found = _safe_date(ref.year - 1, month, day)
    return found


def _day_of_month(ref: dt.date, day: int, last_month: bool) -> dt.date | None:
    """A bare day (28日): this month's, or last month's when it would lie after ref or is said so."""
    year, month = ref.year, ref.month
    if last_month or day > ref.day:
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return _safe_date(year, month, day) if year >= 1 else None


def _resolve(m: re.Match[str], ref: dt.date, in_force: dt.date, week: str) -> dt.date | None:
    if m.group("ymd"):
        return _safe_date(int(m.group("y1")), int(m.group("m1")), int(m.group("d1")))
    if m.group("md"):
        return _month_day(ref, int(m.group("m2")), int(m.group("d2")))
    if m.group("mdot"):
        return _month_day(ref, int(m.group("m3")), int(m.group("d3")))
    if m.group("cnmd"):
        month, day = cn_to_int(m.group("m4")), cn_to_int(m.group("d4"))
        if month is None or day is None:
            return None
        return _month_day(ref, month, day)
    if m.group("dd"):
        return _day_of_month(ref, int(m.group("d5")), m.group("mp") in ("上月", "上个月"))
    if m.group("rel"):
        word = m.group("rel")
        if word in _REL_OFFSET:
            return _shift(ref, _REL_OFFSET[word])
        if word in _REL_TODAY:
            return ref
        if word in _REL_IN_FORCE:
            return in_force
        if word in _REL_NEXT:
            return _shift(in_force, 1)
    if m.group("wk"):
        weekday = _WEEKDAY[m.group("wd")]
        prefix = (m.group("pre") or week).replace("个", "")
        offset = 1 - ref.isoweekday()  # days from ref back to its week's Monday
        if prefix in ("本", "这"):
            return _shift(ref, offset + weekday - 1)
        if prefix == "上":
            return _shift(ref, offset + weekday - 8)
        if prefix == "上上":
            return _shift(ref, offset + weekday - 15)
        return _shift(ref, -((ref.isoweekday() - weekday) % 7))
    return None


def find_dates(text: str, ref: dt.date, in_force: dt.date, week: str = "") -> list[dt.date]:
    """Every valid day-precise date stated in `text`, in order (for counted occurrences)."""
    out = []
    for m in DATE_RE.finditer(text):
        found = _resolve_back(text, m, ref, in_force, week)
        if found is not None:
            out.append(found)
        if m.group("wk") and m.group("pre"):
            # 上周三和周五: the week named first holds for the weekdays listed after it
            week = m.group("pre").replace("个", "")
            week = "本" if week == "这" else week
    return out


def _resolve_back(text: str, m: re.Match[str], ref: dt.date, in_force: dt.date, week: str) -> dt.date | None:
    found = _resolve(m, ref, in_force, week)
    if found is None or not (m.group("md") or m.group("mdot") or m.group("cnmd")):
        return found
    back = _YEARS_BACK.search(text, max(0, m.start() - 3), m.start())
    if back is None:
        return found
    years = 1 if back.group("back") == "去年" else 2
    return _safe_date(ref.year - years, found.month, found.day) if ref.year - years >= 1 else None


def _month_start(m: re.Match[str], ref: dt.date) -> dt.date | None:
    if m.group("last"):
        year, month = (ref.year, ref.month - 1) if ref.month > 1 else (ref.year - 1, 12)
        return _safe_date(year, month, 1) if year >= 1 else None
    raw = m.group("month")
    number = int(raw) if raw.isdigit() else cn_to_int(raw)
    if number is None or not 1 <= number <= 12:
        return None
    month = number
    back = m.group("back")
    if m.group("year"):
        year = int(m.group("year"))
    elif back == "去年":
        year = ref.year - 1
    elif back == "前年":
        year = ref.year - 2
    else:
        year = ref.year
        if back is None and (year, month) > (ref.year, ref.month):
            year -= 1
    return _safe_date(year, month, 1) if year >= 1 else None


def find_date(text: str, ref: dt.date, in_force: dt.date, week: str = "") -> dt.date | None:
    """The first valid date stated in `text`, or None. `week` ('上', '本' or '') is the week a heading
    such as 上周工作小结 set for weekdays named without a prefix. A month without a day counts
    only as the time of an act (its first day)."""
    for m in DATE_RE.finditer(text):
        found = _resolve_back(text, m, ref, in_force, week)
        if found is not None:
            return found
    if "月" in text:
        lead = _MONTH_LEAD.match(text)
        if lead is not None:
            found = _month_start(lead, ref)
            if found is not None:
                return found
        for m in _MONTH.finditer(text):
            found = _month_start(m, ref)
            if found is not None:
                return found
    return None


_WEEK_HEADING = re.compile(r"(?P<pre>上上|上个?|本|这个?)(?:周|星期|礼拜)(?![一二三四五六日天1-7])")


def week_of_heading(text: str) -> str | None:
    """'上' or '本' when the text names a whole week (上周工作小结), else None."""
    m = _WEEK_HEADING.search(text)
    if m is None:
        return None
    pre = m.group("pre").replace("个", "")
    return "本" if pre == "这" else pre


def starts_with_date(text: str) -> bool:
    m = DATE_RE.match(text)
    return m is not None


_DEADLINE = re.compile(
    r"(?:(?P<m>\d{1,2})\s*月\s*(?:(?P<d>\d{1,2})\s*[日号]|(?P<end>底|末))|(?<![\d月])(?P<d2>\d{1,2})\s*[日号]"
    r"|(?P<end2>本月底|本月末|月底|月末|年底|年末))\s*(?:前|之前|以前)(?![往来去进])"
)
_DONE_BY = re.compile(r"已|了")


def deadline_ahead(text: str, ref: dt.date) -> int | None:
    """Where `text` sets a deadline still ahead of ref's day (11月30日前完成整改, 月底前报送), or None:
    what it asks for has not happened yet."""
    if "前" not in text:
        return None
    m = _DEADLINE.search(text)
    if m is None or _DONE_BY.search(text, m.end()):
        return None
    if m.group("m"):
        month = int(m.group("m"))
        ahead = month >= ref.month if m.group("end") else (month, int(m.group("d"))) >= (ref.month, ref.day)
    elif m.group("d2"):
        ahead = int(m.group("d2")) >= ref.day
    else:
        ahead = True
    return m.start() if ahead else None
