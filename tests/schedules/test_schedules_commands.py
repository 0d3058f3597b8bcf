"""/schedule and /holiday through the real Application: defaults, editing, authorization, jobs."""

from __future__ import annotations

import datetime as dt

from sched_support import ADMIN, CADRES, SECRETARY, tree

from storage import schedules as repo


def _reply(calls) -> str:  # type: ignore[no-untyped-def]
    texts = [c.text for c in calls if c.method == "sendMessage"]
    assert len(texts) == 1, texts
    return texts[0]


def _jobs(harness) -> set[str]:  # type: ignore[no-untyped-def]
    return {j.name for j in harness.app.job_queue.jobs() if j.name}


async def test_defaults_exist_from_the_first_start_with_jobs(harness) -> None:
    await tree(harness)
    reply = _reply(await harness.send(ADMIN, "/schedule list"))
    assert "#1 提醒：每周五 16:00（北京时间）· 全部组织 · 节假日提前到前一个工作日" in reply
    assert "#2 汇总：每周一 9:00（北京时间）" in reply
    assert "下次：11月27日 周五 16:00" in reply
    assert {"schedule:1", "schedule:2"} <= _jobs(harness)


async def test_admin_adds_a_schedule_and_sees_the_next_fire_times(harness) -> None:
    await tree(harness)
    reply = _reply(await harness.send(ADMIN, "/schedule add 每周五16:00 提醒 第一党委"))
    assert reply.startswith(
        "已添加 #3 提醒：每周五 16:00（北京时间）· 第一党委及下级 · 节假日提前到前一个工作日"
    )
    assert "接下来：11月27日、12月4日、12月11日、12月18日、12月25日" in reply
    assert "schedule:3" in _jobs(harness), "a new schedule runs without a restart"
    async with harness.session() as session:
        schedule = await repo.get_schedule(session=session, schedule_id=3)
    assert (schedule.cron, schedule.kind, schedule.holiday_policy) == ("0 16 * * 5", "nudge", "previous")

    reply = _reply(await harness.send(ADMIN, "/schedule add 0 10 * * 1 汇总 跳过"))
    assert "#4 汇总：cron 0 10 * * 1" in reply and "节假日跳过" in reply


async def test_an_unparseable_rule_answers_with_the_accepted_forms(harness) -> None:
    await tree(harness)
    reply = _reply(await harness.send(ADMIN, "/schedule add 每周八 9点"))
    assert reply.startswith("没看懂“每周八 9点”")
    for form in ("每天9:00", "每周一三五8:30", "每月最后一个工作日10:00", "0 16 * * 5"):
        assert form in reply
    async with harness.session() as session:
        assert len(await repo.list_schedules(session=session)) == 2


async def test_pause_resume_and_remove_change_the_jobs_at_once(harness) -> None:
    await tree(harness)
    assert "已暂停 #1" in _reply(await harness.send(ADMIN, "/schedule pause 1"))
    assert "schedule:1" not in _jobs(harness)
    assert "⏸ 已暂停" in _reply(await harness.send(ADMIN, "/schedule list"))
    assert "已恢复 #1" in _reply(await harness.send(ADMIN, "/schedule resume 1"))
    assert "schedule:1" in _jobs(harness)
    assert "已删除 #2" in _reply(await harness.send(ADMIN, "/schedule remove 2"))
    assert "schedule:2" not in _jobs(harness)
    assert "没有编号为 9" in _reply(await harness.send(ADMIN, "/schedule pause 9"))


async def test_removed_defaults_do_not_come_back_after_a_restart(harness) -> None:
    from bot.scheduler import seed_defaults

    await tree(harness)
    await harness.send(ADMIN, "/schedule remove 1")
    await harness.send(ADMIN, "/schedule remove 2")
    assert await seed_defaults(harness.services) == 0
    async with harness.session() as session:
        assert await repo.list_schedules(session=session) == []


async def test_schedule_test_shows_times_and_recipients_without_sending(harness) -> None:
    await tree(harness)
    calls = await harness.send(ADMIN, "/schedule test 1")
    reply = _reply(calls)
    assert "接下来五次" in reply and "11月27日 周五 16:00" in reply and "12月25日 周五 16:00" in reply
    assert "会提醒 4 人" in reply and "党员1" in reply and "王书记" in reply
    assert [c.chat_id for c in calls if c.method == "sendMessage"] == [ADMIN.id]
    async with harness.session() as session:
        assert await repo.unfinished_runs(session=session) == []


async def test_only_admins_configure_and_secretaries_may_list(harness) -> None:
    await tree(harness)
    assert "需要管理员权限" in _reply(await harness.send(SECRETARY, "/schedule add 每天9:00"))
    assert "需要管理员权限" in _reply(await harness.send(SECRETARY, "/schedule pause 1"))
    assert "需要管理员权限" in _reply(await harness.send(SECRETARY, "/holiday add 2026-12-01 放假"))
    assert "#1 提醒" in _reply(await harness.send(SECRETARY, "/schedule list"))
    assert "2026年" in _reply(await harness.send(SECRETARY, "/holiday list"))
    assert "需要书记或管理员权限" in _reply(await harness.send(CADRES[0], "/schedule list"))
    assert "还没有加入组织" in _reply(await harness.send(CADRES[0].__class__(999), "/schedule list"))
    async with harness.session() as session:
        assert len(await repo.list_schedules(session=session)) == 2


async def test_holiday_overrides_move_fire_times(harness) -> None:
    await tree(harness)
    harness.clock.set(dt.datetime(2026, 12, 1, 9, tzinfo=harness.clock.tz))
    reply = _reply(await harness.send(ADMIN, "/holiday add 2026-12-04 放假 单位活动"))
    assert "已记下：2026年12月4日 周五 放假（单位活动）" in reply
    assert "下次：12月3日 周四 16:00" in _reply(await harness.send(ADMIN, "/schedule list"))
    listing = _reply(await harness.send(ADMIN, "/holiday list"))
    assert "12月4日 周五 放假（单位活动）" in listing
    assert "已删除" in _reply(await harness.send(ADMIN, "/holiday remove 12月4日"))
    assert "下次：12月4日 周五 16:00" in _reply(await harness.send(ADMIN, "/schedule list"))
    assert "没看懂日期" in _reply(await harness.send(ADMIN, "/holiday add 下辈子"))
    assert "例如：/schedule remove 1" in _reply(await harness.send(ADMIN, "/schedule remove"))
    # the same date forms as /leave: today is Tuesday 1 December
    assert "已记下：2026年12月4日 周五 放假" in _reply(await harness.send(ADMIN, "/holiday add 周五 放假"))
    assert "已删除" in _reply(await harness.send(ADMIN, "/holiday remove 20261204"))
    assert "已记下：2026年12月12日 周六 上班" in _reply(await harness.send(ADMIN, "/holiday add 下周六 上班"))


async def test_admins_are_told_unasked_when_schedules_reach_an_unknown_year(harness) -> None:
    """The scheduler itself warns every admin once (after a run, or when it starts), not only a
    /schedule reply; cadres hear nothing of it."""
    await tree(harness)
    harness.clock.set(dt.datetime(2026, 12, 20, 9, tzinfo=harness.clock.tz))  # next fires reach 2027
    before = len(harness.api.calls)
    assert await harness.services.scheduler.warn_admins_about_calendar() == 1
    sent = [c for c in harness.api.calls[before:] if c.method == "sendMessage"]
    assert [c.chat_id for c in sent] == [ADMIN.id], "admins only"
    assert "还没有2027年的安排" in sent[0].text and "/holiday add" in sent[0].text
    assert await harness.services.scheduler.warn_admins_about_calendar() == 0, "once, not at every run"
    assert "2027年" not in _reply(await harness.send(ADMIN, "/schedule list"))


async def test_admins_are_warned_once_about_a_year_the_calendar_does_not_know(harness) -> None:
    await tree(harness)
    harness.clock.set(dt.datetime(2026, 12, 20, 9, tzinfo=harness.clock.tz))  # next fires reach 2027
    first = _reply(await harness.send(ADMIN, "/schedule list"))
    assert "还没有2027年的安排" in first and "暂按周一至周五" in first
    assert "2027年" not in _reply(await harness.send(ADMIN, "/schedule list"))
    assert "还没有2027年的法定放假数据" in _reply(await harness.send(ADMIN, "/holiday list 2027"))


async def test_an_edited_command_is_not_run_again_and_says_so(harness) -> None:
    """Editing /schedule add 16:00 to 17:00 once left both schedules (double nudges); editing
    /schedule remove 3 to remove 4 deleted both."""
    await tree(harness)
    await harness.send(ADMIN, "/schedule add 每周五16:00 提醒 第一党委")
    added = harness.last_message
    hint = _reply(await harness.edit(ADMIN, added, "/schedule add 每周五17:00 提醒 第一党委"))
    assert hint.startswith("修改后的命令不会再次执行")
    await harness.send(ADMIN, "/schedule add 每周一9:00 提醒 第一党委")
    await harness.send(ADMIN, "/schedule remove 3")
    removal = harness.last_message
    assert _reply(await harness.edit(ADMIN, removal, "/schedule remove 4")).startswith(
        "修改后的命令不会再次执行"
    )
    await harness.send(ADMIN, "/holiday add 2026-12-31 放假 元旦前")
    holiday = harness.last_message
    await harness.edit(ADMIN, holiday, "/holiday add 2026-12-30 放假 元旦前")
    async with harness.session() as session:
        schedules = await repo.list_schedules(session=session)
        holidays = await repo.list_overrides(session=session)
    assert sorted(s.id for s in schedules) == [1, 2, 4], "#3 removed once, #4 kept, no 17:00 copy"
    assert [h.day for h in holidays] == [dt.date(2026, 12, 31)]
    # an edit of a command in a group gets no answer there
    from helpers import group_chat

    assert await harness.edit(ADMIN, dict(added, chat=group_chat(-100900, "某群")), "/digest") == []


async def test_a_command_delivered_again_runs_once_even_after_a_restart(harness) -> None:
    """Telegram redelivers an update whose answer was lost: three deliveries made three schedules."""
    await tree(harness)
    from helpers import message_dict

    update = {"update_id": 990_001, "message": message_dict(ADMIN, "/schedule add 每周五17:00 提醒 第一党委")}
    first = await harness.process(update)
    assert "已添加 #3" in _reply(first)
    assert await harness.process(update) == [], "a redelivery gets no second answer"
    # what a restarted process knows: only the database
    from bot.services import Services

    restarted = Services(harness.services.settings, harness.clock)
    await restarted.open(migrate=False)
    try:
        assert not await restarted.first_time(990_001), "seen before the restart"
        assert await restarted.first_time(990_003)
    finally:
        await restarted.close()
    async with harness.session() as session:
        assert len(await repo.list_schedules(session=session)) == 3
    # the next update is run as usual
    later = {"update_id": 990_004, "message": message_dict(ADMIN, "/schedule list")}
    assert "#3 提醒" in _reply(await harness.process(later))


async def test_a_removed_schedule_keeps_its_history_and_the_weekly_cap_still_counts_it(harness) -> None:
    """Removing a nudge once deleted its deliveries: re-added, it nudged past the weekly cap."""
    from sched_support import chats, deliveries, fast_outbox, runs
    from sqlalchemy import select

    from storage.models import AuditLog

    harness.services.settings.nudge_weekly_cap = 2
    await tree(harness)
    assert "已添加 #3" in _reply(await harness.send(ADMIN, "/schedule add 每天10:00 提醒 照常"))
    box = fast_outbox(harness)
    for day in (23, 24):  # Monday and Tuesday: two nudges, the cap
        fire = dt.datetime(2026, 11, day, 10, 0, tzinfo=harness.clock.tz)
        harness.clock.set(fire + dt.timedelta(minutes=1))
        await box.run(3, fire)
    assert chats(harness).count(CADRES[0].id) == 2
    sent_before = len(await deliveries(harness))

    assert "已删除 #3（每天 10:00）" in _reply(await harness.send(ADMIN, "/schedule remove 3"))
    assert "#3" not in _reply(await harness.send(ADMIN, "/schedule list"))
    assert "schedule:3" not in _jobs(harness)
    assert "没有编号为 3" in _reply(await harness.send(ADMIN, "/schedule pause 3"))
    assert "没有编号为 3" in _reply(await harness.send(ADMIN, "/schedule remove 3"))
    wednesday = dt.datetime(2026, 11, 25, 10, 0, tzinfo=harness.clock.tz)
    harness.clock.set(wednesday + dt.timedelta(minutes=1))
    assert await box.run(3, wednesday) is None, "a removed schedule never fires"
    assert len(await deliveries(harness)) == sent_before and len(await runs(harness)) == 2

    assert "已添加 #4" in _reply(await harness.send(ADMIN, "/schedule add 每天10:00 提醒 照常"))
    await box.run(4, wednesday)
    assert chats(harness).count(CADRES[0].id) == 2, "the cap counts the removed schedule's nudges"
    async with harness.session() as session:
        removed = await repo.get_schedule(session=session, schedule_id=3)
        audit = (
            await session.execute(select(AuditLog).where(AuditLog.action == "schedule.remove"))
        ).scalar_one()
    assert removed is None
    assert (audit.object_id, audit.detail) == (3, "每天 10:00 nudge")


async def test_a_removed_holiday_is_kept_marked_removed_and_can_be_set_again(harness) -> None:
    from sqlalchemy import select

    from storage.models import AuditLog, HolidayOverride

    await tree(harness)
    harness.clock.set(dt.datetime(2026, 12, 1, 9, tzinfo=harness.clock.tz))
    await harness.send(ADMIN, "/holiday add 2026-12-04 放假 单位活动")
    assert "已删除" in _reply(await harness.send(ADMIN, "/holiday remove 2026-12-04"))
    assert "管理员调整：无" in _reply(await harness.send(ADMIN, "/holiday list"))
    assert "没有调整" in _reply(await harness.send(ADMIN, "/holiday remove 2026-12-04"))
    assert "下次：12月4日 周五 16:00" in _reply(await harness.send(ADMIN, "/schedule list"))
    async with harness.session() as session:
        (row,) = (await session.execute(select(HolidayOverride))).scalars()
        audit = (
            await session.execute(select(AuditLog).where(AuditLog.action == "holiday.remove"))
        ).scalar_one()
    assert (row.day, row.is_holiday, row.note) == (dt.date(2026, 12, 4), True, "单位活动")
    assert row.removed_at is not None
    assert audit.detail == "2026-12-04 放假 单位活动"

    await harness.send(ADMIN, "/holiday add 2026-12-04 放假")
    assert "12月4日 周五 放假" in _reply(await harness.send(ADMIN, "/holiday list"))
    assert "下次：12月3日 周四 16:00" in _reply(await harness.send(ADMIN, "/schedule list"))


async def test_holiday_list_with_a_year_it_cannot_read_says_so(harness) -> None:
    """`/holiday list 99999` once listed this year as if the year had been understood."""
    await tree(harness)
    for written in ("99999", "26", "二〇二七", "2O27"):
        reply = _reply(await harness.send(ADMIN, f"/holiday list {written}"))
        assert reply == f"没看懂年份“{written}”，请写四位数字，例如：/holiday list 2026"
    assert "还没有2027年" in _reply(await harness.send(ADMIN, "/holiday list 2027"))
    assert "📅 2026年" in _reply(await harness.send(ADMIN, "/holiday list"))
