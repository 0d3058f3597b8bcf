"""Corrections become rules an admin approves: examples, /rules, the buttons, replicas, re-reading."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.errors import Refused
from bot.parsing import load_rules
from bot.services import Services
from helpers import TgUser
from storage.models import AuditLog, DutyRecord, LabelledExample, RuleSuggestion, UnreadMessage

CADRE = TgUser(101, "张三")
OTHER = TgUser(102, "李四")
ADMIN = TgUser(1, "王管理员")
UNREAD = ["今天开展三亮三比活动，参加12人", "支部组织三亮三比，党员亮身份比贡献", "下午开展三亮三比，共15人"]


@pytest.fixture
async def bot(harness):  # type: ignore[no-untyped-def]
    await harness.add_org("第一党委")
    await harness.add_org("第一支部", "第一党委")
    await harness.add_member(ADMIN, "第一党委", role="admin")
    await harness.add_member(CADRE, "第一支部")
    await harness.add_member(OTHER, "第一支部")
    return harness


async def _rows(harness, model):  # type: ignore[no-untyped-def]
    async with harness.session() as session:
        return list((await session.execute(select(model).order_by(model.id))).scalars())


async def _file(harness, user: TgUser, text: str, category: str = "学习教育") -> None:  # type: ignore[no-untyped-def]
    prompt = harness.replies(await harness.send(user, text))[0]
    assert "没有看出是哪类党建工作" in prompt.text
    await harness.press(user, prompt, category)


async def _teach(harness) -> list:  # type: ignore[no-untyped-def]
    """Cadres file three unread 三亮三比 messages under 学习教育; the admin asks /rules."""
    for n, text in enumerate(UNREAD):
        await _file(harness, CADRE if n % 2 == 0 else OTHER, text)
    return harness.replies(await harness.send(ADMIN, "/rules"))


async def test_manual_categorisations_are_kept_as_labelled_examples(bot) -> None:
    await _file(bot, CADRE, UNREAD[0])
    card = bot.replies(await bot.send(CADRE, "今天召开支委会，参加7人"))[0]
    picker = bot.replies(await bot.press(CADRE, card, "改类别"), "editMessageText")[0]
    await bot.press(CADRE, picker, "学习教育")
    examples = await _rows(bot, LabelledExample)
    assert [(e.text, e.category, e.parsed_as) for e in examples] == [
        (UNREAD[0], "study", None),
        ("今天召开支委会，参加7人", "study", "org_life"),
    ]
    assert all(e.chosen_by and e.sent_at and e.created_at and e.record_id for e in examples)
    assert [u.text for u in await _rows(bot, UnreadMessage)] == [UNREAD[0]]


async def test_suggestions_with_evidence_accepted_apply_to_new_messages_at_once(bot) -> None:
    replies = await _teach(bot)
    assert replies[0].text.startswith("🧩 规则建议 · 共")
    suggestion = next(r for r in replies[1:] if "三亮三比" in r.text and "→ 学习教育" in r.text)
    assert "能纠正 3 条 · 会改变 0 条已正确记录" in suggestion.text
    assert [b["text"] for row in suggestion.buttons for b in row] == ["采纳", "忽略", "改类别"]
    assert "（原为：未识别）" in suggestion.text

    done = bot.replies(await bot.press(ADMIN, suggestion, "采纳"), "editMessageText")[0]
    assert "✅ 已采纳" in done.text
    card = bot.replies(await bot.send(OTHER, "今天开展三亮三比，参加9人"))[0]
    assert card.text.startswith("✅ 已记录 1 项\n【学习教育·") and "9人" in card.text
    audit = [a for a in await _rows(bot, AuditLog) if a.action == "rules.accept"]
    assert len(audit) == 1 and "-> study" in audit[0].detail


async def test_a_suggestion_that_changes_correct_records_shows_them(bot) -> None:
    card = bot.replies(await bot.send(CADRE, "今天调度三亮三比工作，参加20人"))[0]
    assert "部署推进" in card.text  # read by the rules, and nobody corrected it
    replies = await _teach(bot)
    text = next(r.text for r in replies[1:] if "「三亮三比」→ 学习教育" in r.text)
    assert "能纠正 3 条 · 会改变 1 条已正确记录" in text
    assert "会改变的记录：\n· 11月27日 “今天调度三亮三比工作，参加20人” 部署推进 → 学习教育" in text


async def test_ignore_and_recategorise(bot) -> None:
    replies = await _teach(bot)
    first = replies[1]
    picker = bot.replies(await bot.press(ADMIN, first, "改类别"), "editMessageReplyMarkup")[0]
    changed = bot.replies(await bot.press(ADMIN, picker, "志愿服务"), "editMessageText")[0]
    assert "→ 志愿服务" in changed.text and "能纠正 0 条" in changed.text
    ignored = bot.replies(await bot.press(ADMIN, changed, "忽略"), "editMessageText")[0]
    assert "已忽略" in ignored.text
    rows = await _rows(bot, RuleSuggestion)
    assert any(r.status == "ignored" and r.category == "service" for r in rows)
    # pressing on a decided suggestion says it is stale
    calls = await bot.press(ADMIN, first, "采纳")
    assert "已失效" in bot.replies(calls, "answerCallbackQuery")[0].params["text"]


async def test_only_admins_use_rules(bot) -> None:
    assert bot.replies(await bot.send(CADRE, "/rules"))[0].text == "这个命令需要管理员权限。"
    assert (
        bot.replies(await bot.send(CADRE, "/rules test 今天召开支委会"))[0].text == "这个命令需要管理员权限。"
    )


async def test_rules_test_shows_how_the_rules_read_a_message(bot) -> None:
    text = bot.replies(await bot.send(ADMIN, "/rules test 今天组织主题党日，参加18人，时长2小时"))[0].text
    assert text.startswith("🔍 按现在的规则，识别出 1 项：\n1.【组织生活·主题党日】11月27日")
    assert "18人" in text and "2小时" in text
    assert "计划" in bot.replies(await bot.send(ADMIN, "/rules test 明天召开支委会"))[0].text
    assert "手动选择类别" in bot.replies(await bot.send(ADMIN, "/rules test <b>今天忙</b>"))[0].text
    assert "请在 /rules test 后面写" in bot.replies(await bot.send(ADMIN, "/rules test"))[0].text
    assert "用法" in bot.replies(await bot.send(ADMIN, "/rules nonsense"))[0].text


async def test_export_undo_and_the_exported_file_reads_the_same(bot, tmp_path) -> None:
    replies = await _teach(bot)
    await bot.press(ADMIN, replies[1], "采纳")
    listing = bot.replies(await bot.send(ADMIN, "/rules list"))[0].text
    assert "已采纳的规则 1 条" in listing
    exported = bot.replies(await bot.send(ADMIN, "/rules export"), "sendDocument")[0]
    assert "RULES_PATH" in exported.text
    name, content = exported.files["document"]
    assert name == "rules.json"
    data = json.loads(content)
    assert any("三亮三比" in w for c in data["categories"] for w in c.get("phrases", {}))
    path = tmp_path / "rules.json"
    path.write_bytes(content)
    exported_rules = load_rules(path)  # a valid RULES_PATH file that reads the same
    from bot.parsing import Parser

    records = Parser(exported_rules).parse("今天开展三亮三比，参加9人", bot.clock.now()).records
    assert [r.category for r in records] == ["study"]

    undone = bot.replies(await bot.send(ADMIN, "/rules undo"))[0].text
    assert undone.startswith("已撤销规则「") and "学习教育" in undone
    prompt = bot.replies(await bot.send(OTHER, "今天开展三亮三比，参加9人"))[0]
    assert "没有看出是哪类党建工作" in prompt.text
    assert bot.replies(await bot.send(ADMIN, "/rules undo"))[0].text == "没有可以撤销的规则。"
    assert {a.action for a in await _rows(bot, AuditLog)} >= {"rules.accept", "rules.undo"}


async def test_an_overlap_between_categories_is_refused_with_a_reason(bot) -> None:
    async with bot.session() as session:
        row = RuleSuggestion(word="谈心谈话", category="study", weight=70)
        session.add(row)
        await session.flush()
        row_id = row.id
    with pytest.raises(Refused) as refused:
        await bot.services.rulebook.accept(ADMIN, row_id)
    assert "「谈心谈话」已经是「谈心谈话」的关键词" in refused.value.text
    assert "不能再归入「学习教育」" in refused.value.text


async def test_every_replica_reloads_when_the_overlay_changes(bot, settings, clock) -> None:
    assert bot.app.job_queue.get_jobs_by_name("rules:reload")
    other = Services(settings, clock)
    await other.open(migrate=False)
    try:
        replies = await _teach(bot)
        await bot.press(ADMIN, replies[1], "采纳")
        assert other.parser.parse("今天开展三亮三比", clock.now()).records == ()
        assert await other.rulebook.refresh() is True
        assert [r.category for r in other.parser.parse("今天开展三亮三比", clock.now()).records] == ["study"]
        assert await other.rulebook.refresh() is False
    finally:
        await other.close()


async def test_reread_unread_messages_preview_then_one_tap(bot) -> None:
    await bot.send(CADRE, "昨天开展三亮三比，参加6人")  # left unread, nobody filed it
    replies = await _teach(bot)
    await bot.press(ADMIN, replies[1], "采纳")
    preview = bot.replies(await bot.send(ADMIN, "/rules reread 4"))[0]
    assert "预览，尚未保存" in preview.text and "能识别 1 条" in preview.text
    assert "昨天开展三亮三比" in preview.text
    assert not [r for r in await _rows(bot, DutyRecord) if "昨天开展三亮三比" in r.source_text]
    done = bot.replies(await bot.press(ADMIN, preview, "确认重新识别"), "editMessageText")[0]
    assert "新增 1 条记录" in done.text
    made = [r for r in await _rows(bot, DutyRecord) if "昨天开展三亮三比" in r.source_text]
    assert [(r.category, r.participants, r.date.day) for r in made] == [("study", 6, 26)]
    again = bot.replies(await bot.send(ADMIN, "/rules reread"))[0]
    assert "最近 4 周未识别的消息 0 条，按现在的规则仍然识别不了" in again.text
    assert "周数请写一个数字" in bot.replies(await bot.send(ADMIN, "/rules reread x"))[0].text
    assert "周数请写一个数字" in bot.replies(await bot.send(ADMIN, "/rules reread ²"))[0].text


async def test_a_reread_preview_is_not_applied_after_the_rules_changed(bot) -> None:
    await bot.send(CADRE, "昨天开展三亮三比，参加6人")
    replies = await _teach(bot)
    await bot.press(ADMIN, replies[1], "采纳")
    preview = bot.replies(await bot.send(ADMIN, "/rules reread"))[0]
    await bot.send(ADMIN, "/rules undo")
    calls = await bot.press(ADMIN, preview, "确认重新识别")
    assert "规则刚刚变过" in bot.replies(calls, "answerCallbackQuery")[0].params["text"]
    assert not [r for r in await _rows(bot, DutyRecord) if "昨天开展三亮三比" in r.source_text]


async def test_the_weekly_message_reaches_admins_once_a_week(bot) -> None:
    for n, text in enumerate(UNREAD):
        await _file(bot, CADRE if n % 2 == 0 else OTHER, text)
    jobs = bot.app.job_queue.get_jobs_by_name("suggest:weekly")
    assert len(jobs) == 1
    before = len(bot.api.calls)
    await jobs[0].run(bot.app)
    sent = [c for c in bot.replies(bot.api.calls[before:]) if c.chat_id == ADMIN.id]
    assert sent[0].text.startswith("🧩 规则建议 · 本周")
    assert any("三亮三比" in c.text and c.buttons for c in sent[1:])
    before = len(bot.api.calls)
    await jobs[0].run(bot.app)
    assert bot.replies(bot.api.calls[before:]) == []


async def test_an_approved_phrase_the_rule_file_now_contradicts_is_left_out_and_shown(bot) -> None:
    from storage.models import RuleChange

    async with bot.session() as session:
        session.add(RuleChange(action="add", word="支委会", category="study", weight=70))
    assert await bot.services.rulebook.refresh() is True
    assert [r.category for r in bot.services.parser.parse("今天召开支委会", bot.clock.now()).records] == [
        "org_life"
    ]
    listing = bot.replies(await bot.send(ADMIN, "/rules list"))[0].text
    assert "⚠️ 「支委会」与现在的规则文件冲突，暂未生效。" in listing
