"""Photos, groups and bad input: every message gets a clear answer and nothing is lost."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import func, select

from helpers import TgUser, group_chat
from storage.models import DutyRecord, Evidence, Member

CADRE = TgUser(101, "张三")
OTHER = TgUser(102, "李四")
STRANGER = TgUser(300, "路人")
ADMIN = TgUser(1, "王管理员")
GROUP = group_chat(-100500, "第一支部群")


@pytest.fixture
async def bot(harness):  # type: ignore[no-untyped-def]
    await harness.add_org("第一党委")
    await harness.add_org("第一支部", "第一党委")
    await harness.add_member(CADRE, "第一支部")
    await harness.add_member(OTHER, "第一支部")
    return harness


async def _count(harness, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with harness.session() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


# --- photos -------------------------------------------------------------------------------------
async def test_a_captioned_photo_is_a_check_in_with_evidence(bot) -> None:
    card = bot.replies(await bot.photo(CADRE, "今天开展志愿服务，参加6人"))[0]
    assert card.text == "✅ 已记录 1 项\n【志愿服务】11月27日 周五 · 6人 · 📎1张图"
    assert await _count(bot, Evidence) == 1


async def test_a_photo_replying_to_a_card_attaches_evidence_and_updates_the_card(bot) -> None:
    card = bot.replies(await bot.send(CADRE, "今天组织主题党日，参加18人"))[0]
    calls = await bot.photo(CADRE, reply_to=card.result)
    assert bot.replies(calls)[0].text == "📎 已附上图片：11月27日 主题党日"
    edit = bot.replies(calls, "editMessageText")[0]
    assert edit.params["message_id"] == card.result["message_id"] and "📎1张图" in edit.text
    assert await _count(bot, Evidence) == 1
    # Someone else's photo on my card is not taken as my evidence.
    other = bot.replies(await bot.photo(OTHER, reply_to=card.result))[0]
    assert other.text.startswith("收到图片。")
    assert await _count(bot, Evidence) == 1


async def test_an_album_with_one_caption_attaches_every_photo(bot) -> None:
    first = await bot.photo(CADRE, "今天开展志愿服务", media_group_id="album1")
    second = await bot.photo(CADRE, media_group_id="album1")
    assert len(bot.replies(first)) == 1 and bot.replies(second) == []
    assert await _count(bot, Evidence) == 2
    assert await _count(bot, DutyRecord) == 1


async def test_a_photo_without_caption_or_card_is_explained(bot) -> None:
    reply = bot.replies(await bot.photo(CADRE))[0]
    assert (
        reply.text == "收到图片。要作为佐证，请回复对应的记录卡片发送图片；或者在图片说明里写上开展的工作。"
    )
    assert await _count(bot, Evidence) == 0


# --- groups -------------------------------------------------------------------------------------
async def test_in_a_bound_group_members_check_ins_are_recorded_with_a_threaded_reply(bot) -> None:
    await bot.add_member(ADMIN, "第一党委", role="admin")
    bound = bot.replies(await bot.send(ADMIN, "/bindgroup 第一支部", chat=GROUP))[0]
    assert bound.text.startswith("本群已绑定「第一支部」")

    calls = await bot.send(CADRE, "今天组织主题党日，参加18人", chat=GROUP)
    card = bot.replies(calls)[0]
    assert card.chat_id == GROUP["id"]
    reply_to = card.params["reply_parameters"]
    reply_to = json.loads(reply_to) if isinstance(reply_to, str) else reply_to
    assert reply_to["message_id"] == bot.last_message["message_id"]
    async with bot.session() as session:
        record = (await session.execute(select(DutyRecord))).scalar_one()
    assert record.chat_id == GROUP["id"]

    assert await bot.send(STRANGER, "今天组织主题党日", chat=GROUP) == []
    assert await bot.send(CADRE, "大家辛苦了", chat=GROUP) == []
    assert await _count(bot, DutyRecord) == 1


async def test_a_group_not_bound_to_an_organisation_is_ignored(bot) -> None:
    assert await bot.send(CADRE, "今天组织主题党日，参加18人", chat=GROUP) == []
    assert await _count(bot, DutyRecord) == 0


async def test_commands_that_reveal_data_answer_in_private(bot) -> None:
    await bot.send(CADRE, "今天组织主题党日，参加18人")
    calls = await bot.send(CADRE, "/my", chat=GROUP)
    private = [c for c in bot.replies(calls) if c.chat_id == CADRE.id]
    in_group = [c for c in bot.replies(calls) if c.chat_id == GROUP["id"]]
    assert "本周" in private[0].text
    assert [c.text for c in in_group] == ["已私信发给您。"]

    bot.api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=CADRE.id)
    calls = await bot.send(CADRE, "/my", chat=GROUP)
    assert bot.replies(calls)[0].text == "张三，请先私聊我发送 /start，我再把结果私信给您。"


async def test_leave_and_a_schedule_test_sent_in_a_group_answer_in_private(bot) -> None:
    """/leave echoed dates and reason in the group; /schedule test named the people with open duties."""
    await bot.add_member(ADMIN, "第一党委", role="admin")
    calls = await bot.send(CADRE, "/leave 12月1日到12月5日 住院治疗", chat=GROUP)
    in_group = [c.text for c in bot.replies(calls) if c.chat_id == GROUP["id"]]
    private = [c.text for c in bot.replies(calls) if c.chat_id == CADRE.id]
    assert in_group == ["已私信发给您。"] and "住院治疗" in private[0]
    calls = await bot.send(ADMIN, "/schedule test 1", chat=GROUP)
    in_group = [c.text for c in bot.replies(calls) if c.chat_id == GROUP["id"]]
    private = [c.text for c in bot.replies(calls) if c.chat_id == ADMIN.id]
    assert in_group == ["已私信发给您。"] and "如果现在运行" in private[0]


# --- bad input ----------------------------------------------------------------------------------
async def test_emoji_only_and_empty_messages_are_answered_and_store_nothing(bot) -> None:
    for text in ("👍👍🎉", "", "。。。"):
        reply = bot.replies(await bot.send(CADRE, text))[0]
        assert reply.text.startswith("这条消息里没有文字。"), repr(text)
    assert await _count(bot, DutyRecord) == 0


async def test_stickers_voice_and_files_get_a_clear_answer(bot) -> None:
    sticker = {
        "file_id": "S1",
        "file_unique_id": "US1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    voice = {"file_id": "V1", "file_unique_id": "UV1", "duration": 3}
    document = {"file_id": "D1", "file_unique_id": "UD1", "file_name": "a.pdf"}
    answers = []
    for extra in ({"sticker": sticker}, {"voice": voice}, {"document": document}):
        answers.append(bot.replies(await bot.send(CADRE, None, extra=extra))[0].text)
    assert answers[0].startswith("收到贴纸")
    assert answers[1].startswith("暂时听不了语音")
    assert answers[2].startswith("暂时只能识别文字和图片")
    assert await _count(bot, DutyRecord) == 0


async def test_a_message_over_telegram_limits_is_stored_whole(bot) -> None:
    text = "今天组织主题党日，参加18人。" + "大家都很认真，" * 700
    assert len(text) > 4096
    card = bot.replies(await bot.send(CADRE, text))[0]
    assert card.text.startswith("✅ 已记录 1 项") and f"共 {len(text)} 字，已全文保存" in card.text
    async with bot.session() as session:
        record = (await session.execute(select(DutyRecord))).scalar_one()
    assert record.source_text == text


@pytest.mark.parametrize(
    ("text", "stored", "found"),
    [
        # PostgreSQL refuses NUL in text: the check-in is stored without it
        ("今天组织主题党日\x00，参加18人", "今天组织主题党日，参加18人", None),
        # a lone surrogate (a forged update) no driver can encode: stored as U+FFFD
        ("今天组织主题党日\ud800，参加18人", "今天组织主题党日\ufffd，参加18人", None),
        # a problem count no real report states (and no database integer holds) is ignored
        ("今天组织主题党日，参加18人，发现问题99999999999个", None, None),
        ("今天组织主题党日，参加18人，发现问题3个", None, 3),
        # more digits than Python converts (4,300) in a count field
        ("今天组织主题党日，人数：" + "9" * 5000, None, None),
    ],
)
async def test_no_value_in_a_check_in_loses_it(bot, text: str, stored: str | None, found: int | None) -> None:
    card = bot.replies(await bot.send(CADRE, text))[0]
    assert card.text.startswith("✅ 已记录 1 项")
    async with bot.session() as session:
        record = (await session.execute(select(DutyRecord))).scalar_one()
    assert record.source_text == (stored if stored is not None else text)
    assert record.issues_found == found


async def test_a_name_with_nul_or_a_lone_surrogate_is_stored(bot) -> None:
    await bot.add_member(ADMIN, "第一党委", role="admin")
    invite = bot.replies(await bot.send(ADMIN, "/invite 第一支部 cadre 1"))[0].text
    code = re.search(r"start=([A-Z0-9]+)", invite).group(1)  # type: ignore[union-attr]
    newcomer = TgUser(555, "王\x00五\udc80")
    assert bot.replies(await bot.send(newcomer, f"/join {code}"))[0].text.startswith("欢迎加入「第一支部」")
    card = bot.replies(await bot.send(newcomer, "今天组织主题党日，参加18人"))[0]
    assert card.text.startswith("✅ 已记录 1 项")
    async with bot.session() as session:
        names = set((await session.execute(select(Member.name))).scalars())
    assert "王五\ufffd" in names


async def test_a_forwarded_check_in_is_the_forwarders_record_dated_from_the_original(bot) -> None:
    origin_time = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    origin = {"type": "user", "date": int(origin_time.timestamp()), "sender_user": OTHER.to_dict()}
    card = bot.replies(await bot.send(CADRE, "今天组织主题党日，参加18人", extra={"forward_origin": origin}))[
        0
    ]
    assert "11月24日 周二" in card.text
    assert "转发的消息记在您本人名下" in card.text
    async with bot.session() as session:
        record = (await session.execute(select(DutyRecord))).scalar_one()
    assert record.date == dt.date(2026, 11, 24)
    assert record.member_id == 1  # 张三, the first member


async def test_user_text_that_looks_like_html_is_escaped_in_every_reply(bot) -> None:
    await bot.add_member(ADMIN, "第一党委", role="admin")
    reply = bot.replies(await bot.send(ADMIN, "/invite <b>x</b> cadre"))[0]
    assert "「&lt;b&gt;x&lt;/b&gt;」" in reply.text
    # (no "/" in it: a slash writes a path, so it is refused in an org's name)
    reply = bot.replies(await bot.send(ADMIN, "/org add <i>支部<i>&* 第一党委"))[0]
    assert "「&lt;i&gt;支部&lt;i&gt;&amp;*」" in reply.text
    tree = bot.replies(await bot.send(ADMIN, "/org list"))[0]
    assert "&lt;i&gt;支部&lt;i&gt;&amp;*" in tree.text and "<i>" not in tree.text
    hacker = TgUser(400, "<b>黑</b>")
    await bot.add_member(hacker, "第一支部", name="<b>黑</b>")
    reply = bot.replies(await bot.send(hacker, "/my"))[0]
    assert reply.text.startswith("📋 &lt;b&gt;黑&lt;/b&gt;的记录")
    reply = bot.replies(await bot.send(hacker, "<b>今天</b>组织*主题党日*，参加_18_人"))[0]
    assert reply.text.startswith("✅ 已记录 1 项")


async def test_a_flood_is_throttled_politely_and_nothing_is_lost(bot) -> None:
    limit = bot.services.settings.flood_max_messages
    cards, notices = 0, 0
    for n in range(limit + 5):
        for call in bot.replies(await bot.send(CADRE, f"今天开展志愿服务，参加{n + 1}人")):
            if call.text.startswith("✅"):
                cards += 1
            elif call.text.startswith("您发得有点快"):
                notices += 1
    assert (cards, notices) == (limit, 1)
    assert await _count(bot, DutyRecord) == limit + 5, "every check-in over the limit is still stored"
    assert bot.replies(await bot.send(CADRE, "/my")) == [], "commands wait; the notice was already given"
    assert bot.replies(await bot.send(OTHER, "/my")), "other users are not affected"

    bot.clock.advance(seconds=bot.services.settings.flood_window_seconds + 1)
    assert "本周" in bot.replies(await bot.send(CADRE, "/my"))[0].text


async def test_an_unknown_command_points_to_help(bot) -> None:
    reply = bot.replies(await bot.send(CADRE, "/nosuchthing"))[0]
    assert reply.text == "没有这个命令。发送 /help 查看可用的命令。"


async def test_a_question_is_answered_with_how_to_report_and_stores_nothing(bot) -> None:
    for question in ("下周要不要开支委会", "这个月的主题党日什么时候开？"):
        (reply,) = bot.replies(await bot.send(CADRE, question))
        assert "问题" in reply.text and "/help" in reply.text
        assert not reply.buttons, "no category buttons for a question"
    assert await _count(bot, DutyRecord) == 0


async def test_a_plan_and_a_done_act_in_one_message_keep_the_done_act(bot) -> None:
    (card,) = bot.replies(await bot.send(CADRE, "今天上午开了党小组会，明天计划开展党课"))
    assert "已记录 1 项" in card.text and "另有 1 项计划未记录" in card.text
    (plan,) = bot.replies(await bot.send(CADRE, "明天计划开党课"))
    assert "计划" in plan.text
    assert await _count(bot, DutyRecord) == 1


async def test_a_notice_pasted_into_a_bound_group_gets_no_answer(bot) -> None:
    await bot.add_member(ADMIN, "第一党委", role="admin")
    await bot.send(ADMIN, "/bindgroup 第一支部", chat=GROUP)
    notice = "关于开展主题党日活动的通知：请各支部于本周五前组织党员开展主题党日活动，并报送活动照片。"
    assert await bot.send(CADRE, notice, chat=GROUP) == []
    (private,) = bot.replies(await bot.send(CADRE, notice))
    assert "通知" in private.text and "/help" in private.text
    assert await _count(bot, DutyRecord) == 0
