"""Properties that hold for any text: the parser never raises, is deterministic, and spans fit."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.parsing import Parser, ParseResult

# Fragments that exercise the rules (dates, numbers, markers, keywords) mixed with arbitrary text.
_FRAGMENTS = st.sampled_from(
    [
        "主题党日",
        "支委会",
        "谈心谈话",
        "约谈",
        "批评",
        "检查",
        "督办",
        "调研",
        "走访慰问",
        "志愿服务",
        "党委会",
        "学习",
        "参加",
        "人",
        "名",
        "个",
        "小时",
        "半",
        "分钟",
        "发现问题",
        "已整改",
        "全部整改",
        "，",
        "。",
        "；",
        "\n",
        "1.",
        "一是",
        "（一）",
        "①",
        "上午",
        "下午",
        "明天",
        "取消",
        "？",
        "11月",
        "31日",
        "2.30",
        "12-31",
        "2026年2月30日",
        "9999年12月31日",
        "0001年1月1日",
        "上上周日",
        "周",
        "星期",
        "礼拜天",
        "同日",
        "次日",
        "十",
        "两",
        "百",
        "零",
        "15:00-",
        "3点至",
        "点半",
        ":",
        "99999999999999999999",
        "〇",
        "应到",
        "实到",
        "第",
        "组",
        "的问题",
        "为",
        "\u3000",
        "\x00",
        "🙂",
    ]
)
_TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(_FRAGMENTS, st.text(max_size=4), st.integers(0, 10**6).map(str)), max_size=40).map(
        "".join
    ),
)
_NOW = st.datetimes(min_value=dt.datetime(1, 1, 8), max_value=dt.datetime(9999, 12, 24))


def _check(result: ParseResult, text: str) -> None:
    for record in result.records:
        start, end = record.span
        assert 0 <= start < end <= len(text)
        assert record.category
        assert record.keyword
        for value in (record.participants, record.duration_min, record.issues_found, record.issues_fixed):
            assert value is None or (isinstance(value, int) and value >= 0)
        assert isinstance(record.to_json()["date"], str)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_TEXT, now=_NOW)
def test_never_raises_is_deterministic_and_spans_fit(parser: Parser, text: str, now: dt.datetime) -> None:
    first = parser.parse(text, now)
    _check(first, text)
    assert parser.parse(text, now) == first


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(now=_NOW)
def test_dates_near_the_ends_of_the_calendar(parser: Parser, now: dt.datetime) -> None:
    text = "前天召开支委会；上上周一开展谈心谈话；次日约谈1人；12月31日走访慰问"
    _check(parser.parse(text, now), text)


def test_long_runs_of_digits_and_numerals(parser: Parser) -> None:
    now = dt.datetime(2026, 11, 27, 10, 15)
    for text in (
        "1" * 5000 + "小时",
        "一" * 5000 + "人",
        "发现问题" + "9" * 5000 + "个",
        "1" * 5000 + "分钟",
    ):
        result = parser.parse(text, now)
        assert all(r.duration_min is None and r.participants is None for r in result.records)


# A hostile corpus: huge, binary-looking, emoji, mixed scripts, and long runs of the characters the
# clause-role rules look at. Every line is answered quickly; noise makes no record.
_NOISE = [
    "啊" * 200_000,
    "为进一步，" * 30_000,
    "“" * 50_000,
    "《" * 50_000,
    "".join(chr(0x20 + (i * 7919) % 0x2FD0) for i in range(50_000)),
    "🙂👍🎉" * 30_000,
    "abcабв日本語한국어١٢٣" * 10_000,
    "11月" * 30_000,
    "在" * 100_000,
    "各" * 100_000 + "要",
    "\x00\x01\x02\ufffd" * 20_000,
]
_FORMS_REPEATED = [
    "召开支委会" * 20_000,
    "“党课”" * 20_000,
    "支委会、" * 30_000,
    "开展了3次" * 20_000 + "谈心谈话",
]


@pytest.mark.parametrize("text", _NOISE, ids=range(len(_NOISE)))
def test_hostile_noise_makes_no_record(parser: Parser, text: str) -> None:
    started = time.perf_counter()
    result = parser.parse(text, dt.datetime(2026, 11, 27, 10, 15))
    assert result.records == ()
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize("text", _FORMS_REPEATED, ids=range(len(_FORMS_REPEATED)))
def test_hostile_repetitions_stay_linear_and_bounded(parser: Parser, text: str) -> None:
    started = time.perf_counter()
    result = parser.parse(text, dt.datetime(2026, 11, 27, 10, 15))
    _check(result, text)
    assert 1 <= len(result.records) <= 12
    assert time.perf_counter() - started < 10
