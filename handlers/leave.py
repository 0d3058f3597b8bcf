"""/leave: report leave (nobody on leave is nudged), list it, cancel it."""

from __future__ import annotations

import datetime as dt
import html

from telegram import Update

from bot.periods import DAY_HINT, WEEKDAY_NAMES, parse_days
from handlers.context import Ctx
from handlers.targets import NOT_BOUND, current_member
from storage import targets as repo
from storage.models import Leave

USAGE = "可以这样写：\n/leave 11月30日 12月5日 出差\n/leave 2026-12-01 2026-12-03\n/leave 明天（请一天）\n/leave cancel 取消请假"
MAX_LEAVE_DAYS = 366
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


async def leave(update: Update, context: Ctx) -> None:
    """Add, list or cancel the sender's leave."""
    message = update.effective_message
    if message is None:
        return
    member, _ = await current_member(update, context)
    if member is None:
        await message.reply_text(NOT_BOUND)
        return
    today = context.bot_data.clock.now().date()
    text = " ".join(context.args or []).strip()
    async with context.bot_data.session() as session:
        if not text:
            leaves = await repo.list_leaves(session=session, member_id=member.id, since=today)  # type: ignore[arg-type]
            if not leaves:
                reply = f"您目前没有登记请假。\n{USAGE}"
            else:
                lines = "\n".join(f"· {leave_text(item, today)}" for item in leaves)
                reply = f"您登记的请假：\n{lines}\n请假期间不会收到提醒。取消请发送 /leave cancel"
        elif text.split()[0].lower() in _CANCEL_WORDS:  # "/leave cancel", "/leave 取消 出差"
            cancelled = await repo.cancel_leaves(session=session, member=member, since=today)
            if not cancelled:
                reply = "您目前没有可以取消的请假。"
            else:
                lines = "\n".join(f"· {leave_text(item, today)}" for item in cancelled)
                reply = f"已取消请假：\n{lines}"
        else:
            reply = await _add(session, member, text, today)
    await message.reply_text(reply)


async def _add(session, member, text: str, today: dt.date) -> str:  # type: ignore[no-untyped-def]
    days, reason = parse_days(text, today)
    if not days:
        return f"没看懂日期“{html.escape(text[:30])}”。\n{USAGE}"
    if None in days:
        return f"日期不存在，请检查一下。日期可以这样写：{DAY_HINT}"
    start = days[0]
    end = days[1] if len(days) > 1 else start
    assert start is not None and end is not None
    if end < start:
        return "结束日期早于开始日期，请检查一下。\n例如：/leave 11月30日 12月5日 出差"
    if (end - start).days >= MAX_LEAVE_DAYS:
        return "一次请假最长一年，请分段登记。"
    if end < today:
        return "这段时间已经过去了，请登记今天或以后的请假。"
    item = await repo.add_leave(session=session, member=member, start=start, end=end, reason=reason)
    return f"✅ 已登记请假：{leave_text(item, today, with_total=True)}\n请假期间不会收到提醒。取消请发送 /leave cancel"


# New messages only: an edited command must not run twice (add a second leave, say).
