"""/org 起算日期 组织 [日期]: show or set the first day an organisation's figures count."""

from __future__ import annotations

import html

from telegram import Update

from bot.counting import UnknownStartOrg, counting_start, day_text
from bot.errors import Refused
from bot.errors import shown as echo
from handlers.context import Ctx

USAGE = "用法：/org 起算日期 组织 [日期]，例如 /org 起算日期 第一党委 2026-12-01"


async def org_counting_start(update: Update, context: Ctx, args: list[str]) -> None:
    """The `起算日期` subcommand of /org (args after the subcommand word)."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if not args:
        raise Refused(USAGE)
    day = " ".join(args[1:]).strip() or None
    try:
        result = await counting_start(context.bot_data, user, args[0], day)
    except UnknownStartOrg as error:
        raise Refused(
            f"没有找到组织「{html.escape(echo(error.name))}」。发送 /org list 查看组织树。"
        ) from None
    name = html.escape(result.org.name)
    if result.start is None:
        text = f"「{name}」没有设起算日期：所有期间都统计。"
    elif not result.changed:
        text = f"「{name}」的起算日期：{day_text(result.start)}。此前结束的期间不统计未完成。"
    else:
        below = f"及下级共 {result.changed} 个组织" if result.changed > 1 else ""
        text = (
            f"已将「{name}」{below}的起算日期设为 {day_text(result.start)}。"
            "此前结束的期间不计未完成，也不算年度缺口。"
        )
    await message.reply_text(text)
