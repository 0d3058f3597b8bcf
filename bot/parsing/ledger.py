"""What a meeting's formal ledger (台账) needs, read from the words of a check-in when they state
it: 主题, 主持人, 记录人, 应到 / 缺席 (with the absent's reasons), 地点. 实到 is the record's
participants (the parser prefers it: "应到25人，实到22人" has 22 participants).

A pure function of the text; anything not stated is None (nothing is ever required).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from bot.parsing.numbers import to_int

_N = r"(?P<n>\d{1,5}|[一二两三四五六七八九十百千]{1,6})"
_PEOPLE = r"\s*(?:人|名|位)"
_STOP = r"，,。；;！!\n"
_EXPECTED = re.compile(rf"应(?:到|参会|出席)(?:会)?(?:党员|人员)?\s*{_N}{_PEOPLE}")
_PRESENT = re.compile(rf"实(?:到|际参会|际出席)(?:会)?(?:党员|人员)?\s*{_N}{_PEOPLE}")
_ABSENT = re.compile(rf"缺席\s*{_N}{_PEOPLE}")
_ABSENT_WHO = re.compile(
    rf"缺席(?:人员|党员|同志)?\s*[:：]\s*(?P<who>[^{_STOP}]{{1,120}}(?:[（(][^）)]*[）)][^{_STOP}]*)*)"
)
_ABSENT_BECAUSE = re.compile(
    rf"(?P<who>[\u4e00-\u9fff、]{{2,30}})(?:同志)?因(?P<why>[^{_STOP}]{{1,20}}?)(?:缺席|请假|未参加)"
)
_HOST = re.compile(
    rf"(?:由\s*(?P<a>[^{_STOP}\s]{{2,16}}?)\s*(?:同志)?主持|主持人\s*[:：为是]?\s*(?P<b>[^{_STOP}\s]{{2,16}}))"
)
_RECORDER = re.compile(
    rf"(?:记录人\s*[:：为是]?\s*(?P<a>[^{_STOP}\s]{{2,16}})|由\s*(?P<b>[^{_STOP}\s]{{2,12}}?)\s*(?:同志)?(?:负责)?记录)"
)
_TOPIC = re.compile(
    rf"(?:主题\s*(?:为|是|[:：])\s*[“\"「《]?(?P<a>[^”\"」》{_STOP}]{{2,60}})[”\"」》]?"
    rf"|以\s*[“\"「《](?P<b>[^”\"」》]{{2,60}})[”\"」》]\s*为(?:主题|题))"
)
_PLACE = re.compile(
    rf"(?:地点\s*[:：为是]?\s*(?P<a>[^{_STOP}\s]{{2,30}})"
    rf"|在\s*(?P<b>[^{_STOP}\s在]{{1,20}}?(?:会议室|活动室|党员之家|活动中心|礼堂|报告厅|教室|基地|纪念馆|展览馆|广场|室|厅|馆))"
    rf"(?:召开|举行|开展|组织|举办|集中|进行|参观))"
)


_TITLE = re.compile(
    r"^(?:党委|党总支|党支部|支部)?(?:副)?(?:书记|组织委员|宣传委员|纪检委员|委员)(?=.{2})|同志$"
)
# The categories whose records are meetings with a ledger.
MEETINGS = ("org_life",)
LEDGER_KEYS = ("topic", "host", "recorder", "expected_count", "absent_count", "absent_reasons", "place")
# Longest text each field keeps (the columns' sizes).
LIMITS = {"topic": 200, "host": 40, "recorder": 40, "absent_reasons": 500, "place": 60}


@dataclass(frozen=True)
class LedgerFields:
    topic: str | None = None
    host: str | None = None
    recorder: str | None = None
    expected_count: int | None = None
    absent_count: int | None = None
    absent_reasons: str | None = None
    place: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def stated(self) -> dict[str, object]:
        """Only what the text states."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def _group(m: re.Match[str] | None) -> str | None:
    if m is None:
        return None
    value = next((v for k, v in m.groupdict().items() if k in ("a", "b") and v), None)
    return value.strip() or None if value else None


def _person(m: re.Match[str] | None) -> str | None:
    """A name without the title before it or 同志 after it: "书记张三" -> "张三"."""
    name = _group(m)
    return _TITLE.sub("", name).strip() or name if name else None


def _count(pattern: re.Pattern[str], text: str) -> int | None:
    m = pattern.search(text)
    value = to_int(m.group("n")) if m else None
    return value if value is not None and 0 <= value <= 100_000 else None


def ledger_fields(text: str) -> LedgerFields:
    """The ledger fields the text states (None for the rest)."""
    if not text:
        return LedgerFields()
    expected = _count(_EXPECTED, text)
    present = _count(_PRESENT, text)
    absent = _count(_ABSENT, text)
    if absent is None and expected is not None and present is not None and expected >= present:
        absent = expected - present
    who = _ABSENT_WHO.search(text)
    reasons = who.group("who").strip() if who else None
    if reasons is None:
        because = [f"{m.group('who')}（{m.group('why')}）" for m in _ABSENT_BECAUSE.finditer(text)]
        reasons = "、".join(because) or None
    fields = LedgerFields(
        topic=_group(_TOPIC.search(text)),
        host=_person(_HOST.search(text)),
        recorder=_person(_RECORDER.search(text)),
        expected_count=expected,
        absent_count=absent,
        absent_reasons=reasons,
        place=_group(_PLACE.search(text)),
    )
    clipped: dict[str, Any] = {
        k: v[: LIMITS[k]] if isinstance(v, str) and k in LIMITS else v for k, v in asdict(fields).items()
    }
    return LedgerFields(**clipped)


def present_count(text: str) -> int | None:
    """实到 as the text states it ("实到22人")."""
    return _count(_PRESENT, text)
