"""本期不涉及 asks for a reason; the digest shows it apart; the secretary can reject it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from schedules.sched_support import CADRES, SECRETARY, add_schedule, fast_outbox, record, tree
from sqlalchemy import select

from bot.exemptions import REASON_PROMPT
from helpers import card_message
from storage.models import AuditLog, DutyRecord, Exemption

TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_NOW = dt.datetime(2026, 11, 27, 10, 15, tzinfo=TZ)  # as in tests/conftest.py

C1, C2, C3 = (c.id for c in CADRES)


async def test_an_exemption_asks_why_shows_apart_and_can_be_rejected(harness) -> None:
    people = await tree(harness)
    schedule = await add_schedule(harness, "每天10:00", policy="ignore")
    await fast_outbox(harness).run(schedule.id, DEFAULT_NOW)
    nudge = harness.api.sent("sendMessage", chat_id=C1)[0]

    calls = await harness.press(CADRES[0], nudge, "本期不涉及")
    question = harness.replies(calls)[-1]
    assert question.chat_id == C1 and question.text == REASON_PROMPT
    assert question.params["reply_markup"]["force_reply"] is True

    calls = await harness.send(CADRES[0], "下周出差 <培训>", reply_to=card_message(question))
    assert harness.replies(calls)[0].text == (
        "已记下：本周理论学习本期不涉及，原因：下周出差 &lt;培训&gt;。书记可以看到这条说明。"
    )
    to_secretary = [c for c in harness.replies(calls) if c.chat_id == SECRETARY.id]
    assert (
        len(to_secretary) == 1
        and "党员1：本周理论学习本期不涉及，原因：下周出差 &lt;培训&gt;" in to_secretary[0].text
    )
    async with harness.session() as session:  # the reason is not taken for a check-in
        assert (await session.execute(select(DutyRecord))).first() is None

    for cadre in ("党员2", "党员3"):
        await record(harness, people[cadre], DEFAULT_NOW.date())
    digest = harness.replies(await harness.send(SECRETARY, "/digest 本周"))[0].text
    assert "· 理论学习（每周1次·每人） 3/3人 ✅（其中1人本期不涉及：下周出差 &lt;培训&gt;）" in digest

    # a cadre cannot reject; the secretary can, once
    calls = await harness.press(CADRES[1], to_secretary[0], "驳回")
    assert "需要书记或管理员权限" in harness.replies(calls, "answerCallbackQuery")[0].params["text"]
    calls = await harness.press(SECRETARY, to_secretary[0], "驳回")
    assert "已驳回：该项本期仍需完成" in harness.replies(calls, "editMessageText")[0].text
    told = [c for c in harness.replies(calls) if c.chat_id == C1]
    assert told and "书记没有同意「本周理论学习」本期不涉及" in told[0].text
    calls = await harness.press(SECRETARY, to_secretary[0], "驳回")
    assert harness.replies(calls, "answerCallbackQuery")[0].params["text"] == "已经驳回过了。"

    digest = harness.replies(await harness.send(SECRETARY, "/digest 本周"))[0].text
    assert "· 理论学习（每周1次·每人） 2/3人" in digest and "不涉及" not in digest
    async with harness.session() as session:
        exemption = (await session.execute(select(Exemption))).scalar_one()
        actions = sorted(
            (
                await session.execute(select(AuditLog.action).where(AuditLog.action.like("exemption.%")))
            ).scalars()
        )
    assert exemption.rejected_at is not None and exemption.reason == "下周出差 <培训>"
    assert actions == ["exemption.reason", "exemption.reject"]


async def test_a_reply_to_someone_elses_question_is_not_taken(harness) -> None:
    await tree(harness)
    schedule = await add_schedule(harness, "每天10:00", policy="ignore")
    await fast_outbox(harness).run(schedule.id, DEFAULT_NOW)
    nudge = harness.api.sent("sendMessage", chat_id=C1)[0]
    question = harness.replies(await harness.press(CADRES[0], nudge, "本期不涉及"))[-1]
    calls = await harness.send(CADRES[1], "我也出差", reply_to=card_message(question))
    assert "没有找到这条说明" in harness.replies(calls)[0].text
    async with harness.session() as session:
        assert (await session.execute(select(Exemption))).scalar_one().reason == ""
