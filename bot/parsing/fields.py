"""Head counts, durations and problem counts read from raw clause text with regular expressions."""

from __future__ import annotations

import re

from bot.parsing.numbers import NUM, to_int, to_number

_PEOPLE_WORDS = "人|党员|干部|同志|群众|学员|职工|居民|同学|青年|委员|成员|支委|书记|村民|老人|代表|积极分子|班子成员|志愿者"
_PEOPLE = re.compile(
    rf"(?<![第\d.零〇一二两三四五六七八九十百前末])(?P<n>{NUM})\s*(?:多|余)?\s*"
    rf"(?:人次|人(?!民)|名(?!单|义|称|额)|位(?!置)|个(?=[^，,。；;\d个的]{{0,3}}?(?:{_PEOPLE_WORDS})))"
)
_COUNT_FIELD = re.compile(r"人数\s*[：:]?\s*(?P<n>\d{1,6})(?!\s*[\d.]|\s*(?:个|家|户|份|次))")
_EXCLUDE_BEFORE = re.compile(
    r"(?:(?:应到|应参加|应参会|评出|选出|评选出?)[^，,；;。\d]{0,6}|(?:表决通过|确定|推选|推荐|发展|接收)了?"
    r"|(?:发现|查出|其中|缺席|请假|未到|缺勤)[^，,；;。\d]{0,2})$"
)
# People counted as absent ("2人请假", "3人缺席") are not those taking part. (People at fault are:
# "批评了2名迟到的同志" counts the 2 criticised.)
_EXCLUDE_AFTER = re.compile(r"\s*(?:缺席|请假|缺勤|未到会|未参加|没参加|没有参加)")
_PREFER_BEFORE = re.compile(
    r"(?:参加|参会|参训|参评|参赛|参与|到会|实到|出席|共计|一共|总共|共|全体|到了|来了|去了|一行)[^，,；;。\d]{0,6}$"
)
# Head counts joined by 和/及/与/、 into one group of participants add up (20名老党员和1名新党员).
_JOINED = re.compile(r"[^，,。；;\d]{0,8}?(?:和|及|与|以及|、)")
# Numbers inside a quoted slogan or title are no counts.
_QUOTED = re.compile(r"“[^”]{0,60}”|《[^》]{0,60}》|「[^」]{0,60}」|\"[^\"]{0,60}\"")
# A planned length (原计划两小时) gives way to the actual one.
_PLANNED = re.compile(r"(?:原计划|原定|计划|预计|预定|拟)[^，,。；;\d]{0,2}$")
_PREFER_AFTER = re.compile(r"\s*(?:都|全部|均)?(?:参加|参会|参与|出席|到会|到场|参训)")

_NUM_START = r"(?<![\d.零〇一二两三四五六七八九十百千])"  # a numeral is read from its first character only
_HOURS = re.compile(
    rf"(?:{_NUM_START}(?P<n>{NUM}))?\s*(?P<ge>个)?\s*(?P<half>半)?\s*(?:个)?\s*(?:小时|钟头)(?:\s*(?P<m>{NUM})\s*分钟?)?"
)
_MINUTES = re.compile(rf"{_NUM_START}(?P<n>{NUM})\s*分钟")
_CLOCK = re.compile(
    r"(?<![\d.])(?P<h1>\d{1,2})\s*[:：]\s*(?P<m1>\d{2})\s*(?:-|—|–|－|~|～|至|到)+\s*"
    r"(?:上午|下午|晚上|中午)?\s*(?P<h2>\d{1,2})\s*[:：]\s*(?P<m2>\d{2})"
)
_RANGE_HINT = re.compile(r"[:：点时]")
_CN_HOUR = r"(?:\d{1,2}|[零一二两三四五六七八九十]{1,3})"
_CLOCK_CN = re.compile(
    rf"(?P<h1>{_CN_HOUR})\s*[点时](?:(?P<half1>半)|(?P<m1>{_CN_HOUR}|\d{{2}})\s*分?)?\s*(?:-|—|–|－|~|～|至|到)+\s*"
    rf"(?:上午|下午|晚上|中午)?\s*(?P<h2>{_CN_HOUR})\s*[点时](?:(?P<half2>半)|(?P<m2>{_CN_HOUR}|\d{{2}})\s*分?)?"
)

_UNIT = r"\s*(?:个|条|项|处|件|起|例)"
_FOUND = (
    re.compile(
        rf"(?:发现|查找|查摆|指出|找出|梳理出|排查出|查出|反馈)(?:了|出)?[^，,。；;\d]{{0,12}}?问题[^，,。；;\d]{{0,3}}?\s*(?:共|共计)?\s*(?P<n>{NUM}){_UNIT}"
    ),
    re.compile(
        rf"(?:发现|查找|查摆|指出|找出|梳理出|排查出|查出|反馈)(?:了|出)?\s*(?:问题)?\s*(?P<n>{NUM}){_UNIT}"
    ),
    # 发现…存在8个方面36个问题: the count standing right before 问题
    re.compile(
        rf"(?:发现|查找|查摆|指出|找出|查出)[，,]?[^，,。；;]{{0,16}}?(?<![\d.])(?P<n>{NUM}){_UNIT}\s*(?:具体)?问题"
    ),
)
_FIXED = re.compile(
    rf"(?:整改(?:到位|完毕|完成|落实)?|销号|办结)\s*(?:了)?\s*(?:问题)?\s*[，,]?\s*(?:共计?|合计)?\s*(?P<n>{NUM}){_UNIT}"
)
_ISSUE_HINT = re.compile(r"问题|整改|销号|办结|发现|指出|查摆|查找|找出|查出|排查|梳理")
_ALL_FIXED = re.compile(r"全部(?:整改|销号|办结)|均已整改|都已整改|全部完成整改")


def _clock_minutes(h1: int, m1: int, h2: int, m2: int) -> int | None:
    if not (0 <= h1 <= 24 and 0 <= h2 <= 24 and 0 <= m1 < 60 and 0 <= m2 < 60):
        return None
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        end += 12 * 60
    span = end - start
    return span if 0 < span <= 16 * 60 else None


def _cn_minute(text: str | None, half: str | None) -> int:
    if half:
        return 30
    if not text:
        return 0
    return to_int(text) or 0


def find_duration(text: str) -> int | None:
    """Minutes of an explicit length or a clock range; None when neither is stated."""
    if "小时" not in text and "钟头" not in text and "分钟" not in text and not _RANGE_HINT.search(text):
        return None
    for m in _HOURS.finditer(text):
        n = m.group("n")
        if n is None and not m.group("half"):
            continue
        if _PLANNED.search(text, max(0, m.start() - 5), m.start()):
            continue
        hours = to_number(n) if n is not None else 0.0
        if hours is None:
            continue
        minutes = hours * 60 + (30 if m.group("half") else 0)
        if m.group("m"):
            minutes += to_number(m.group("m")) or 0
        if 0 < minutes <= 24 * 60:
            return round(minutes)
    for m in _MINUTES.finditer(text):
        value = to_number(m.group("n"))
        if value is not None and 0 < value <= 24 * 60:
            return round(value)
    for m in _CLOCK.finditer(text):
        span = _clock_minutes(int(m.group("h1")), int(m.group("m1")), int(m.group("h2")), int(m.group("m2")))
        if span:
            return span
    for m in _CLOCK_CN.finditer(text):
        h1, h2 = to_int(m.group("h1")), to_int(m.group("h2"))
        if h1 is None or h2 is None:
            continue
        span = _clock_minutes(
            h1, _cn_minute(m.group("m1"), m.group("half1")), h2, _cn_minute(m.group("m2"), m.group("half2"))
        )
        if span:
            return span
    return None


# Counts beyond this are no real report (and would not fit a database integer): ignored, like a
# head count that size.
MAX_COUNT = 100000


def _count(value: int | None) -> int | None:
    return value if value is not None and 0 <= value <= MAX_COUNT else None


def find_participants(text: str) -> int | None:
    """The head count of those taking part, or None when no people count is stated."""
    candidates: list[tuple[bool, int]] = []
    quoted = (
        [q.span() for q in _QUOTED.finditer(text)]
        if ("“" in text or "《" in text or '"' in text or "「" in text)
        else []
    )
    last_end = -1
    for m in _PEOPLE.finditer(text):
        value = to_int(m.group("n"))
        if value is None or value <= 0 or value > MAX_COUNT:
            continue
        if any(a <= m.start() < b for a, b in quoted):
            continue
        before = text[max(0, m.start() - 12) : m.start()]
        if _EXCLUDE_BEFORE.search(before) or _EXCLUDE_AFTER.match(text, m.end()):
            continue
        preferred = bool(_PREFER_BEFORE.search(before) or _PREFER_AFTER.match(text, m.end()))
        if candidates and last_end >= 0 and _JOINED.fullmatch(text, last_end, m.start()):
            was_preferred, total = candidates[-1]
            candidates[-1] = (was_preferred or preferred, total + value)
        else:
            candidates.append((preferred, value))
        last_end = m.end()
    for m in _COUNT_FIELD.finditer(text):
        value = int(m.group("n"))
        if 0 < value <= MAX_COUNT:
            candidates.append((True, value))
    if not candidates:
        return None
    for preferred, value in candidates:
        if preferred:
            return value
    return candidates[0][1]


def find_issues(text: str) -> tuple[int | None, int | None, bool]:
    """(problems found, problems fixed, whether all found problems are said to be fixed)."""
    found = fixed = None
    if not _ISSUE_HINT.search(text):
        return found, fixed, False
    for pattern in _FOUND:
        m = pattern.search(text)
        if m:
            found = _count(to_int(m.group("n")))
            if found is not None:
                break
    m = _FIXED.search(text)
    if m:
        fixed = _count(to_int(m.group("n")))
    return found, fixed, bool(_ALL_FIXED.search(text))
