"""/leave: report leave (nobody on leave is nudged), list it, cancel it, the org's approval of
backfilled leave, and the secretary's [批准] [不批准] (callback prefix `lv:`; services: bot.leave)."""

from __future__ import annotations

import datetime as dt
import html

from telegram import Message, Update
from telegram.error import Forbidden

from bot import leave as leaves
from bot.entities import Leave
from bot.errors import Refused
from bot.leave import LeaveAdded, LeaveProblem, LeaveRefused
from bot.members import Sender
from bot.periods import DAY_HINT, WEEKDAY_NAMES
from bot.services import Services
from handlers.callbacks import number, pack, unpack
from handlers.context import Ctx
from handlers.guards import answer_refusals, reply_private
from handlers.notifier import TelegramNotifier, pairs_keyboard

USAGE = "可以这样写：\n/leave 11月30日 12月5日 出差\n/leave 2026-12-01 2026-12-03\n/leave 明天（请一天）\n/leave cancel 取消请假"
ADD_REFUSED = {
    LeaveProblem.no_such_day: f"日期不存在，请检查一下。日期可以这样写：{DAY_HINT}",
    LeaveProblem.backwards: "结束日期早于开始日期，请检查一下。\n例如：/leave 11月30日 12月5日 出差",
    LeaveProblem.too_long: "一次请假最长一年，请分段登记。",
}
_CANCEL_WORDS = {"cancel", "取消", "撤销", "销假"}
_APPROVAL_WORDS = {"审批", "approval"}
_ON_OFF = {"开": True, "开启": True, "on": True, "关": False, "关闭": False, "off": False}
APPROVAL_USAGE = "用法：/leave 审批 开 · /leave 审批 关（补登的请假是否需要书记批准）"


def day_text(day: dt.date, today: dt.date) -> str:
    year = "" if day.year == today.year else f"{day.year}年"
    return f"{year}{day.month}月{day.day}日（周{WEEKDAY_NAMES[day.weekday()]}）"


def leave_text(leave: Leave, today: dt.date, *, with_total: bool = False) -> str:
    """11月30日（周一）至12月5日（周六）[，共 6 天] · 出差"""
    span = day_text(leave.start, today)
    if leave.end != leave.start:
        span = f"{span}至{day_text(leave.end, today)}"
    if with_total:
        span = f"{span}，共 {(leave.end - leave.start).days + 1} 天"
    reason = f" · {html.escape(leave.reason)}" if leave.reason else ""
    return f"{span}{reason}"


@answer_refusals
async def leave(update: Update, context: Ctx) -> None:
    """Add, list or cancel the sender's leave."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    services = context.bot_data
    text = " ".join(context.args or []).strip()
    if not text:
        current = await leaves.current_leave(services, user.id)
        if not current.leaves:
            reply = f"您目前没有登记请假。\n{USAGE}"
        else:
            lines = "\n".join(f"· {leave_text(item, current.today)}" for item in current.leaves)
            reply = f"您登记的请假：\n{lines}\n请假期间不会收到提醒。取消请发送 /leave cancel"
    elif text.split()[0].lower() in _APPROVAL_WORDS:
        reply = await _approval(services, user, text.split()[1:])
    elif text.split()[0].lower() in _CANCEL_WORDS:  # "/leave cancel", "/leave 取消 出差"
        cancelled = await leaves.cancel_leave(services, user.id)
        if not cancelled.leaves:
            reply = "您目前没有可以取消的请假。"
        else:
            lines = "\n".join(f"· {leave_text(item, cancelled.today)}" for item in cancelled.leaves)
            reply = f"已取消请假：\n{lines}"
    else:
        reply = await _add(context, user.id, text)
    await reply_private(update, context, reply)  # dates and reason are the member's own business


async def _approval(services: Services, user: Sender, words: list[str]) -> str:
    if words and words[0].lower() not in _ON_OFF:
        return APPROVAL_USAGE
    setting = await leaves.approval_setting(services, user, _ON_OFF[words[0].lower()] if words else None)
    name = html.escape(setting.org_name)
    state = "需要书记批准" if setting.on else "不需要批准，登记即生效"
    if not setting.changed:
        return f"「{name}」补登的请假：{state}。\n{APPROVAL_USAGE}"
    below = f"及下级共 {setting.changed} 个组织" if setting.changed > 1 else ""
    return f"已设置：「{name}」{below}补登的请假{state}。"


async def _add(context: Ctx, telegram_id: int, text: str) -> str:
    services = context.bot_data
    try:
        added = await leaves.add_leave(services, telegram_id, text)
    except LeaveRefused as refused:
        if refused.problem == LeaveProblem.unreadable:
            return f"没看懂日期“{html.escape(refused.text[:30])}”。\n{USAGE}"
        if refused.problem == LeaveProblem.past:
            days = services.settings.leave_backfill_days
            earliest = services.clock.now().date() - dt.timedelta(days=days)
            return f"只能补登最近 {days} 天内的请假（{earliest.month}月{earliest.day}日及以后）。更早的请假请联系书记。"
        return ADD_REFUSED[refused.problem]
    item = leave_text(added.leave, added.today, with_total=True)
    if added.pending:
        await _ask_secretaries(context, added)
        return (
            f"✅ 已登记请假（补登）：{item}\n今天以前的日期需书记批准后才计入，已请书记审批；"
            "今天起请假期间不会收到提醒。"
        )
    head = "✅ 已登记请假（补登）" if added.backfilled else "✅ 已登记请假"
    return f"{head}：{item}\n请假期间不会收到提醒。取消请发送 /leave cancel"


async def _ask_secretaries(context: Ctx, added: LeaveAdded) -> None:
    assert added.leave.id is not None
    text = (
        f"📝 {html.escape(added.member_name)}补登请假：{leave_text(added.leave, added.today, with_total=True)}\n"
        "批准后，这段时间里已结束的期间按请假计。"
    )
    buttons = pairs_keyboard(
        [[("批准", pack("lv", "a", added.leave.id)), ("不批准", pack("lv", "r", added.leave.id))]]
    )
    notifier = TelegramNotifier(context.bot)
    for secretary in added.secretaries:
        try:
            await notifier.message(secretary, text, buttons)
        except Forbidden:
            continue


async def leave_button(update: Update, context: Ctx) -> None:
    """[批准] [不批准] under a backfilled leave: decided once; the member is told."""
    query = update.callback_query
    assert query is not None
    parsed = unpack(query.data, "lv", fields=(1, 1))
    leave_id = number(parsed[1][0]) if parsed and parsed[0] in ("a", "r") else None
    if parsed is None or leave_id is None:
        await query.answer("这个按钮已失效。", show_alert=True)
        return
    try:
        decided = await leaves.decide_leave(context.bot_data, query.from_user, leave_id, parsed[0] == "a")
    except Refused as refused:
        await query.answer(html.unescape(refused.text)[:200], show_alert=True)
        return
    word = "已批准" if decided.approved else "未批准"
    if decided.already:
        await query.answer(f"已经处理过了（{word}）。")
        return
    await query.answer(word)
    message = query.message
    if isinstance(message, Message) and message.text:
        await query.edit_message_text(f"{html.escape(message.text)}\n\n{word}。")
    today = context.bot_data.clock.now().date()
    item = leave_text(decided.leave, today)
    note = "这段时间按请假计。" if decided.approved else "今天以前的日期不按请假计。"
    try:
        await TelegramNotifier(context.bot).message(
            decided.member_telegram_id, f"书记{word}您补登的请假：{item}。{note}"
        )
    except Forbidden:
        pass
