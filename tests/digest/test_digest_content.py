"""The digest's figures on a hand-countable organisation (see digest_world.py)."""

from __future__ import annotations

import datetime as dt
import logging
import re

from digest_world import add_record, seed_world
from sqlalchemy import update

from bot import charts
from bot.digest import weekly_digest
from handlers.render_digest import MAX_PARTS, MESSAGE_LIMIT, digest_message
from helpers import TgUser
from storage import orgs
from storage.models import Member, Target

EXPECTED_TREE = """\
📊 <b>第一党委</b> · 11月16日—22日
报告 3/6 人（请假 1，无法送达 1）
记录 4 条（上期 2，+2） · 报告人数 +1
· 部署推进 1 · 组织生活 1 · 谈心谈话 2
<b>指标完成</b>
· 支委会（每月1次） 1/2个组织 · 截至11月22日
· 谈心谈话（每月2次·每人） 1/3人 · 2人临期 · 截至11月22日 ⚠️
<b>未报告</b> 3 人
· 第一党委 1人：管理员（连续9周以上）
· 第一支部 1人：&lt;b&gt;李四&lt;/b&gt;（连续9周以上）
· 第二支部 1人：赵书记
问题整改：发现 3 · 已整改 1 · 近8周待整改 2
<b>常抓</b>（近 8 周有活动的周数）
第一支部 ▁▁▁▁▁▁▇▇ 2/8
第二支部 ▁▁▇▁▁▁▇▁ 2/8
层级人均记录：党委 0.5 · 党支部 0.5"""


async def _digest(harness, org: str, **kwargs):  # type: ignore[no-untyped-def]
    async with harness.session() as session:
        org_row = await orgs.get_org_by_name(session=session, name=org)
        report = await weekly_digest(session=session, org_id=org_row.id, now=harness.clock.now(), **kwargs)
        return digest_message(report)


async def test_whole_tree_last_week_counts_by_hand(harness) -> None:
    await seed_world(harness)
    message = await _digest(harness, "第一党委")
    assert message.parts == [EXPECTED_TREE]
    assert (message.period.start, message.period.end) == (dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    assert [label for label, _ in message.buttons] == ["导出台账", "上一周", "年度达标预览", "审核记录"]


async def test_one_branch_sees_only_its_people_and_streaks(harness) -> None:
    await seed_world(harness)
    message = await _digest(harness, "第二支部")
    text = message.parts[0]
    assert text.startswith("📊 <b>第二支部</b> · 11月16日—22日\n报告 0/1 人（请假 1，无法送达 1）\n")
    assert "记录 0 条（上期 1，-1） · 报告人数 -1" in text
    assert "· 支委会（每月1次） 0/1个组织 · 截至11月22日" in text
    assert "· 谈心谈话（每月2次·每人） 0/1人 · 1人临期 · 截至11月22日 ⚠️" in text
    # 赵书记 reported the week before: silent for one week only, no streak shown
    assert "· 第二支部 1人：赵书记\n" in text
    assert "李四" not in text and "张三" not in text
    assert "第二支部 ▁▁▇▁▁▁▇▁ 2/8" in text
    assert "层级人均记录" not in text  # one level only


async def test_a_streak_counts_silent_weeks_in_a_row(harness) -> None:
    await seed_world(harness)
    harness.clock.set(dt.datetime(2026, 12, 2, 9, 0))  # last week: 11-23 .. 29
    text = (await _digest(harness, "第一支部")).parts[0]
    # 张三 and 李书记 reported the week before: silent this week only; 李四 never (deleted record)
    assert "\n· 第一支部 3人：李书记、张三、&lt;b&gt;李四&lt;/b&gt;（连续9周以上）\n" in text
    harness.clock.set(dt.datetime(2026, 12, 16, 9, 0))  # week of 12-07: silent 11-23, 11-30, 12-07
    text = (await _digest(harness, "第一支部")).parts[0]
    assert "张三（连续3周）" in text


async def test_given_bounds_and_change_against_the_previous_period(harness) -> None:
    await seed_world(harness)
    message = await _digest(harness, "第一党委", start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))
    text = message.parts[0]
    # 孙六's three days of leave do not excuse the month (less than half its weekdays)
    assert text.startswith("📊 <b>第一党委</b> · 2026年11月\n报告 4/7 人（无法送达 1）")
    assert "记录 6 条（上期 1，+5）" in text  # October: the inspection only
    assert "· 部署推进 1 · 学习教育 2 · 组织生活 1 · 谈心谈话 2" in text


async def test_cold_lower_levels_are_flagged(harness) -> None:
    await seed_world(harness)
    for day in (16, 17, 18, 19):
        await add_record(harness, TgUser(10), dt.date(2026, 11, day), "deploy", "部署")
    text = (await _digest(harness, "第一党委")).parts[0]
    # 党委: 5 records / 2 members; branches: 3 records / 6 members
    assert "层级人均记录：党委 2.5 · 党支部 0.5（上热下冷）" in text


async def test_no_targets_and_no_records_still_make_a_digest(harness) -> None:
    await harness.add_org("空支部")
    await harness.add_member(TgUser(5, "甲"), "空支部")
    async with harness.session() as session:
        await session.execute(update(Target).values(active=False))
    message = await _digest(harness, "空支部")
    assert message.chart_png is None  # nothing to draw
    assert "记录 0 条（上期 0，持平）" in message.parts[0]
    assert "指标完成" not in message.parts[0]


def _balanced(part: str) -> bool:
    for tag in ("b", "i", "a", "code"):
        if len(re.findall(f"<{tag}[ >]", part)) != part.count(f"</{tag}>"):
            return False
    return True


async def test_a_large_tree_stays_within_the_message_limit(harness) -> None:
    await seed_world(harness)
    async with harness.session() as session:
        root = await orgs.get_org_by_name(session=session, name="第一党委")
        for b in range(80):
            branch = await orgs.create_org(
                session=session, name=f"第{b:03d}支部<&>" + "很长的组织名称" * 3, parent=root
            )
            for m in range(15):
                session.add(
                    Member(
                        telegram_id=10_000 + b * 100 + m,
                        name=f"<i>党员{b}-{m}</i>" + "名" * 10,
                        org_id=branch.id,
                    )
                )
        await session.flush()
        await session.execute(update(Member).values(created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    message = await _digest(harness, "第一党委")
    assert 1 < len(message.parts) <= MAX_PARTS
    assert all(len(part) <= MESSAGE_LIMIT for part in message.parts)
    assert all(_balanced(part) for part in message.parts)
    text = "\n".join(message.parts)
    # too many orgs to name everyone: a count per sub-org, and the names are in the export
    assert (
        "<b>未报告</b> 1203 人\n· 第一党委本级 1人，连续4周以上 1人\n· 第一支部及下级 1人，连续4周以上 1人\n"
        in text
    )
    assert "\n· 第二支部及下级 1人\n" in text
    assert (
        "\n· 第000支部&lt;&amp;&gt;很长的组织名称很长的组织名称很长的组织名称及下级 15人，连续4周以上 15人\n"
        in text
    )
    assert "<i>" not in text and "党员0-0" not in text
    assert "\n名单见「导出台账」\n" in text


async def test_chart_is_drawn_with_a_cjk_font(harness) -> None:
    await seed_world(harness)
    if charts.cjk_font_path() is None:  # the machine has no CJK font: covered by the next test
        return
    message = await _digest(harness, "第一党委")
    assert message.chart_png is not None and message.chart_png.startswith(b"\x89PNG")


async def test_without_a_cjk_font_the_digest_is_text_only_with_one_log_line(
    harness, monkeypatch, caplog
) -> None:
    await seed_world(harness)
    from matplotlib import font_manager

    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])  # none on the machine
    charts.cjk_font_path.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="bot.charts"):
            first = await _digest(harness, "第一党委")
            second = await _digest(harness, "第一支部")
    finally:
        charts.cjk_font_path.cache_clear()
    assert first.chart_png is None and second.chart_png is None
    assert first.parts == [EXPECTED_TREE]
    assert len([r for r in caplog.records if "no CJK font" in r.getMessage()]) == 1


async def test_a_closed_period_shows_unmet_targets_as_not_done_not_due_today(harness) -> None:
    """October, asked in November: its monthly targets are over, so unmet ones read 未完成."""
    await seed_world(harness)
    message = await _digest(harness, "第一党委", start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))
    text = message.parts[0]
    assert "· 支委会（每月1次） 0/2个组织 · 2个组织未完成 ⚠️" in text
    assert "· 谈心谈话（每月2次·每人） 0/3人 · 3人未完成 ⚠️" in text
    assert "今天截止" not in text and "临期" not in text


async def test_names_with_dollar_signs_are_drawn_as_written_and_a_failed_chart_is_left_out(
    monkeypatch, caplog
) -> None:
    """An org named like matplotlib math text ("A$\\x$B") once aborted a whole scheduled digest run."""
    from pathlib import Path

    import matplotlib

    dejavu = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")
    monkeypatch.setattr(charts, "cjk_font_path", lambda: dejavu)
    png = await charts.bar_chart("Org $\\x$ week", ["A$\\x$B", "$5 and $6"], [("done", [1, 2])])
    assert png is not None and png.startswith(b"\x89PNG")

    def broken(*_args: object) -> bytes:
        raise RuntimeError("the renderer failed")

    monkeypatch.setattr(charts, "bar_chart_png", broken)
    with caplog.at_level(logging.ERROR, logger="bot.charts"):
        assert await charts.bar_chart("t", ["a"], [("done", [1])]) is None
    assert any("chart failed" in r.getMessage() for r in caplog.records)
