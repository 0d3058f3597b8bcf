"""/digest, /readiness and the digest's buttons through the real Application."""

from __future__ import annotations

from digest_world import ADMIN, SEC1, STRANGER, ZHANG, seed_world

from handlers.digest import BAD_PERIOD, PRIVATE_ONLY, SENT_PRIVATELY
from helpers import group_chat


async def test_digest_on_demand_sends_text_buttons_and_chart_in_private(harness) -> None:
    await seed_world(harness)
    calls = await harness.send(ADMIN, "/digest")
    texts = harness.replies(calls)
    assert len(texts) == 1 and texts[0].chat_id == ADMIN.id
    assert texts[0].text.startswith("📊 <b>第一党委</b> · 11月16日—22日\n报告 3/6 人")
    assert [b["text"] for row in texts[0].buttons for b in row] == [
        "导出台账",
        "上一周",
        "年度达标预览",
        "审核记录",
    ]
    photos = harness.replies(calls, "sendPhoto")
    from bot import charts

    assert len(photos) == (1 if charts.cjk_font_path() else 0)


async def test_period_and_org_arguments(harness) -> None:
    await seed_world(harness)
    text = harness.replies(await harness.send(ADMIN, "/digest 本月 第一支部"))[0].text
    assert text.startswith("📊 <b>第一支部</b> · 2026年11月\n报告 2/3 人")
    text = harness.replies(await harness.send(ADMIN, "/digest 2026-10"))[0].text
    assert text.startswith("📊 <b>第一党委</b> · 2026年10月\n报告 1/7 人（无法送达 1）")
    text = harness.replies(await harness.send(ADMIN, "/digest 第二支部"))[0].text
    assert text.startswith("📊 <b>第二支部</b> · 11月16日—22日")
    assert harness.replies(await harness.send(ADMIN, "/digest 2026-13"))[0].text == BAD_PERIOD
    assert (
        "没有找到组织「&lt;无此支部&gt;」"
        in harness.replies(await harness.send(ADMIN, "/digest 上周 <无此支部>"))[0].text
    )


async def test_previous_week_button_and_export_button(harness) -> None:
    await seed_world(harness)
    digest = harness.replies(await harness.send(SEC1, "/digest"))[0]
    assert digest.text.startswith("📊 <b>第一支部</b> · 11月16日—22日")
    calls = await harness.press(SEC1, digest, "上一周")
    previous = harness.replies(calls)[0]
    assert previous.text.startswith("📊 <b>第一支部</b> · 11月9日—15日\n报告 1/3 人")
    # the new digest has its own buttons, one week further back
    older = harness.replies(await harness.press(SEC1, previous, "上一周"))[0]
    assert "11月2日—8日" in older.text
    calls = await harness.press(SEC1, digest, "导出台账")
    documents = harness.replies(calls, "sendDocument")
    assert len(documents) == 1 and documents[0].chat_id == SEC1.id
    assert "11月16日—22日 台账，共 3 条记录" in documents[0].text
    assert [c.method for c in calls].count("answerCallbackQuery") == 1


async def test_readiness_button_and_command(harness) -> None:
    await seed_world(harness)
    digest = harness.replies(await harness.send(ADMIN, "/digest"))[0]
    via_button = harness.replies(await harness.press(ADMIN, digest, "年度达标预览"))[0].text
    via_command = harness.replies(await harness.send(ADMIN, "/readiness"))[0].text
    assert via_button == via_command
    assert via_command.startswith("📋 <b>年度达标预览</b> · 第一党委 · 2026年（截至11月27日）")
    assert harness.replies(await harness.send(ADMIN, "/readiness 20x6"))[0].text.startswith("请写四位年份")
    text = harness.replies(await harness.send(ADMIN, "/readiness 2027"))[0].text
    assert "2027年还没有开始" in text


async def test_in_a_group_the_answer_goes_to_private(harness) -> None:
    await seed_world(harness)
    group = group_chat(-100200, "第一支部群")
    calls = await harness.send(SEC1, "/digest", chat=group)
    texts = harness.replies(calls)
    assert [(c.chat_id, c.text[:14]) for c in texts] == [
        (SEC1.id, "📊 <b>第一支部</b> "),
        (-100200, SENT_PRIVATELY[:14]),
    ]
    # a user who never opened a private chat with the bot gets a hint in the group
    harness.api.fail_next("sendMessage", 403, "Forbidden: bot can't initiate conversation with a user")
    calls = await harness.send(SEC1, "/digest", chat=group)
    assert [(c.chat_id, c.text) for c in harness.replies(calls)] == [(-100200, PRIVATE_ONLY)]
    harness.api.fail_next("sendDocument", 403, "Forbidden: bot can't initiate conversation with a user")
    calls = await harness.send(SEC1, "/export", chat=group)
    assert [(c.chat_id, c.text) for c in harness.replies(calls)] == [(-100200, PRIVATE_ONLY)]


async def test_strangers_and_stale_buttons(harness) -> None:
    await seed_world(harness)
    assert "还没有加入组织" in harness.replies(await harness.send(STRANGER, "/digest"))[0].text
    assert "还没有加入组织" in harness.replies(await harness.send(STRANGER, "/export"))[0].text
    digest = harness.replies(await harness.send(ZHANG, "/digest"))[0]
    # a stranger pressing a forwarded card's button is refused, nothing is sent
    calls = await harness.press(STRANGER, digest, "导出台账")
    assert harness.replies(calls, "sendDocument") == []
    answer = [c for c in calls if c.method == "answerCallbackQuery"]
    assert "还没有加入组织" in answer[0].params["text"]
    digest.params["reply_markup"] = {
        "inline_keyboard": [[{"text": "上一周", "callback_data": "digest:p:1:bad"}]]
    }
    calls = await harness.press(ZHANG, digest, "上一周")
    assert "按钮已失效" in next(c for c in calls if c.method == "answerCallbackQuery").params["text"]


async def test_a_configured_admin_without_a_binding_sees_the_whole_tree(harness) -> None:
    assert "还没有建立组织" in harness.replies(await harness.send(ADMIN, "/digest"))[0].text
    await harness.add_org("第一党委")
    await harness.add_org("第一支部", parent="第一党委")
    text = harness.replies(await harness.send(ADMIN, "/digest"))[0].text
    assert text.startswith("📊 <b>第一党委</b> · 11月16日—22日\n还没有成员加入。\n")
    text = harness.replies(await harness.send(ADMIN, "/digest 上周 第一支部"))[0].text
    assert text.startswith("📊 <b>第一支部</b> · ")
    await harness.add_org("另一党委")
    assert "请指定组织名称" in harness.replies(await harness.send(ADMIN, "/digest"))[0].text
    # the export of a configured admin is audited without an actor
    calls = await harness.send(ADMIN, "/export 本月 第一党委")
    assert len(harness.replies(calls, "sendDocument")) == 1


async def test_odd_input_never_breaks_a_command(harness) -> None:
    await seed_world(harness)
    assert harness.replies(await harness.send(ADMIN, "/readiness 0000"))[0].text.startswith("请写四位年份")
    text = harness.replies(await harness.send(ADMIN, "/digest 上周 " + "<很长>" * 2000))[0].text
    assert len(text) < 200 and "&lt;很长&gt;" in text
    digest = harness.replies(await harness.send(ADMIN, "/digest"))[0]
    for data in (
        "digest:r:1:0",
        "digest:x:1:2026-11-22:2026-11-16",
        "digest:q:1:2026-11-16:2026-11-22",
        "digest:",
    ):
        digest.params["reply_markup"] = {"inline_keyboard": [[{"text": "上一周", "callback_data": data}]]}
        calls = await harness.press(ADMIN, digest, "上一周")
        answers = [c for c in calls if c.method == "answerCallbackQuery"]
        assert "按钮已失效" in answers[0].params["text"], data
