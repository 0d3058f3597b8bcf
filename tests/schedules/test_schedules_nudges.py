"""Nudges through the outbox: who is nudged, the buttons, the cap, escalation, failures, catch-up."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sched_support import (
    ADMIN,
    CADRES,
    SECRETARY,
    SLEPT,
    add_schedule,
    chats,
    deliveries,
    fast_outbox,
    record,
    runs,
    tree,
)
from sqlalchemy import select

from storage import schedules as repo
from storage import targets as target_repo
from storage.models import Exemption, Member

TZ = ZoneInfo("Asia/Shanghai")
FRI_10 = dt.datetime(2026, 11, 27, 10, 0, tzinfo=TZ)  # the harness clock reads Fri 10:15
C1, C2, C3 = (u.id for u in CADRES)


async def test_only_members_with_a_duty_due_are_nudged_once(harness) -> None:
    people = await tree(harness)
    await record(harness, people["党员1"], dt.date(2026, 11, 25))  # on track this week
    async with harness.session() as session:
        await target_repo.add_leave(
            session=session, member=people["党员2"], start=dt.date(2026, 11, 26), end=dt.date(2026, 11, 30)
        )
    schedule = await add_schedule(harness, "每周五10:00")
    box = fast_outbox(harness)

    report = await box.run(schedule.id, FRI_10)

    assert report is not None and report.counts == {"sent": 2}
    # the cadre with nothing recorded, and the secretary (branch duties); not the one on track or on leave
    assert sorted(chats(harness)) == [SECRETARY.id, C3]
    card = harness.api.sent("sendMessage", chat_id=C3)[0]
    assert "本周理论学习尚未记录，还剩2天" in card.text
    assert [b["text"] for b in card.buttons[0]] == ["去报告", "本期不涉及", "稍后提醒"]
    secretary_card = harness.api.sent("sendMessage", chat_id=SECRETARY.id)[0]
    assert "支委会" in secretary_card.text and "谈心谈话" in secretary_card.text  # all in one message
    assert ADMIN.id not in chats(harness)

    # the same fire time again (a double firing, a restart): nothing new
    again = await box.run(schedule.id, FRI_10)
    assert again is not None and again.status == "done"
    assert len(chats(harness)) == 2 and len(await runs(harness)) == 1


async def test_unreachable_members_are_skipped_and_forbidden_marks_them(harness) -> None:
    people = await tree(harness)
    async with harness.session() as session:
        member = await session.get(Member, people["党员1"].id)
        member.unreachable = True  # type: ignore[union-attr]
    harness.api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=C2)
    schedule = await add_schedule(harness, "每周五10:00")

    report = await fast_outbox(harness).run(schedule.id, FRI_10)

    assert report is not None and report.counts == {"sent": 2, "forbidden": 1}
    assert C1 not in chats(harness) and C2 not in chats(harness)
    async with harness.session() as session:
        assert (await session.get(Member, people["党员2"].id)).unreachable  # type: ignore[union-attr]

    # the secretaries see it: the escalation summary names unreachable members
    escalation = await add_schedule(harness, "每周五10:00", kind="escalation")
    await fast_outbox(harness).run(escalation.id, FRI_10)
    summary = harness.api.sent("sendMessage", chat_id=SECRETARY.id)[-1].text
    assert "无法送达" in summary and "党员1" in summary and "党员2" in summary


# PTB 22 warns about RetryAfter.retry_after becoming a timedelta inside its own constructor.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_retry_after_is_honoured_and_a_timeout_is_rechecked_not_resent(harness) -> None:
    await tree(harness)
    harness.api.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7, chat_id=C1)
    harness.api.fail_next("sendMessage", None, chat_id=C2)  # a time-out: it may have arrived
    schedule = await add_schedule(harness, "每周五10:00")
    box = fast_outbox(harness)

    SLEPT.clear()
    report = await box.run(schedule.id, FRI_10)

    assert report is not None and report.counts == {"sent": 3, "unknown": 1}
    assert max(SLEPT) > 6.9, "every send waited the 7 s Telegram asked for"
    assert chats(harness).count(C1) == 1 and C2 not in chats(harness)
    rows = {d.member_id: d for d in await deliveries(harness)}
    assert max(d.attempts for d in rows.values()) == 1  # a retry is not a second claim
    await box.deliver(report.run_id)
    assert C2 not in chats(harness), "an unknown outcome is not resent with the run"

    # resolved by the leader's recheck two hours on: the duty is still open, so C2 gets it once
    # more, saying it may be a repeat; the outcome becomes the delivery's
    (sweep,) = [j for j in harness.app.job_queue.jobs() if j.name == "snooze:sweep"]
    harness.clock.advance(hours=1, minutes=50)
    await sweep.run(harness.app)
    assert C2 not in chats(harness), "not before the recheck time"
    harness.clock.advance(minutes=15)
    await sweep.run(harness.app)
    await sweep.run(harness.app)
    (repeat,) = harness.api.sent("sendMessage", chat_id=C2)
    assert "可能没有送达" in repeat.text and "如已收到，请忽略" in repeat.text
    assert chats(harness).count(C1) == 1, "a confirmed send is never repeated"
    rows = {d.member_id: d for d in await deliveries(harness)}
    assert sorted(d.status for d in rows.values()) == ["sent"] * 4


async def test_weekly_cap_limits_nudges_per_member(harness) -> None:
    harness.services.settings.nudge_weekly_cap = 2
    await tree(harness)
    schedule = await add_schedule(harness, "每天10:00", policy="ignore")
    box = fast_outbox(harness)
    for day in (23, 24, 25):  # Mon, Tue, Wed of one week
        fire = dt.datetime(2026, 11, day, 10, 0, tzinfo=TZ)
        harness.clock.set(fire + dt.timedelta(minutes=1))
        await box.run(schedule.id, fire)
    assert chats(harness).count(C1) == 2
    harness.clock.set(dt.datetime(2026, 11, 30, 10, 1, tzinfo=TZ))  # next Monday: a new week
    await box.run(schedule.id, dt.datetime(2026, 11, 30, 10, 0, tzinfo=TZ))
    assert chats(harness).count(C1) == 3


async def test_escalation_names_members_who_missed_consecutive_periods_in_one_message(harness) -> None:
    people = await tree(harness)
    # weeks of Nov 9 and Nov 16 are the two periods before this one
    await record(harness, people["党员1"], dt.date(2026, 11, 10))
    await record(harness, people["党员1"], dt.date(2026, 11, 17))
    await record(harness, people["党员2"], dt.date(2026, 11, 17))  # missed only one period
    schedule = await add_schedule(harness, "每周五10:00", kind="escalation")

    await fast_outbox(harness).run(schedule.id, FRI_10)

    to_secretary = harness.api.sent("sendMessage", chat_id=SECRETARY.id)
    assert len(to_secretary) == 1
    text = to_secretary[0].text
    assert "连续 2 期" in text and "党员3" in text and "理论学习" in text
    assert "党员1" not in text and "党员2" not in text
    assert not any(c in chats(harness) for c in (C1, C2, C3)), "cadres are never sent escalations"
    assert len(harness.api.sent("sendMessage", chat_id=ADMIN.id)) == 1  # the root's admin


async def test_digest_goes_to_secretaries_and_root_admins(harness) -> None:
    await tree(harness)
    schedule = await add_schedule(harness, "每周一9:00", kind="digest", policy="next")
    report = await fast_outbox(harness).run(schedule.id, dt.datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    assert report is not None and report.counts == {"sent": 2}
    assert set(chats(harness)) == {SECRETARY.id, ADMIN.id}
    to_secretary = harness.api.sent("sendMessage", chat_id=SECRETARY.id)
    assert "第一支部" in to_secretary[0].text and "📊" in to_secretary[0].text
    assert "导出台账" in [b["text"] for b in to_secretary[-1].buttons[0]]


async def test_paused_schedule_does_not_run(harness) -> None:
    await tree(harness)
    schedule = await add_schedule(harness, "每周五10:00")
    async with harness.session() as session:
        (await repo.get_schedule(session=session, schedule_id=schedule.id)).paused = True  # type: ignore[union-attr]
    assert await fast_outbox(harness).run(schedule.id, FRI_10) is None
    assert chats(harness) == [] and await runs(harness) == []


async def _restart(harness, at: dt.datetime) -> None:
    """Stop the scheduler, let time pass while down, start again and wait for the catch-up."""
    leadership = harness.services.leadership
    await leadership.stop()
    harness.clock.set(at)
    await leadership.start()
    await harness.services.scheduler.catch_up_task


async def _drop_default_schedules(harness) -> None:
    async with harness.session() as session:
        for schedule in await repo.list_schedules(session=session):
            await repo.remove_schedule(session=session, schedule_id=schedule.id, now=harness.clock.now())


async def test_restart_catches_up_a_missed_fire_time_once_within_grace(harness) -> None:
    await _drop_default_schedules(harness)
    await tree(harness)
    schedule = await add_schedule(harness, "每周五8:00")
    fast_outbox(harness)

    await _restart(harness, dt.datetime(2026, 11, 27, 13, 0, tzinfo=TZ))  # 5 h late, grace 6 h

    assert [(r.schedule_id, r.fire_time) for r in await runs(harness)] == [
        (schedule.id, dt.datetime(2026, 11, 27, 0, 0, tzinfo=dt.UTC))
    ]
    first = len(chats(harness))
    assert first == 4  # three cadres and the secretary
    await _restart(harness, dt.datetime(2026, 11, 27, 13, 30, tzinfo=TZ))
    assert len(chats(harness)) == first and len(await runs(harness)) == 1, "never twice"


async def test_restart_skips_a_fire_time_older_than_grace(harness, caplog) -> None:
    await _drop_default_schedules(harness)
    await tree(harness)
    await add_schedule(harness, "每周五8:00")
    fast_outbox(harness)
    await _restart(harness, dt.datetime(2026, 11, 27, 15, 0, tzinfo=TZ))  # 7 h late
    assert await runs(harness) == [] and chats(harness) == []
    assert "older than the grace window skipped" in caplog.text


async def test_snooze_comes_back_in_two_hours_at_most_twice_and_survives_a_restart(harness) -> None:
    await tree(harness)
    schedule = await add_schedule(harness, "每周五10:00")
    box = fast_outbox(harness)
    await box.run(schedule.id, FRI_10)
    card = harness.api.sent("sendMessage", chat_id=C1)[0]

    calls = await harness.press(CADRES[0], card, "稍后提醒")
    assert "12:15 再提醒" in harness.replies(calls, "answerCallbackQuery")[0].params["text"]
    delivery = next(d for d in await deliveries(harness) if d.status == "sent" and d.snooze_count == 1)
    assert delivery.snooze_until == dt.datetime(2026, 11, 27, 4, 15, tzinfo=dt.UTC)

    # the bot restarts before the snooze is due: the job is rebuilt from the database
    harness.clock.advance(minutes=30)
    await harness.services.leadership.stop()
    assert not [j for j in harness.app.job_queue.jobs() if j.name == f"snooze:{delivery.id}"]
    await harness.services.leadership.start()
    jobs = [j for j in harness.app.job_queue.jobs() if j.name == f"snooze:{delivery.id}"]
    assert len(jobs) == 1

    harness.clock.advance(hours=2)
    await jobs[0].run(harness.app)
    again = harness.api.sent("sendMessage", chat_id=C1)
    assert len(again) == 2 and "理论学习" in again[1].text
    await jobs[0].run(harness.app)  # a duplicate wake-up sends nothing
    assert len(harness.api.sent("sendMessage", chat_id=C1)) == 2

    await harness.press(CADRES[0], again[1], "稍后提醒")
    calls = await harness.press(CADRES[0], again[1], "稍后提醒")
    assert "不再推迟" in harness.replies(calls, "answerCallbackQuery")[0].params["text"]


async def test_not_applicable_records_an_exemption_and_stops_the_nudges(harness) -> None:
    people = await tree(harness)
    schedule = await add_schedule(harness, "每天10:00", policy="ignore")
    box = fast_outbox(harness)
    await box.run(schedule.id, FRI_10)
    card = harness.api.sent("sendMessage", chat_id=C1)[0]

    calls = await harness.press(CADRES[0], card, "本期不涉及")

    edit = harness.replies(calls, "editMessageText")[0]
    assert "已记为本期不涉及：本周理论学习" in edit.text and "书记可以看到" in edit.text
    async with harness.session() as session:
        rows = list((await session.execute(select(Exemption))).scalars())
    assert [(r.member_id, r.period_start) for r in rows] == [(people["党员1"].id, dt.date(2026, 11, 23))]
    harness.clock.set(dt.datetime(2026, 11, 28, 10, 1, tzinfo=TZ))
    await box.run(schedule.id, dt.datetime(2026, 11, 28, 10, 0, tzinfo=TZ))
    # C1: the first nudge and the question why (no second nudge); C2: two nudges
    assert chats(harness).count(C1) == 2 and chats(harness).count(C2) == 2


async def test_report_button_asks_for_the_check_in_and_others_cannot_press(harness) -> None:
    await tree(harness)
    schedule = await add_schedule(harness, "每周五10:00")
    await fast_outbox(harness).run(schedule.id, FRI_10)
    card = harness.api.sent("sendMessage", chat_id=C1)[0]

    calls = await harness.press(CADRES[0], card, "去报告")
    assert "直接把开展的工作发给我" in harness.replies(calls)[0].text

    calls = await harness.press(CADRES[1], card, "本期不涉及")
    assert harness.replies(calls, "answerCallbackQuery")[0].params["text"] == "这条提醒不是发给您的。"
    async with harness.session() as session:
        assert list((await session.execute(select(Exemption))).scalars()) == []


async def test_the_schedule_job_runs_the_fire_time_it_stands_for(harness) -> None:
    await tree(harness)
    fast_outbox(harness)
    (job,) = [j for j in harness.app.job_queue.jobs() if j.name == "schedule:1"]  # the default 每周五16:00
    harness.clock.set(dt.datetime(2026, 11, 27, 16, 0, 2, tzinfo=TZ))
    await job.run(harness.app)
    assert [r.fire_time for r in await runs(harness)] == [dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)]
    # nudges to those with a duty due; the admin hears once that the coming fire times (1 January)
    # reach 2027, a year the statutory calendar does not know yet
    assert sorted(chats(harness)) == sorted([ADMIN.id, SECRETARY.id, C1, C2, C3])
    assert "还没有2027年的安排" in harness.api.sent("sendMessage", chat_id=ADMIN.id)[0].text
    await job.run(harness.app)  # a second wake-up for the same time sends nothing
    assert len(chats(harness)) == 5 and len(await runs(harness)) == 1


async def test_a_snooze_pressed_on_another_replica_is_swept_up_by_the_leader(harness) -> None:
    from bot import outbox as nudges

    await tree(harness)
    schedule = await add_schedule(harness, "每周五10:00")
    await fast_outbox(harness).run(schedule.id, FRI_10)
    delivery = next(d for d in await deliveries(harness) if d.member_id and d.status == "sent")
    async with harness.session() as session:  # what the non-leader's button handler stores
        await nudges.snooze(session=session, delivery_id=delivery.id, now=harness.clock.now())
    (sweep,) = [j for j in harness.app.job_queue.jobs() if j.name == "snooze:sweep"]
    before = len(chats(harness))
    await sweep.run(harness.app)
    assert len(chats(harness)) == before, "not due yet"
    harness.clock.advance(hours=2, minutes=1)
    await sweep.run(harness.app)
    await sweep.run(harness.app)
    assert len(chats(harness)) == before + 1


async def test_not_applicable_with_several_duties_asks_which_one(harness) -> None:
    people = await tree(harness)
    schedule = await add_schedule(harness, "每周五10:00")
    await fast_outbox(harness).run(schedule.id, FRI_10)
    card = harness.api.sent("sendMessage", chat_id=SECRETARY.id)[0]

    calls = await harness.press(SECRETARY, card, "本期不涉及")
    choice = harness.replies(calls, "editMessageReplyMarkup")[0]
    assert "本月支委会不涉及" in [b["text"] for row in choice.buttons for b in row]
    async with harness.session() as session:
        assert list((await session.execute(select(Exemption))).scalars()) == []

    calls = await harness.press(SECRETARY, choice, "本月支委会不涉及")
    assert "已记为本期不涉及：本月支委会" in harness.replies(calls, "editMessageText")[0].text
    async with harness.session() as session:
        rows = list((await session.execute(select(Exemption))).scalars())
    assert [(r.member_id, r.period_start) for r in rows] == [(people["secretary"].id, dt.date(2026, 11, 1))]


async def test_a_run_resumed_on_a_later_day_expires_its_nudges_instead_of_sending_them(harness) -> None:
    """A Friday run resumed on Monday once sent "还剩2天" for a week that was over."""
    await tree(harness)
    schedule = await add_schedule(harness, "每周五10:00")
    box = fast_outbox(harness)
    sent: list[int] = []

    def stop_after_first(call) -> None:  # type: ignore[no-untyped-def]
        if call.method == "sendMessage" and call.chat_id in (C1, C2, C3):
            sent.append(call.chat_id)
            if len(sent) == 1:
                box.stop()

    harness.api.listeners.append(stop_after_first)
    report = await box.run(schedule.id, FRI_10)
    assert report is not None and report.status == "stopped"
    left, done = report.counts["pending"], report.counts["sent"]
    assert left >= 1
    before = len(harness.api.sent("sendMessage"))
    box.start()
    harness.clock.set(dt.datetime(2026, 11, 30, 9, 0, tzinfo=TZ))  # Monday
    report = await box.deliver(report.run_id)
    assert report.status == "done"
    assert len(harness.api.sent("sendMessage")) == before, "nothing from Friday is sent on Monday"
    assert report.counts == {"sent": done, "expired": left}


async def test_exemptions_and_snoozes_are_audited(harness) -> None:
    """本期不涉及 and 稍后提醒 changed what a member is sent, with no trace in the audit log."""
    from storage.models import AuditLog

    people = await tree(harness)
    schedule = await add_schedule(harness, "每周五10:00")
    await fast_outbox(harness).run(schedule.id, FRI_10)
    await harness.press(CADRES[0], harness.api.sent("sendMessage", chat_id=C1)[0], "本期不涉及")
    await harness.press(CADRES[0], harness.api.sent("sendMessage", chat_id=C1)[0], "本期不涉及")  # again
    card = harness.api.sent("sendMessage", chat_id=C2)[0]
    for _ in range(3):  # the third is refused: at most two snoozes
        await harness.press(CADRES[1], card, "稍后提醒")
    await harness.press(CADRES[2], card, "稍后提醒")  # not theirs

    async with harness.session() as session:
        rows = list((await session.execute(select(AuditLog).order_by(AuditLog.id))).scalars())
        target = (await session.execute(select(Exemption))).scalar_one()
    nudge_rows = [r for r in rows if r.action.startswith("nudge.")]
    assert [(r.action, r.actor_id) for r in nudge_rows] == [
        ("nudge.exempt", people["党员1"].id),
        ("nudge.snooze", people["党员2"].id),
        ("nudge.snooze", people["党员2"].id),
    ]
    assert (nudge_rows[0].object_id, nudge_rows[0].detail) == (target.target_id, "理论学习 week 2026-11-23")
    assert nudge_rows[1].detail == "until=2026-11-27T04:15:00+00:00"
    assert nudge_rows[2].detail == "until=2026-11-27T04:15:00+00:00"  # the clock did not move


async def test_a_schedule_removed_mid_run_sends_nothing_more_and_its_run_is_not_resumed(harness) -> None:
    await tree(harness)
    await add_schedule(harness, "每周五10:00")  # #3 (after the two defaults)
    box = fast_outbox(harness)
    sent: list[int] = []

    def stop_after_first(call) -> None:  # type: ignore[no-untyped-def]
        if call.method == "sendMessage" and call.chat_id in (C1, C2, C3):
            sent.append(call.chat_id)
            if len(sent) == 1:
                box.stop()

    harness.api.listeners.append(stop_after_first)
    report = await box.run(3, FRI_10)
    assert report is not None and report.status == "stopped" and report.counts["pending"] >= 1
    await harness.send(ADMIN, "/schedule remove 3")
    box.start()
    before = len(harness.api.sent("sendMessage"))
    await _restart(harness, FRI_10 + dt.timedelta(minutes=20))  # the restart resumes nothing
    (run,) = await runs(harness)
    assert run.status == "skipped"
    await box.deliver(report.run_id)  # nor would an outbox still delivering it
    assert len(harness.api.sent("sendMessage")) == before, "the removed schedule's nudges stay unsent"
    statuses = sorted(d.status for d in await deliveries(harness))
    assert statuses == ["expired"] * report.counts["pending"] + ["sent"] * report.counts["sent"]
