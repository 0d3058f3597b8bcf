"""/audit [页码]: the audit log for admins, a page at a time with buttons (services: bot.audit_view)."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import audit_view
from bot.errors import Refused
from handlers.callbacks import number, pack, unpack
from handlers.context import Ctx
from handlers.guards import answer_refusals, reply_private


def render(page: audit_view.AuditPage) -> tuple[str, InlineKeyboardMarkup | None]:
    if not page.total:
        return "审计日志还是空的。", None
    lines = [f"🧾 审计日志 第 {page.page}/{page.pages} 页（共 {page.total} 条，最新在前）"]
    for line in page.lines:
        detail = f" · {html.escape(line.detail)}" if line.detail else ""
        lines.append(f"{line.at:%m-%d %H:%M} {html.escape(line.actor)} · {line.action}{detail}")
    buttons = []
    if page.page > 1:
        buttons.append(InlineKeyboardButton("上一页", callback_data=pack("audit", "p", page.page - 1)))
    if page.page < page.pages:
        buttons.append(InlineKeyboardButton("下一页", callback_data=pack("audit", "p", page.page + 1)))
    return "\n".join(lines), InlineKeyboardMarkup([buttons]) if buttons else None


@answer_refusals
async def audit(update: Update, context: Ctx) -> None:
    """/audit [页码]"""
    user = update.effective_user
    assert user is not None
    args = context.args or []
    page = number(args[0]) if args else 1
    if page is None:
        await audit_view.audit_page(context.bot_data, user, 1)  # the role first
        raise Refused("用法：/audit [页码]，例如 /audit 2")
    text, markup = render(await audit_view.audit_page(context.bot_data, user, page))
    await reply_private(update, context, text, reply_markup=markup)


@answer_refusals
async def audit_button(update: Update, context: Ctx) -> None:
    """上一页 / 下一页: the card is edited in place."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    unpacked = unpack(query.data, "audit", fields=(1, 1))
    page = number(unpacked[1][0]) if unpacked else None
    if page is None:
        await query.answer("这个按钮已失效，请重新发送 /audit。")
        return
    text, markup = render(await audit_view.audit_page(context.bot_data, user, page))
    await query.answer()
    await query.edit_message_text(text, reply_markup=markup)
