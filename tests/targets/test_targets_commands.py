"""/target and /leave through the real Application."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot import targets
from helpers import TgUser
from storage import targets as repo
from storage.models import AuditLog, DutyRecord, Leave

ADMIN = TgUser(1, "管理员")
SECRETARY = TgUser(11, "王书记")
CADRE = TgUser(12, "李党员")
STRANGER = TgUser(99, "陌生人")


async def _setup(harness) -> None:  # type: ignore[no-untyped-def]
    await harness.add_org("第一党委")
    await harness.add_org("第一支部", parent="第一党委")
    await harness.add_member(ADMIN, "第一党委", role="admin")
    await harness.add_member(SECRETARY, "第一支部", role="secretary")
    await harness.add_member(CADRE, "第一支部")


async def _reply(harness, user: TgUser, text: str) -> str:  # type: ignore[no-untyped-def]
    calls = harness.replies(await harness.send(user, text))
    assert len(calls) == 1, calls
    return calls[0].text


async def test_defaults_are_seeded_at_start_and_listed(harness) -> None:
    await _setup(harness)
    text = await _reply(harness, SECRETARY, "/target list")
    assert "量化指标（共 6 项）" in text
    assert "支委会 · 每月 1 次 · 党支部 · 按组织" in text
    assert "谈心谈话 · 每月 2 次 · 每名书记" in text
    assert "/target remove" not in text  # only admins see how to change them
    assert "/target remove" in await _reply(harness, ADMIN, "/target")


async def test_only_admins_configure_and_cadres_cannot_list(harness) -> None:
    await _setup(harness)
    assert await _reply(harness, CADRE, "/target list") == "这个命令需要书记或管理员权限。"
    assert await _reply(harness, SECRETARY, "/target set 党课 每月 1 次") == "这个命令需要管理员权限。"
    assert await _reply(harness, SECRETARY, "/target remove 1") == "这个命令需要管理员权限。"
    assert "没有加入组织" in await _reply(harness, STRANGER, "/target list")
    async with harness.session() as session:
        assert len(await repo.list_targets(session=session)) == 6


async def test_admin_sets_updates_and_removes_targets_with_audit(harness) -> None:
    await _setup(harness)
    text = await _reply(harness, ADMIN, "/target set 学习教育 每周 1 次 每人")
    assert text.startswith("已添加：#7 学习教育 · 每周 1 次 · 每人")
    # the same subject and binding again updates it instead of adding a duplicate
    text = await _reply(harness, ADMIN, "/target set 支部委员会 每月两次 支部")
    assert text.startswith("已更新：#1 支部委员会 · 每月 2 次 · 党支部")
    text = await _reply(harness, ADMIN, "/target remove #2")
    assert text.startswith("已删除：#2 党小组会")
    assert "没有编号为 2 的指标" in await _reply(harness, ADMIN, "/target remove 2")
    listing = await _reply(harness, ADMIN, "/target list")
    assert "#2 党小组会" not in listing and "党小组会 未设指标" in listing and "#7 学习教育" in listing
    async with harness.session() as session:
        actions = (
            await session.execute(select(AuditLog.action).where(AuditLog.action.like("target.%")))
        ).scalars()
        assert sorted(actions) == ["target.remove", "target.set", "target.set"]
        rows = {t.id: t for t in await repo.list_targets(session=session)}
    assert rows[1].count == 2 and rows[1].form == "支委会"
    assert (rows[7].scope, rows[7].role, rows[7].category, rows[7].period) == (
        "member",
        None,
        "study",
        "week",
    )


async def test_restart_does_not_bring_back_removed_defaults(harness) -> None:
    await _setup(harness)
    await _reply(harness, ADMIN, "/target remove 3")
    from bot.target_settings import seed_default_targets

    await seed_default_targets(harness.app.bot_data)
    async with harness.session() as session:
        assert 3 not in {t.id for t in await repo.list_targets(session=session)}
        assert len(await repo.list_targets(session=session)) == 5


async def test_bad_set_arguments_get_clear_errors_with_examples(harness) -> None:
    await _setup(harness)
    cases = {
        "/target set 支委会 1 次": "请写明周期",
        "/target set 每月 1 次": "请写明是哪项工作",
        "/target set 打篮球 每月 1 次": "不认识“打篮球”",
        "/target set 党课 每月 0 次": "次数请写 1 到 100",
        "/target set 党课 每月 每周": "只能写一个周期",
        "/target set <b>x</b> 每月": "不认识“&lt;b&gt;x&lt;/b&gt;”",
        "/target frobnicate": "没看懂",
    }
    for command, expected in cases.items():
        text = await _reply(harness, ADMIN, command)
        assert expected in text, (command, text)
    assert "/target set 支委会 每月 1 次 支部" in await _reply(harness, ADMIN, "/target set 党课")


async def test_leave_add_list_cancel(harness) -> None:
    await _setup(harness)  # today is Friday 2026-11-27
    text = await _reply(harness, SECRETARY, "/leave 11月30日 12月5日 出差")
    assert text.startswith("✅ 已登记请假：11月30日（周一）至12月5日（周六），共 6 天 · 出差")
    text = await _reply(harness, SECRETARY, "/leave 2026-12-08 2026-12-09")
    assert "12月8日（周二）至12月9日（周三），共 2 天" in text
    listing = await _reply(harness, SECRETARY, "/leave")
    assert listing.index("11月30日") < listing.index("12月8日")
    async with harness.session() as session:
        me = (await session.execute(select(Leave.member_id))).scalars().first()
        assert not await targets.is_on_leave(session=session, member_id=me, on=dt.date(2026, 11, 27))
        assert await targets.is_on_leave(session=session, member_id=me, on=dt.date(2026, 12, 1))
    text = await _reply(harness, SECRETARY, "/leave cancel")
    assert text.startswith("已取消请假：") and "12月8日" in text
    async with harness.session() as session:
        assert not await targets.is_on_leave(session=session, member_id=me, on=dt.date(2026, 12, 1))
    assert "没有登记请假" in await _reply(harness, SECRETARY, "/leave")
    assert "没有可以取消的请假" in await _reply(harness, SECRETARY, "/leave cancel")
    assert "没有可以取消的请假" in await _reply(harness, SECRETARY, "/leave 取消 出差")
    text = await _reply(harness, SECRETARY, "/leave 明天 下周五 出差")
    assert text.startswith("✅ 已登记请假：11月28日（周六）至12月4日（周五），共 7 天 · 出差")


async def test_leave_errors(harness) -> None:
    await _setup(harness)
    assert "结束日期早于开始日期" in await _reply(harness, CADRE, "/leave 12月5日 11月30日")
    assert "日期不存在" in await _reply(harness, CADRE, "/leave 2月30日 3月2日")
    assert "只能补登最近 7 天内" in await _reply(harness, CADRE, "/leave 2026-11-01 2026-11-03")
    assert "没看懂日期" in await _reply(harness, CADRE, "/leave 下辈子")
    assert "没有加入组织" in await _reply(harness, STRANGER, "/leave 明天")
    async with harness.session() as session:
        assert (await session.execute(select(Leave))).first() is None


async def test_leave_excuses_the_periods_it_covers_half_of(harness) -> None:
    """Leave excuses a period when it covers at least half of its weekdays: three days at the end of
    November excuse nothing, the same leave running to 12月25日 excuses December."""
    await _setup(harness)
    await _reply(harness, SECRETARY, "/leave 11月28日 12月25日 培训")
    async with harness.session() as session:
        from storage.orgs import get_member

        sec = await get_member(session=session, telegram_id=SECRETARY.id)
        session.add(
            DutyRecord(
                member_id=sec.id,
                org_id=sec.org_id,
                category="talk",
                keyword="谈心",
                date=dt.date(2026, 11, 3),
                chat_id=SECRETARY.id,
                message_id=1,
                activity_index=0,
                source_text="谈心",
            )
        )
    async with harness.session() as session:
        today = {
            s.name: s.state
            for s in await targets.member_statuses(session=session, member=sec, on=harness.clock.today())
        }
    assert today["谈心谈话"] == "at_risk" and today["支委会"] == "at_risk"
    harness.clock.advance(days=1)  # on leave from today: November is still due (one weekday of leave)
    async with harness.session() as session:
        states = {
            s.state
            for s in await targets.member_statuses(session=session, member=sec, on=harness.clock.today())
        }
    assert "excused" not in states
    harness.clock.advance(days=3)  # Dec 1: December is mostly leave
    async with harness.session() as session:
        states = {
            s.state
            for s in await targets.member_statuses(session=session, member=sec, on=harness.clock.today())
            if s.period == "month"
        }
    assert states == {"excused"}
    await _reply(harness, SECRETARY, "/leave cancel")  # back early: December counts again
    async with harness.session() as session:
        after = {
            s.name: s
            for s in await targets.member_statuses(session=session, member=sec, on=harness.clock.today())
        }
    assert after["谈心谈话"].state == "due" and after["谈心谈话"].done == 0


async def test_an_edited_leave_command_does_not_add_a_second_leave(harness) -> None:
    await _setup(harness)
    await harness.send(CADRE, "/leave 12月1日 12月2日")
    calls = await harness.edit(CADRE, harness.last_message, "/leave 12月1日 12月3日")
    assert [c.text for c in harness.replies(calls)] == [
        "修改后的命令不会再次执行，原命令的结果保持不变。如需按新内容执行，请重新发送一条命令。"
    ]
    async with harness.session() as session:
        assert len((await session.execute(select(Leave))).all()) == 1
