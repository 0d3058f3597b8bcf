"""Joining and help: `/start CODE` (the invite deep link), `/join CODE`, `/help` per role
(services: bot.admin.join and bot.admin.standing)."""

from __future__ import annotations

import html

from telegram import Update

from bot import admin, invites
from bot.entities import Member, Org
from bot.errors import NOT_BOUND
from bot.roles import ROLE_NAMES, Role
from handlers.context import Ctx
from handlers.guards import reply_private
from handlers.menu import command_menu, set_member_menu

EXAMPLES = "直接把开展的党建工作发给我就行，例如：\n· 今天组织主题党日，参加18人，时长2小时\n· 昨天与3名党员开展谈心谈话"
NO_ORG_YET = "您是管理员。还没有建立组织：先发送 /org add 组织名称 建立第一个组织（例如 /org add 第一党委）。"
REDEEM_FAILED = {
    invites.Redeem.unknown: "邀请码不对。请核对后重新发送 /join 邀请码，或向管理员重新索取。",
    invites.Redeem.used_up: "这个邀请码已经用完了。请向管理员重新索取。",
    invites.Redeem.expired: "这个邀请码已过期。请向管理员重新索取。",
    invites.Redeem.revoked: "这个邀请码已作废。请向管理员重新索取。",
}


def welcome(member: Member, org: Org | None, *, again: bool = False) -> str:
    where = html.escape(org.name) if org else "组织"
    first = "您已在" if again else "欢迎加入"
    return (
        f"{first}「{where}」，您的身份是：{ROLE_NAMES.get(member.role, member.role)}。\n"
        f"{EXAMPLES}\n/help 查看全部功能"
    )


async def start(update: Update, context: Ctx) -> None:
    """/start [CODE]: bind with a deep-link code, or greet."""
    if context.args:
        await _redeem(update, context, context.args[0])
        return
    await _greet(update, context)


async def join(update: Update, context: Ctx) -> None:
    """/join CODE"""
    message = update.effective_message
    assert message is not None
    if not context.args:
        await message.reply_text("请在 /join 后面写上邀请码，例如：/join 7KQ2M9AB")
        return
    await _redeem(update, context, context.args[0])


async def whoami(update: Update, context: Ctx) -> None:
    """/whoami (/id): the sender's Telegram id, role and org, for the office's roster."""
    user = update.effective_user
    assert user is not None
    me = await admin.standing(context.bot_data, user)
    lines = [f"您的 Telegram ID：<code>{user.id}</code>"]
    if me.member is not None:
        lines.append(f"姓名：{html.escape(me.member.name)}")
        lines.append(f"身份：{ROLE_NAMES.get(me.member.role, me.member.role)}")
        lines.append(f"组织：{html.escape(me.org_path)}")
    elif me.bootstrap_admin:
        lines.append("身份：管理员（还没有建立组织）")
    else:
        lines.append("您还没有加入组织。把这个 ID 告诉党务管理员，或用邀请码发送 /join 邀请码。")
    await reply_private(update, context, "\n".join(lines))


async def _greet(update: Update, context: Ctx) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    me = await admin.standing(context.bot_data, user)
    if me.member is not None:
        await message.reply_text(welcome(me.member, me.org, again=True))
    elif me.bootstrap_admin:
        await message.reply_text(NO_ORG_YET)
    else:
        await message.reply_text(NOT_BOUND)


async def _redeem(update: Update, context: Ctx, code: str) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    result = await admin.join(context.bot_data, user, code)
    if result.member is None:
        await message.reply_text(REDEEM_FAILED[result.outcome])
        return
    again = result.outcome == invites.Redeem.unchanged
    await message.reply_text(welcome(result.member, result.org, again=again))
    if not again:
        await set_member_menu(context.bot, user.id, result.member.role)


async def help_command(update: Update, context: Ctx) -> None:
    """/help: the commands of the sender's role and how to report."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    me = await admin.standing(context.bot_data, user)
    if me.member is None and not me.bootstrap_admin:
        await message.reply_text(NOT_BOUND)
        return
    role = me.member.role if me.member else Role.admin
    lines = [
        "📖 怎么用",
        EXAMPLES,
        "发错了可以点卡片上的按钮修改或撤销；修改原消息，记录也会跟着改。",
        "",
        "命令：",
    ]
    lines += [f"/{c.command} — {html.escape(c.description)}" for c in command_menu(role)]
    await message.reply_text("\n".join(lines))
