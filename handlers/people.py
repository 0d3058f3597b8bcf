"""/member move|leave|back: transfer, deactivate and bring back members (services: bot.people)."""

from __future__ import annotations

import html

from telegram import Update

from bot import people
from bot.errors import Refused
from handlers.context import Ctx
from handlers.guards import reply_private
from handlers.org_pick import org_lookups

VERBS = {
    "move": "move",
    "转接": "move",
    "调动": "move",
    "leave": "leave",
    "离职": "leave",
    "转出": "leave",
    "停用": "leave",
    "back": "back",
    "恢复": "back",
}


@org_lookups("member")
async def member_command(update: Update, context: Ctx) -> None:
    """/member move 成员 组织 · /member leave 成员 [离职|转出] · /member back 成员 [组织]"""
    user = update.effective_user
    assert user is not None
    args = list(context.args or [])
    verb = VERBS.get(args[0].lower()) if args else None
    if verb is None or len(args) < 2 or (verb == "move" and len(args) < 3):
        raise Refused(people.USAGE)
    services, person = context.bot_data, args[1]
    if verb == "move":
        change = await people.transfer(services, user, person, args[2])
        text = (
            f"已将{html.escape(change.member.name)}从「{html.escape(change.before)}」"
            f"转到「{html.escape(change.after)}」。此前的记录仍记在原组织。"
        )
    elif verb == "leave":
        reason = args[2] if len(args) > 2 else ("转出" if args[0] == "转出" else None)
        change = await people.deactivate(services, user, person, reason)
        text = (
            f"已停用{html.escape(change.member.name)}（{html.escape(change.reason)}）："
            "从今天起不再提醒，也不计入未报告和指标；记录保留。\n"
            f"恢复：/member back {change.member.telegram_id}"
        )
    else:
        change = await people.reactivate(services, user, person, args[2] if len(args) > 2 else None)
        text = f"已恢复{html.escape(change.member.name)}（{html.escape(change.after)}）。"
    await reply_private(update, context, text)
