"""A check-in becomes records and one card; the card's buttons undo and correct them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from helpers import TgUser
from storage import orgs
from storage.models import AuditLog, DutyRecord

CADRE = TgUser(101, "张三")
OTHER = TgUser(102, "李四")
ADMIN = TgUser(1, "王管理员")


@pytest.fixture
async def bot(harness):  # type: ignore[no-untyped-def]
    await harness.add_org("第一党委")
    await harness.add_org("第一支部", "第一党委")
    await harness.add_member(CADRE, "第一支部")
    await harness.add_member(OTHER, "第一支部")
    return harness


async def _records(harness, *, live_only: bool = False) -> list[DutyRecord]:  # type: ignore[no-untyped-def]
    async with harness.session() as session:
        query = select(DutyRecord).order_by(DutyRecord.id)
        if live_only:
            query = query.where(DutyRecord.deleted_at.is_(None))
        return list((await session.execute(query)).scalars())


async def test_one_activity_is_stored_and_confirmed_with_one_card(bot) -> None:
    calls = await bot.send(CADRE, "今天下午组织支部党员开展主题党日活动，参加18人，时长2小时")
    cards = bot.replies(calls)
    assert len(cards) == 1
    assert cards[0].text == "✅ 已记录 1 项\n【组织生活·主题党日】11月27日 周五 · 18人 · 2小时"
    assert [b["text"] for row in cards[0].buttons for b in row] == ["撤销", "改类别", "改日期", "补全台账"]
    [record] = await _records(bot)
    assert (record.category, record.keyword, record.date) == ("org_life", "主题党日", dt.date(2026, 11, 27))
    assert (record.participants, record.duration_min) == (18, 120)
    async with bot.session() as session:
        branch = await orgs.get_org_by_name(session=session, name="第一支部")
    assert record.org_id == branch.id, "the record belongs to the member's org"


async def test_several_activities_get_numbered_lines_and_per_item_buttons(bot) -> None:
    card = bot.replies(
        await bot.send(CADRE, "上午对第一、第二支部开展党建督查，发现问题7个；下午约谈第二支部书记")
    )[0]
    assert card.text.splitlines() == [
        "✅ 已记录 2 项",
        "1.【监督检查·督查】11月27日 周五 · 发现问题7个",
        "2.【约谈诫勉·约谈】11月27日 周五",
    ]
    labels = [b["text"] for row in card.buttons for b in row]
    assert labels == ["撤销全部", "修改第1项", "修改第2项"]

    menu = bot.replies(await bot.press(CADRE, card, "修改第2项"), "editMessageText")[0]
    assert menu.text.endswith("修改第2项：")
    after = bot.replies(await bot.press(CADRE, menu, "撤销"), "editMessageText")[0]
    assert after.text.splitlines()[:2] == ["✅ 已记录 1 项", "【监督检查·督查】11月27日 周五 · 发现问题7个"]
    assert "↩️ 已撤销 1 项" in after.text
    assert [r.category for r in await _records(bot, live_only=True)] == ["inspect"]

    restored = bot.replies(await bot.press(CADRE, after, "恢复已撤销"), "editMessageText")[0]
    assert restored.text.startswith("✅ 已记录 2 项")
    gone = bot.replies(await bot.press(CADRE, restored, "撤销全部"), "editMessageText")[0]
    assert gone.text == "↩️ 已撤销（11月27日 督查；11月27日 约谈）"
    assert await _records(bot, live_only=True) == []


async def test_undo_edits_the_card_in_place_and_restore_brings_it_back(bot) -> None:
    card = bot.replies(await bot.send(CADRE, "今天下午组织支部党员开展主题党日活动，参加18人"))[0]
    edit = bot.replies(await bot.press(CADRE, card, "撤销"), "editMessageText")[0]
    assert edit.params["message_id"] == card.result["message_id"]
    assert edit.text == "↩️ 已撤销（11月27日 主题党日）"
    [record] = await _records(bot)
    assert record.deleted_at is not None, "deletion is soft"
    async with bot.session() as session:
        actions = (await session.execute(select(AuditLog.action))).scalars().all()
    assert "record.delete" in actions

    back = bot.replies(await bot.press(CADRE, edit, "恢复"), "editMessageText")[0]
    assert back.text.startswith("✅ 已记录 1 项")
    assert (await _records(bot))[0].deleted_at is None


async def test_change_category_by_button_drops_the_rule_keyword(bot) -> None:
    card = bot.replies(await bot.send(CADRE, "昨天与第三支部3名党员开展谈心谈话"))[0]
    picker = bot.replies(await bot.press(CADRE, card, "改类别"), "editMessageText")[0]
    labels = [b["text"] for row in picker.buttons for b in row]
    assert labels[:10] == [
        "部署推进",
        "督办过问",
        "学习教育",
        "组织生活",
        "谈心谈话",
        "批评教育",
        "约谈诫勉",
        "监督检查",
        "调查研究",
        "志愿服务",
    ]
    done = bot.replies(await bot.press(CADRE, picker, "批评教育"), "editMessageText")[0]
    assert done.text == "✅ 已记录 1 项\n【批评教育】11月26日 周四 · 3人"
    [record] = await _records(bot)
    assert (record.category, record.keyword) == ("criticize", None)


async def test_change_date_today_yesterday_and_an_earlier_day(bot) -> None:
    card = bot.replies(await bot.send(CADRE, "今天开展志愿服务"))[0]
    picker = bot.replies(await bot.press(CADRE, card, "改日期"), "editMessageText")[0]
    assert [b["text"] for b in picker.buttons[0]] == ["今天", "昨天", "前天"]
    done = bot.replies(await bot.press(CADRE, picker, "前天"), "editMessageText")[0]
    assert "11月25日 周三" in done.text
    picker = bot.replies(await bot.press(CADRE, done, "改日期"), "editMessageText")[0]
    page = bot.replies(await bot.press(CADRE, picker, "其他日期"), "editMessageText")[0]
    assert page.buttons[0][0]["text"] == "11月24日 周二"
    older = bot.replies(await bot.press(CADRE, page, "更早"), "editMessageText")[0]
    done = bot.replies(await bot.press(CADRE, older, "11月16日"), "editMessageText")[0]
    assert "11月16日 周一" in done.text
    assert (await _records(bot))[0].date == dt.date(2026, 11, 16)


async def test_only_the_owner_or_an_admin_can_press_a_card(bot) -> None:
    card = bot.replies(await bot.send(CADRE, "今天开展志愿服务"))[0]
    calls = await bot.press(OTHER, card, "撤销")
    [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answer.params["text"] == "只有记录本人或管理员可以修改这条记录。"
    assert not bot.replies(calls, "editMessageText")
    assert len(await _records(bot, live_only=True)) == 1

    await bot.add_member(ADMIN, "第一党委", role="admin")
    assert bot.replies(await bot.press(ADMIN, card, "撤销"), "editMessageText")
    assert await _records(bot, live_only=True) == []


async def test_nothing_recognised_offers_categories_and_one_tap_files_it(bot) -> None:
    card = bot.replies(await bot.send(CADRE, "今天忙了一整天"))[0]
    assert card.text == "没有看出是哪类党建工作。如果这是一条工作记录，请选一个类别："
    assert await _records(bot) == []
    filed = bot.replies(await bot.press(CADRE, card, "调查研究"), "editMessageText")[0]
    assert filed.text == "✅ 已记录 1 项\n【调查研究】11月27日 周五"
    [record] = await _records(bot)
    assert (record.category, record.keyword, record.message_id) == (
        "research",
        None,
        bot.last_message["message_id"],
    )
    assert record.source_text == "今天忙了一整天"
    # A second tap on the same (stale) card does not file it twice.
    await bot.press(CADRE, card, "调查研究")
    assert len(await _records(bot)) == 1


async def test_a_message_filed_by_category_after_a_restart_keeps_its_text(bot) -> None:
    card = bot.replies(await bot.send(CADRE, "今天在<b>网格</b>里忙了一整天"))[0]
    assert card.params["reply_parameters"], "the prompt quotes the message it asks about"
    bot.services.checkins.albums.clear()  # what a restart forgets
    bot.services.checkins.unread.clear()
    bot.services.checkins.pending_cards.clear()
    bot.replies(await bot.press(CADRE, card, "志愿服务"), "editMessageText")
    [record] = await _records(bot)
    assert (record.category, record.source_text) == ("service", "今天在<b>网格</b>里忙了一整天")


async def test_plans_and_cancelled_activities_are_explained_not_stored(bot) -> None:
    reply = bot.replies(await bot.send(CADRE, "明天上午准备召开支部党员大会"))[0]
    assert reply.text == "这是一项计划，开展之后再来报告就好。"
    reply = bot.replies(await bot.send(CADRE, "今天的主题党日因故取消"))[0]
    assert reply.text == "收到，活动取消不计入记录。"
    assert await _records(bot) == []


async def test_a_redelivered_update_makes_no_second_record_and_no_second_card(bot) -> None:
    await bot.send(CADRE, "今天开展志愿服务，参加5人")
    message = bot.last_message
    calls = await bot.process({"message": message})
    assert bot.replies(calls) == []
    assert len(await _records(bot)) == 1


async def test_an_edited_check_in_updates_its_records_and_edits_the_card(bot) -> None:
    card = bot.replies(await bot.send(CADRE, "今天组织主题党日，参加18人"))[0]
    original = bot.last_message
    calls = await bot.edit(CADRE, original, "今天组织主题党日，参加20人，时长2小时")
    edit = bot.replies(calls, "editMessageText")[0]
    assert edit.params["message_id"] == card.result["message_id"]
    assert edit.text == "✅ 已记录 1 项\n【组织生活·主题党日】11月27日 周五 · 20人 · 2小时"
    assert bot.replies(calls) == []
    [record] = await _records(bot)
    assert (record.participants, record.duration_min) == (20, 120)

    edit = bot.replies(
        await bot.edit(CADRE, original, "今天组织主题党日，参加20人；下午开展谈心谈话"), "editMessageText"
    )[0]
    assert edit.text.startswith("✅ 已记录 2 项")
    edit = bot.replies(await bot.edit(CADRE, original, "今天组织主题党日，参加20人"), "editMessageText")[0]
    assert edit.text.startswith("✅ 已记录 1 项")
    assert [r.category for r in await _records(bot, live_only=True)] == ["org_life"]
    assert len(await _records(bot)) == 2, "the withdrawn activity is soft-deleted, not erased"


async def test_my_shows_week_and_month_totals_and_undo_takes_the_last_record(bot) -> None:
    await bot.send(CADRE, "今天组织主题党日，参加18人")
    await bot.send(CADRE, "11月3日与3名党员开展谈心谈话")
    await bot.send(CADRE, "昨天开展志愿服务")
    text = bot.replies(await bot.send(CADRE, "/my"))[0].text
    assert "本周（11月23日—11月29日）：2 项" in text
    assert "本月（11月）：3 项" in text
    assert "组织生活 1 · 谈心谈话 1 · 志愿服务 1" in text

    reply = bot.replies(await bot.send(CADRE, "/undo"))[0]
    assert reply.text == "↩️ 已撤销（11月26日 志愿服务）"
    assert "本月（11月）：2 项" in bot.replies(await bot.send(CADRE, "/my"))[0].text
    restored = bot.replies(await bot.press(CADRE, reply, "恢复"), "editMessageText")[0]
    assert restored.text.startswith("✅ 已记录 1 项")
    other = bot.replies(await bot.send(OTHER, "/undo"))[0]
    assert other.text == "没有可以撤销的记录。"


async def test_card_ids_written_later_are_flushed_at_shutdown(bot) -> None:

    card = bot.replies(await bot.send(CADRE, "今天开展志愿服务"))[0]
    await bot.services.stop()
    [record] = await _records(bot)
    assert (record.card_chat_id, record.card_message_id) == (CADRE.id, card.result["message_id"])


@pytest.mark.parametrize(
    "data", ["rec:undo:abc", "rec:undo:999999", "rec", "cat:nosuch:1:20261127", "cat:study:x:y"]
)
async def test_stale_or_garbled_buttons_get_a_short_answer(bot, data: str) -> None:
    query = {
        "id": "q1",
        "from": CADRE.to_dict(),
        "chat_instance": "ci",
        "data": data,
        "message": {"message_id": 7, "date": 0, "chat": {"id": CADRE.id, "type": "private"}},
    }
    calls = await bot.process({"callback_query": query})
    [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answer.params["text"] == "这张卡片已失效。"
    assert await _records(bot) == []


async def test_editing_a_command_does_not_run_it_again(bot) -> None:
    await bot.send(CADRE, "今天开展志愿服务")
    await bot.send(CADRE, "昨天开展谈心谈话")
    await bot.send(CADRE, "/undo")
    calls = await bot.edit(CADRE, bot.last_message, "/undo ")
    assert [c.text for c in calls if c.method == "sendMessage"] == [
        "修改后的命令不会再次执行，原命令的结果保持不变。如需按新内容执行，请重新发送一条命令。"
    ]
    assert len(await _records(bot, live_only=True)) == 1


@pytest.mark.parametrize("day", ["20991231", "19700101", "00010101", "99991231", "20240101"])
async def test_forged_button_dates_outside_what_the_buttons_offer_are_refused(bot, day: str) -> None:
    """The date picker reaches 483 days back and never ahead; a forged `cat:` or `rec:setd` date
    outside that stored records dated 2099 or 1900."""
    prompt = bot.replies(await bot.send(CADRE, "嗯嗯好的收到"))[0]
    forged = {
        "id": "q-cat",
        "from": CADRE.to_dict(),
        "chat_instance": "ci",
        "data": f"cat:study:{bot.last_message['message_id']}:{day}",
        "message": prompt.result,
    }
    [answer] = [c for c in await bot.process({"callback_query": forged}) if c.method == "answerCallbackQuery"]
    assert answer.params["text"] == "日期不对，请重新选择。"
    assert await _records(bot) == []

    card = bot.replies(await bot.send(CADRE, "今天开展志愿服务"))[0]
    setd = dict(
        forged, id="q-setd", data=card.button("撤销")["callback_data"].replace("undo", "setd") + f":{day}"
    )
    setd["message"] = card.result
    [answer] = [c for c in await bot.process({"callback_query": setd}) if c.method == "answerCallbackQuery"]
    assert answer.params["text"] == "日期不对，请重新选择。"
    [record] = await _records(bot)
    assert record.date == dt.date(2026, 11, 27)
