"""The secretary's review: /review [期间] lists records with [退回]; /return 编号 意见; the author's
[回复书记]; the secretary's [通过] (callback prefix `rv:`; service: bot.review)."""

from __future__ import annotations

import html

from telegram import ForceReply, Message, Update
from telegram.error import Forbidden

from bot import review
from bot.entities import DutyRecord
from bot.errors import Refused
from bot.members import Sender
from bot.periods_parse import PERIOD_HINT, Period, parse_period, period_of
from bot.review import Reviewed
from handlers import cards
from handlers.callbacks import number, pack, unpack
from handlers.context import Ctx
from handlers.guards import answer_refusals
from handlers.notifier import TelegramNotifier, pairs_keyboard
from handlers.prompts import ReplyTo, question_ref

ASK_OPINION = "✍️ 请写退回意见（一句话即可），记录"
ASK_ANSWER = "✍️ 回复书记，记录"
ASK_LEDGER = "📋 补全台账，记录"
LEDGER_HINT = "一条消息写明即可，例如：主题为学习党章，由张三主持，记录人李四，应到25人，实到22人，缺席：王五（出差），地点党员活动室"
REPLY_TO_REVIEW = ReplyTo(ASK_OPINION, ASK_ANSWER, ASK_LEDGER)
RETURN_USAGE = "用法：/return 记录编号 意见，例如 /return 12 请补充参会人数和会议主题（编号见 /review）"


def _what(reviewed: Reviewed | DutyRecord, context: Ctx) -> str:
    record = reviewed.record if isinstance(reviewed, Reviewed) else reviewed
    return f"{cards.label(record, context.bot_data.rules.categories)}{cards.day(record.date)}"


async def _tell(
    context: Ctx, chat_id: int | None, text: str, buttons: list[list[tuple[str, str]]] | None = None
) -> None:
    if chat_id is None:
        return
    try:
        await TelegramNotifier(context.bot).message(
            chat_id, text, pairs_keyboard(buttons) if buttons else None
        )
    except Forbidden:  # blocked the bot: the review state stays in the ledger
        pass


async def send_review_list(context: Ctx, user_id: int, sender: Sender, period: Period) -> None:
    """The period's latest records of the sender's subtree, each with [退回 #id]."""
    rows = await review.to_review(context.bot_data, sender, period.start, period.end)
    categories = context.bot_data.rules.categories
    if not rows:
        await TelegramNotifier(context.bot).message(user_id, f"{period.label}没有可审核的记录。")
        return
    lines = [f"🔍 审核记录 · {period.label}（最近 {len(rows)} 条）"]
    buttons = []
    for record, name in rows:
        state = review.STATUS_NAMES.get(record.review_status, "")
        lines.append(
            f"#{record.id} {html.escape(name)} {cards.label(record, categories)}{cards.day(record.date)}"
            + (f" · {state}" if state else "")
        )
        buttons.append((f"退回 #{record.id}", pack("rv", "ask", record.id)))
    lines.append("点「退回」写意见；也可以发送 /return 编号 意见")
    rows_of_two = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await TelegramNotifier(context.bot).message(user_id, "\n".join(lines), pairs_keyboard(rows_of_two))


@answer_refusals
async def review_command(update: Update, context: Ctx) -> None:
    """/review [期间]: records to review (default: this month)."""
    user = update.effective_user
    assert user is not None
    today = context.bot_data.clock.now().date()
    words = context.args or []
    period = parse_period(words[0], today) if words else period_of("month", today)
    if period is None:
        raise Refused(f"没看懂这个期间。可以这样写：{PERIOD_HINT}")
    await send_review_list(context, user.id, user, period)


async def _returned(context: Ctx, done: Reviewed, answer_to: Message) -> None:
    what = _what(done, context)
    await answer_to.reply_text(f"已退回{html.escape(done.author_name)}的记录（{what}），意见已转达。")
    record_id = done.record.id
    await _tell(
        context,
        done.author_telegram_id,
        f"📝 {html.escape(done.reviewer_name)}退回了您的记录：{what}\n意见：{html.escape(done.text)}\n"
        "修改后即重新计入；也可以回复书记说明。",
        [
            [("补全台账", pack("rv", "fill", record_id)), ("改类别", pack("rec", "cat", record_id))],
            [("改日期", pack("rec", "date", record_id)), ("回复书记", pack("rv", "ans", record_id))],
        ],
    )


async def tell_revised(context: Ctx, reviewer_chat: int, record: DutyRecord) -> None:
    """The author fixed a returned record: the secretary gets its card with [通过] [退回]."""
    await _tell(
        context,
        reviewer_chat,
        f"✏️ 退回的记录 #{record.id} 已修改，重新计入：{_what(record, context)}",
        [[("通过", pack("rv", "ok", record.id)), ("退回", pack("rv", "ask", record.id))]],
    )


@answer_refusals
async def return_command(update: Update, context: Ctx) -> None:
    """/return 编号 意见"""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    args = context.args or []
    record_id = number(args[0].lstrip("#")) if args else None
    if record_id is None or len(args) < 2:
        raise Refused(RETURN_USAGE)
    done = await review.return_record(context.bot_data, user, record_id, " ".join(args[1:]))
    await _returned(context, done, message)


async def review_reply(update: Update, context: Ctx) -> None:
    """A reply to the question for an opinion (the secretary) or for an answer (the author)."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None and message.reply_to_message is not None
    record_id = question_ref(message)
    asked = message.reply_to_message.text or ""
    try:
        if record_id is None:
            raise Refused("没有找到这条记录，请重新点按钮。")
        if asked.startswith(ASK_OPINION):
            await _returned(
                context,
                await review.return_record(context.bot_data, user, record_id, message.text or ""),
                message,
            )
            return
        if asked.startswith(ASK_LEDGER):
            record = await review.complete_ledger(context.bot_data, user, record_id, message.text or "")
            await message.reply_text(f"📋 台账已补全：{_what(record, context)}\n{ledger_text(record)}")
            return
        done = await review.answer(context.bot_data, user, record_id, message.text or "")
    except Refused as refused:
        await message.reply_text(refused.text)
        return
    await message.reply_text("已转达书记。")
    await _tell(
        context,
        done.reviewer_telegram_id,
        f"💬 {html.escape(done.author_name)}回复（记录 #{record_id} {_what(done, context)}）：{html.escape(done.text)}",
        [[("通过", pack("rv", "ok", record_id)), ("退回", pack("rv", "ask", record_id))]],
    )


async def review_button(update: Update, context: Ctx) -> None:
    """rv:ask|ans|ok|fill:<record id>"""
    query = update.callback_query
    assert query is not None
    parsed = unpack(query.data, "rv", fields=(1, 1))
    record_id = number(parsed[1][0]) if parsed else None
    if parsed is None or record_id is None or parsed[0] not in ("ask", "ans", "ok", "fill"):
        await query.answer("这个按钮已失效。", show_alert=True)
        return
    action, user = parsed[0], query.from_user
    if action in ("ask", "ans", "fill"):
        await query.answer()
        prompt = {"ask": ASK_OPINION, "ans": ASK_ANSWER, "fill": ASK_LEDGER}[action]
        await context.bot.send_message(
            user.id,
            f"{prompt} #{record_id}：" + (f"\n{LEDGER_HINT}" if action == "fill" else ""),
            reply_markup=ForceReply(selective=True),
        )
        return
    try:
        done = await review.accept(context.bot_data, user, record_id)
    except Refused as refused:
        await query.answer(html.unescape(refused.text)[:200], show_alert=True)
        return
    await query.answer("已通过")
    message = query.message
    if isinstance(message, Message) and message.text:
        await query.edit_message_text(f"{html.escape(message.text)}\n\n✅ 已通过。")
    await _tell(
        context,
        done.author_telegram_id,
        f"✅ {html.escape(done.reviewer_name)}已通过您的记录：{_what(done, context)}",
    )


LEDGER_LABELS = (
    ("topic", "主题"),
    ("host", "主持人"),
    ("recorder", "记录人"),
    ("expected_count", "应到"),
    ("participants", "实到"),
    ("absent_count", "缺席"),
    ("absent_reasons", "缺席人员及原因"),
    ("place", "地点"),
)


def ledger_text(record: DutyRecord) -> str:
    """The record's ledger fields, each as stated or 未填 (HTML-escaped)."""
    parts = []
    for key, name in LEDGER_LABELS:
        value = getattr(record, key)
        parts.append(f"{name}：{html.escape(str(value)) if value is not None else '未填'}")
    return "\n".join(parts)
