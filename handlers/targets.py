"""/target list|set|remove: quantified targets (量化指标). Admins configure; secretaries may list
(services: bot.target_settings)."""

from __future__ import annotations

import html

from telegram import Update

from bot import target_settings, targets
from bot.errors import shown as echo
from handlers.callbacks import number
from handlers.context import Ctx
from handlers.guards import answer_refusals

USAGE = (
    "量化指标的用法：\n"
    "/target list 查看全部指标\n"
    "/target set 支委会 每月 1 次 支部\n"
    "/target set 谈心谈话 每月 2 次 书记\n"
    "/target remove 编号"
)
_LIST_WORDS = {"list", "ls", "列表", "查看", "清单"}
_SET_WORDS = {"set", "add", "设置", "添加", "新增", "修改"}
_REMOVE_WORDS = {"remove", "rm", "del", "delete", "删除", "移除", "取消"}


def _examples() -> str:
    return "\n".join(targets.SET_EXAMPLES)


@answer_refusals
async def target(update: Update, context: Ctx) -> None:
    """Dispatch /target to list, set or remove."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    services = context.bot_data
    args = context.args or []
    verb = args[0].lower() if args else "list"
    if verb in _LIST_WORDS:
        await message.reply_text(_list_text(await target_settings.target_list(services, user.id)))
    elif verb in _SET_WORDS:
        try:
            change = await target_settings.set_target(services, user.id, " ".join(args[1:]))
        except targets.TargetSpecError as error:
            await message.reply_text(f"{html.escape(str(error))}。\n可以这样写：\n{_examples()}")
            return
        await message.reply_text(f"{'已添加' if change.created else '已更新'}：{html.escape(change.summary)}")
    elif verb in _REMOVE_WORDS:
        raw = args[1].lstrip("#＃") if len(args) > 1 else ""
        target_id = number(raw)
        removed = await target_settings.remove_target(services, user.id, target_id)
        if removed is None:
            await message.reply_text(f"没有编号为 {target_id} 的指标，发送 /target list 查看编号。")
        else:
            await message.reply_text(f"已删除：{html.escape(removed.summary)}")
    else:
        await target_settings.target_access(services, user.id)  # strangers are told how to join
        await message.reply_text(f"没看懂“{html.escape(echo(args[0]))}”。\n{USAGE}")


def _list_text(listing: target_settings.TargetList) -> str:
    if not listing.summaries:
        hint = f"\n添加示例：\n{_examples()}" if listing.admin else ""
        return f"还没有量化指标。{hint}"
    lines = [f"📋 量化指标（共 {len(listing.summaries)} 项）"]
    lines += [html.escape(summary) for summary in listing.summaries]
    if listing.composites:
        lines.append("<b>组合指标</b>（各形式按自己的指标考核）")
        lines += [html.escape(line) for line in listing.composites]
    if listing.admin:
        lines.append("修改：/target set 支委会 每月 2 次 支部 · 删除：/target remove 编号")
    return "\n".join(lines)
