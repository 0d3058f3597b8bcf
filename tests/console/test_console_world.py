"""The console shows the whole bot: scheduled jobs on a movable clock, every person's inbox, files
that open, edits, photos, the group chat, a newcomer, and any line typed (blank or very long)."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.services import Services
from handlers.console import Console, LineReader


class Session:
    """A console with its output captured; `say` returns what the lines printed."""

    def __init__(self, console: Console, out: io.StringIO) -> None:
        self.console = console
        self.out = out
        self.errors: list[BaseException] = []

    async def say(self, *lines: str) -> str:
        start = len(self.out.getvalue())
        for line in lines:
            assert await self.console.handle(line + "\n")
        return self.out.getvalue()[start:]


@asynccontextmanager
async def open_console(settings: Settings, clock: FakeClock, files: Path) -> AsyncIterator[Session]:
    out = io.StringIO()
    settings = settings.model_copy(update={"backup_keep": 0})  # as `dutybot console` runs it
    console = Console(Services(settings, clock), out, files_dir=files)
    session = Session(console, out)

    async def record_error(update: object, context) -> None:  # type: ignore[no-untyped-def]
        session.errors.append(context.error)

    console.app.add_error_handler(record_error)
    async with console.running(migrate=False):
        yield session
    assert not session.errors, session.errors


@pytest.fixture
async def con(settings: Settings, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Session]:
    async with open_console(settings, clock, tmp_path / "files") as session:
        yield session


async def test_clock_shows_the_time_and_the_next_job(con: Session) -> None:
    out = await con.say("/clock")  # Friday 2026-11-27 10:15
    assert "现在是 2026-11-27 11月27日 周五 10:15" in out
    assert "下一项：11月27日 周五 16:00 · 提醒（每周五 16:00）" in out


async def test_a_jump_runs_every_job_due_on_the_way_in_order(con: Session) -> None:
    await con.say("/as 管理员")
    added = await con.say("/schedule add 每周一9:30 督促")
    assert "督促" in added
    out = await con.say("/as 书记", "/clock 下周一 10:00")
    nudge = out.index("⏰ 11月27日 周五 16:00 · 提醒")
    digest = out.index("⏰ 11月30日 周一 9:00 · 工作摘要")
    escalation = out.index("⏰ 11月30日 周一 9:30 · 督促")
    suggestions = out.index("⏰ 11月30日 周一 9:30 · 规则建议")
    assert nudge < digest < escalation
    assert digest < suggestions, "the admins' weekly rule suggestions run on the way too"
    # the secretary's own nudge is printed as it arrives, between its job and the next one
    assert nudge < out.index("📌") < digest
    assert digest < out.index("📊 第一支部") < escalation
    assert "现在是 2026-11-30 11月30日 周一 10:00（途中运行 4 项计划任务）" in out
    assert con.console.clock.now().strftime("%Y-%m-%d %H:%M") == "2026-11-30 10:00"
    again = await con.say("/clock +1h")
    assert "⏰" not in again, "nothing runs twice"


@pytest.mark.parametrize(
    ("arg", "lands"),
    [
        ("+1d", "2026-11-28 11月28日 周六 10:15"),
        ("+2h30m", "2026-11-27 11月27日 周五 12:45"),
        ("周五 16:00", "2026-11-27 11月27日 周五 16:00"),
        ("2026-12-31 09:00", "2026-12-31 12月31日 周四 9:00"),
    ],
)
async def test_clock_understands_relative_weekday_and_date_jumps(con: Session, arg: str, lands: str) -> None:
    out = await con.say(f"/clock {arg}")
    assert f"现在是 {lands}（途中运行" in out


async def test_clock_refuses_going_back_and_unreadable_times(con: Session) -> None:
    back = await con.say("/clock 2026-11-01 09:00")
    assert "时间只能往前拨" in back
    garbled = await con.say("/clock 下下下周八")
    assert "看不懂这个时间" in garbled
    assert "一次最多拨一年" in await con.say("/clock 2028-01-01 09:00")
    assert "2026-11-27 10:15" == con.console.clock.now().strftime("%Y-%m-%d %H:%M")


async def test_messages_to_others_wait_in_their_inbox_until_they_look(con: Session) -> None:
    out = await con.say("/clock 周五 16:05")  # as the cadre, who has no duty due: nothing for them
    assert "已发给" in out and "李书记 1" in out
    inbox = await con.say("/inbox")
    assert "李书记：1 条" in inbox
    seen = await con.say("/as 书记")
    assert "上次之后收到 1 条" in seen and "📌" in seen and "稍后提醒" in seen
    assert "李书记" not in await con.say("/inbox")
    assert "上次之后收到" not in await con.say("/as 党员", "/as 书记"), "shown once"
    # the nudge shown from the inbox has live buttons
    snoozed = await con.say("稍后提醒")
    assert "18:05 再提醒您" in snoozed
    later = await con.say("/clock +2h")
    assert "⏰ 11月27日 周五 18:05 · 稍后提醒" in later and "📌" in later


async def test_a_console_started_after_a_missed_fire_time_catches_it_up(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    async with open_console(settings, clock, tmp_path):
        pass
    clock.set(clock.now().replace(hour=17))  # the bot was away at 16:00
    async with open_console(settings, clock, tmp_path) as later:
        assert "李书记：1 条" in await later.say("/inbox")


async def test_charts_and_spreadsheets_are_saved_and_their_paths_printed(
    con: Session, tmp_path: Path
) -> None:
    out = await con.say("今天组织集中学习1小时", "/as 管理员", "/digest", "/export")
    paths = [Path(p) for p in _saved_paths(out)]
    xlsx = [p for p in paths if p.suffix == ".xlsx"]
    assert xlsx and xlsx[0].read_bytes().startswith(b"PK"), out
    assert all(p.parent == tmp_path / "files" for p in paths)
    charts = [p for p in paths if p.suffix == ".png"]
    for chart in charts:  # drawn when a CJK font is installed
        assert chart.read_bytes().startswith(b"\x89PNG")


def _saved_paths(out: str) -> list[str]:
    import re

    return re.findall(r"\[(?:图片|文件)：([^\]]+)\]", out)


async def test_edit_changes_the_last_message_and_its_card(con: Session) -> None:
    await con.say("今天组织集中学习")
    out = await con.say("/edit 今天开展志愿服务")
    assert "（已更新）" in out and "志愿服务" in out
    assert "用法：/edit" in await con.say("/edit")


async def test_photo_with_a_caption_checks_in_and_without_one_attaches_to_the_card(con: Session) -> None:
    captioned = await con.say("/photo 今天开展志愿服务，清扫社区")
    assert "✅ 已记录" in captioned and "志愿服务" in captioned
    attached = await con.say("/photo")
    assert "📎 已附上图片" in attached


async def test_group_switches_to_the_bound_group_and_back(con: Session) -> None:
    entered = await con.say("/group")
    assert "第一支部工作群" in entered and "@ 第一支部工作群" in con.console.prompt()
    reply = await con.say("今天组织主题党日，参加18人")
    assert "已记录" in reply, "a check-in in the bound group is recorded"
    back = await con.say("/group")
    assert "回到和机器人的私聊" in back and "@" not in con.console.prompt()


async def test_a_newcomer_who_is_not_bound_is_told_how_to_join(con: Session) -> None:
    out = await con.say("/as 新人", "今天组织集中学习")
    assert "赵新人（未加入）" in out
    assert "您还没有加入组织" in out


async def test_blank_and_whitespace_lines_are_sent_and_answered(con: Session) -> None:
    for line in ("", "   ", "\t"):
        out = await con.say(line)
        assert "党建助手 ›" in out, f"{line!r} got no answer"


async def test_a_long_pasted_line_arrives_whole(con: Session) -> None:
    long_line = "今天组织集中学习，" + "认真学习党的二十届三中全会精神，" * 400
    out = await con.say(long_line)
    assert "党建助手 ›" in out
    sent = [c for c in con.console.api._seen.values() if c.get("text", "").startswith("今天组织集中学习")]
    assert sent and sent[-1]["text"] == long_line


async def test_inbox_says_when_nothing_is_unread(con: Session) -> None:
    assert "没有未读消息" in await con.say("/inbox")


def test_line_reader_keeps_long_lines_and_survives_a_split_character() -> None:
    long_line = "学习" * 20_000
    data = long_line.encode() + b"\n" + "学".encode()[:2] + b"\n" + "最后".encode()
    reader = LineReader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    assert reader.read("") == long_line + "\n"
    assert reader.read("") == "\ufffd\n", "a cut character becomes U+FFFD, no crash"
    assert reader.read("") == "最后"
    assert reader.read("") is None


async def test_the_demo_office_goes_on_reporting_while_time_moves(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    out = io.StringIO()
    settings = settings.model_copy(update={"backup_keep": 0})
    console = Console(Services(settings, clock), out, files_dir=tmp_path)
    async with console.running(migrate=False, demo=True):
        session = Session(console, out)
        await session.say("/clock 2026-12-07 10:00")  # Friday 27 Nov -> Monday 7 Dec
        await session.say("/as 管理员")
        digest = await session.say("/digest 上周")  # 30 Nov - 6 Dec: all after the build
    assert "📊 示范党委 · 11月30日—12月6日" in digest
    reported = re.search(r"报告 (\d+)/\d+ 人", digest)
    assert reported and int(reported.group(1)) >= 15, digest[:300]
    assert "张党员" in digest.split("未报告", 1)[1], "the console's cadre reports only what is typed"
