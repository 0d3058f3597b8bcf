"""The ledger fields a check-in states (主题, 主持人, 记录人, 应到, 缺席 and reasons, 地点)."""

from __future__ import annotations

import pytest

from bot.parsing.ledger import LedgerFields, ledger_fields

FULL = (
    "今天下午召开支部党员大会，应到25人，实到22人，由书记张三主持，主题为学习贯彻全会精神，"
    "记录人：李四，地点：党员活动室，缺席：王五（出差）、赵六（病假）、钱七（培训）"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            FULL,
            LedgerFields(
                topic="学习贯彻全会精神",
                host="张三",  # the title is not part of the name
                recorder="李四",
                expected_count=25,
                absent_count=3,
                absent_reasons="王五（出差）、赵六（病假）、钱七（培训）",
                place="党员活动室",
            ),
        ),
        (
            "在三楼会议室召开支委会，以“不忘初心”为主题，王五因出差缺席",
            LedgerFields(topic="不忘初心", absent_reasons="王五（出差）", place="三楼会议室"),
        ),
        ("今天组织主题党日，参加18人，时长2小时", LedgerFields()),  # 主题党日 names no topic
        ("上午对第一、第二支部开展党建督查，发现问题7个", LedgerFields()),
        ("", LedgerFields()),
    ],
)
def test_ledger_fields_from_text(text: str, expected: LedgerFields) -> None:
    assert ledger_fields(text) == expected


def test_only_what_is_stated() -> None:
    assert ledger_fields("应到10人，实到8人").stated() == {"expected_count": 10, "absent_count": 2}
