"""/rules: rule suggestions from cadres' corrections, and the running rule set (service:
bot.rulebook). Admins only, in a private chat.

  /rules                 the current suggestions, each with its evidence and 采纳 / 忽略 / 改类别
  /rules test <文本>     how the running rules read a message
  /rules list            the approved phrases in force
  /rules export          the rule file with the approved phrases, as a document
  /rules undo            take the latest approved phrase out again
  /rules reread [周数]   re-read unread messages of the last weeks: a preview, then one tap
"""

from __future__ import annotations

import html

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update

from bot import rulebook
from bot.parsing import INTENT_NOTICE, INTENT_PLAN, INTENT_QUESTION
from bot.ports import Action
from bot.rulebook import Reread, RuleBook
from handlers import cards
from handlers.callbacks import decode
from handlers.context import Ctx
from handlers.guards import Refused, answer_refusals, is_private
from handlers.notifier import TelegramNotifier, keyboard

USAGE = (
    "用法：\n/rules — 查看规则建议\n/rules test 文本 — 看现在的规则怎样识别一条消息\n"
    "/rules list — 已采纳的规则\n/rules export — 导出规则文件\n/rules undo — 撤销最近采纳的一条\n"
    "/rules reread [周数] — 用现在的规则重新识别最近几周未识别的消息（默认 4 周）"
)
LISTED = 60  # approved phrases listed by /rules list (the rest: /rules export)
PRIVATE_ONLY = "请在和我的私聊里使用 /rules。"
TEST_USAGE = "请在 /rules test 后面写要识别的消息，例如：/rules test 今天开展党员固定活动日"
NOTHING = {
    INTENT_PLAN: "这是一项计划，不计入记录。",
    INTENT_QUESTION: "这像是一个问题，不计入记录。",
    INTENT_NOTICE: "这像是一则通知或工作安排，不计入记录。",
}


def _book(context: Ctx) -> RuleBook:
    return context.bot_data.rulebook


def _names(context: Ctx) -> dict[str, str]:
    return context.bot_data.rules.categories


@answer_refusals
async def rules_command(update: Update, context: Ctx) -> None:
    """/rules [test 文本 | list | export | undo | reread [周数]]"""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if not is_private(update):
        raise Refused(PRIVATE_ONLY)
    args = context.args or []
    sub = args[0].lower() if args else ""
    book = _book(context)
    if sub == "test":
        await book.authorize(user)
        await _test(message, context, (message.text or "").split(None, 2)[2:])
    elif sub == "list":
        await book.authorize(user)
        await message.reply_text(_listing(context))
    elif sub == "export":
        await book.authorize(user)
        caption = f"规则文件（含已采纳的规则 {len(book.active)} 条），可作为 RULES_PATH 使用。"
        await message.reply_document(book.export(), filename="rules.json", caption=caption)
    elif sub == "undo":
        undone = await book.undo(user)
        name = _names(context).get(undone.category, undone.category)
        await message.reply_text(
            f"已撤销规则「{html.escape(undone.word)}」→ {html.escape(name)}。新消息按撤销后的规则识别。"
        )
    elif sub == "reread":
        given = args[1] if len(args) > 1 else ""
        weeks = int(given) if given.isascii() and given.isdigit() and len(given) <= 3 else None
        if len(args) > 1 and weeks is None:
            raise Refused("周数请写一个数字，例如：/rules reread 4")
        preview = await book.reread(user, weeks or rulebook.REREAD_WEEKS)
        text, markup = _reread(preview, context)
        await message.reply_text(text, reply_markup=markup)
    elif sub:
        await book.authorize(user)
        raise Refused(USAGE)
    else:
        await _suggestions(message, context)


async def _suggestions(message: Message, context: Ctx) -> None:
    assert message.from_user is not None
    shown = await _book(context).suggestions_for(message.from_user)
    if not shown:
        await message.reply_text(f"{rulebook.NO_SUGGESTIONS}\n{_listing(context, short=True)}")
        return
    await message.reply_text(html.escape(rulebook.header(len(shown))))
    for item in shown:
        text, buttons = rulebook.suggestion_message(item, _names(context))
        await message.reply_text(html.escape(text), reply_markup=keyboard(buttons))


def _listing(context: Ctx, *, short: bool = False) -> str:
    book = _book(context)
    names = _names(context)
    if short:
        return f"已采纳的规则 {len(book.active)} 条（/rules list 查看，/rules export 导出）。"
    if not book.active and not book.left_out:
        return "还没有采纳过规则建议。采纳之后，规则文件之外的规则会列在这里。"
    lines = [f"📚 已采纳的规则 {len(book.active)} 条（最近的在最后，/rules undo 撤销最近一条）"]
    if len(book.active) > LISTED:
        lines.append(f"……较早的 {len(book.active) - LISTED} 条见 /rules export")
    for change in book.active[-LISTED:]:
        when = change.created_at.astimezone(context.bot_data.clock.tz)
        lines.append(
            f"· 「{html.escape(change.word)}」→ {html.escape(names.get(change.category, change.category))}"
            f"（{when.month}月{when.day}日）"
        )
    for change in book.left_out:
        lines.append(f"⚠️ 「{html.escape(change.word)}」与现在的规则文件冲突，暂未生效。")
    return "\n".join(lines)


async def _test(message: Message, context: Ctx, rest: list[str]) -> None:
    text = rest[0].strip() if rest else ""
    if not text:
        raise Refused(TEST_USAGE)
    result = _book(context).test(text)
    names = _names(context)
    if result.records:
        lines = [f"🔍 按现在的规则，识别出 {len(result.records)} 项："]
        records = rulebook.as_records(result.records)
        lines += [f"{n}.{cards.record_line(r, names)}" for n, r in enumerate(records, 1)]
    else:
        lines = ["🔍 按现在的规则：" + NOTHING.get(result.intent, "没有识别出记录（会请党员手动选择类别）。")]
    if result.plans and result.records:
        lines.append(f"另有 {len(result.plans)} 项计划不计入记录。")
    await message.reply_text("\n".join(lines))


def _reread(preview: Reread, context: Ctx) -> tuple[str, InlineKeyboardMarkup | None]:
    names = _names(context)
    head = f"🔁 重新识别（预览，尚未保存）\n最近 {preview.weeks} 周未识别的消息 {preview.unread} 条"
    if not preview.readable:
        return f"{head}，按现在的规则仍然识别不了。", None
    lines = [f"{head}，按现在的规则能识别 {len(preview.readable)} 条："]
    for unread, records in preview.readable[:10]:
        sent = unread.sent_at.astimezone(context.bot_data.clock.tz)
        what = "、".join(names.get(r.category, r.category) for r in records)
        lines.append(f"· {sent.month}月{sent.day}日 “{html.escape(rulebook.clip(unread.text))}” → {what}")
    if len(preview.readable) > 10:
        lines.append(f"……另有 {len(preview.readable) - 10} 条")
    lines.append("确认后这些消息记入各自发送人的名下。")
    action = Action("确认重新识别", "rules.reread", preview.weeks, preview.version)
    return "\n".join(lines), keyboard([[action]])


async def on_rules_button(update: Update, context: Ctx) -> None:
    """采纳 / 忽略 / 改类别 under a suggestion, the category picked, and 确认重新识别."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    action = decode(query.data)
    if action is None or not action.verb.startswith("rules."):
        await query.answer(rulebook.STALE)
        return
    book, user = _book(context), query.from_user
    base = (
        html.escape(query.message.text) if isinstance(query.message, Message) and query.message.text else ""
    )
    try:
        if action.verb == "rules.accept":
            change = await book.accept(user, action.ref)
            await query.answer("已采纳")
            offer = Action("预览：重新识别最近4周未识别的消息", "rules.reread", rulebook.REREAD_WEEKS)
            await query.edit_message_text(
                f"{base}\n\n✅ 已采纳：「{html.escape(change.word)}」从现在起用于识别新消息（所有实例同时生效）。"
                "可用 /rules undo 撤销。",
                reply_markup=keyboard([[offer]]),
            )
        elif action.verb == "rules.ignore":
            await book.ignore(user, action.ref)
            await query.answer("已忽略")
            await query.edit_message_text(f"{base}\n\n已忽略，不再提出这条建议。")
        elif action.verb == "rules.recat":
            await book.authorize(user)
            await query.answer("请选择类别")
            await query.edit_message_reply_markup(
                keyboard(rulebook.category_buttons(action.ref, _names(context)))
            )
        elif action.verb == "rules.set":
            codes = list(_names(context))
            index = action.arg if action.arg is not None and action.arg < len(codes) else None
            if index is None:
                raise Refused(rulebook.STALE, alert=True)
            shown = await book.recategorise(user, action.ref, codes[index])
            text, buttons = rulebook.suggestion_message(shown, _names(context))
            await query.answer(f"已改为：{_names(context)[codes[index]]}")
            await query.edit_message_text(html.escape(text), reply_markup=keyboard(buttons))
        elif action.verb == "rules.reread":
            await _reread_button(query, context, action)
    except Refused as refusal:
        await query.answer(refusal.text, show_alert=refusal.alert)


async def _reread_button(query: CallbackQuery, context: Ctx, action: Action) -> None:
    book, user = _book(context), query.from_user
    if action.arg is None:
        preview = await book.reread(user, action.ref)
        text, markup = _reread(preview, context)
        await query.answer()
        await TelegramNotifier(context.bot).message(user.id, text, markup)
        return
    done = await book.reread(user, action.ref, apply_version=action.arg)
    if done.changed:
        text, markup = _reread(done, context)
        await query.answer("规则刚刚变过，请按新的预览再确认一次", show_alert=True)
        await query.edit_message_text(text, reply_markup=markup)
        return
    await query.answer("已重新识别")
    await query.edit_message_text(
        f"✅ 已重新识别最近 {done.weeks} 周未识别的消息：{len(done.readable)} 条消息，新增 {done.applied} 条记录。"
    )
