"""/leave: report leave (nobody on leave is nudged), list it, cancel it (services: bot.leave)."""

from __future__ import annotations

import datetime as dt
import html

from telegram import Update

from bot import leave as leaves
from bot.entities import Leave
from bot.leave import LeaveProblem, LeaveRefused
from bot.periods import DAY_HINT, WEEKDAY_NAMES
from bot.services import Services
from handlers.context import Ctx
from handlers.guards import answer_refusals, reply_private

USAGE = "可以这样写：\n/leave 11月30日 12月5日 出差\n/leave 2026-12-01 2026-12-03\n/leave 明天（请一天）\n/leave cancel 取消请假"
ADD_REFUSED = {
    LeaveProblem.no_such_day: f"日期不存在，请检查一下。日期可以这样写：{DAY_HINT}",
    LeaveProblem.backwards: "结束日期早于开始日期，请检查一下。\n例如：/leave 11月30日 12月5日 出差",
    LeaveProblem.too_long: "一次请假最长一年，请分段登记。",
    LeaveProblem.past: "这段时间已经过去了，请登记今天或以后的请假。",
}
_CANCEL_WORDS = {"cancel", "取消", "撤销", "销假"}


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
    elif text.split()[0].lower() in _CANCEL_WORDS:  # "/leave cancel", "/leave 取消 出差"
        cancelled = await leaves.cancel_leave(services, user.id)
        if not cancelled.leaves:
            reply = "您目前没有可以取消的请假。"
        else:
            lines = "\n".join(f"· {leave_text(item, cancelled.today)}" for item in cancelled.leaves)
            reply = f"已取消请假：\n{lines}"
    else:
        reply = await _add(services, user.id, text)
    await reply_private(update, context, reply)  # dates and reason are the member's own business


async def _add(services: Services, telegram_id: int, text: str) -> str:
    try:
        added = await leaves.add_leave(services, telegram_id, text)
    except LeaveRefused as refused:
        if refused.problem == LeaveProblem.unreadable:
            return f"没看懂日期“{html.escape(refused.text[:30])}”。\n{USAGE}"
        return ADD_REFUSED[refused.problem]
    item = leave_text(added.leave, added.today, with_total=True)
    return f"✅ 已登记请假：{item}\n请假期间不会收到提醒。取消请发送 /leave cancel"
