"""Building the organisation: /org add|list, /invite, /members, /bindgroup (services: bot.admin)."""

from __future__ import annotations

import html

from telegram import Update

from bot import admin
from bot.admin import NO_ORG_YET, OrgExists, UnknownOrg
from bot.entities import ORG_KIND_NAMES, Org
from bot.errors import Refused
from bot.errors import shown as echo
from bot.roles import ROLE_NAMES, Role
from handlers.context import Ctx
from handlers.counting import org_counting_start
from handlers.guards import answer_refusals, is_private, reply_private

ORG_USAGE = (
    "用法：\n/org add 名称 [上级组织] — 新建组织\n/org list — 查看组织树"
    "\n/org 起算日期 组织 [日期] — 查看或设置开始统计的日期"
)
MESSAGE_LIMIT = 3900
TREE_HINT = "发送 /org list 查看组织树。"


def _unknown(error: UnknownOrg, *, hint: bool) -> Refused:
    where = "上级组织" if error.parent else "组织"
    return Refused(f"没有找到{where}「{html.escape(echo(error.name))}」。{TREE_HINT if hint else ''}")


@answer_refusals
async def org(update: Update, context: Ctx) -> None:
    """/org add <名称> [上级] · /org list"""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    args = context.args or []
    sub = args[0].lower() if args else ""
    if sub == "list":
        await _org_list(update, context)
        return
    if sub == "起算日期":
        await org_counting_start(update, context, args[1:])
        return
    if sub != "add" or len(args) < 2:
        await admin.authorize(context.bot_data, user, Role.admin)
        raise Refused(ORG_USAGE)
    name, parent_name = args[1], (args[2] if len(args) > 2 else None)
    try:
        added = await admin.add_org(context.bot_data, user, name, parent_name)
    except OrgExists as error:
        raise Refused(f"「{html.escape(echo(error.name))}」已经存在。{TREE_HINT}") from None
    except UnknownOrg as error:
        raise _unknown(error, hint=True) from None
    created, parent = added.org, added.parent
    where = f"，上级：{html.escape(parent.name)}" if parent else ""
    lines = [
        f"已建立「{html.escape(created.name)}」（{ORG_KIND_NAMES.get(created.kind, created.kind)}{where}）。"
    ]
    if added.bound:
        lines.append("您已作为管理员绑定到这个组织。")
    lines.append(f"邀请成员：/invite {html.escape(created.name)} cadre 20")
    await message.reply_text("\n".join(lines))


def tree_lines(all_orgs: list[Org], counts: dict[int, int], root_ids: list[int]) -> list[str]:
    children: dict[int | None, list[Org]] = {}
    for o in all_orgs:
        children.setdefault(o.parent_id, []).append(o)
    by_id = {o.id: o for o in all_orgs}
    lines: list[str] = []

    def walk(o: Org, depth: int) -> None:
        indent = "　" * depth + ("└ " if depth else "")
        kind = ORG_KIND_NAMES.get(o.kind, o.kind)
        group = " · 已绑定群" if o.group_chat_id else ""
        count = counts.get(o.id, 0) if o.id is not None else 0
        lines.append(f"{indent}{html.escape(o.name)}（{kind}）· {count}人{group}")
        for child in children.get(o.id, []):
            walk(child, depth + 1)

    for rid in root_ids:
        walk(by_id[rid], 0)
    return lines


async def _org_list(update: Update, context: Ctx) -> None:
    user = update.effective_user
    assert user is not None
    tree = await admin.org_tree(context.bot_data, user)
    if not tree.orgs:
        await reply_private(update, context, NO_ORG_YET)
        return
    await reply_private(
        update, context, _clip("🏛 组织树\n" + "\n".join(tree_lines(tree.orgs, tree.counts, tree.root_ids)))
    )


def _clip(text: str) -> str:
    if len(text) <= MESSAGE_LIMIT:
        return text
    return text[:MESSAGE_LIMIT].rsplit("\n", 1)[0] + "\n……（太长，只显示前面部分）"


@answer_refusals
async def invite(update: Update, context: Ctx) -> None:
    """/invite <组织> <cadre|secretary|admin> [次数]"""
    user = update.effective_user
    assert user is not None
    try:
        issued = await admin.issue_invite(context.bot_data, user, context.args or [])
    except UnknownOrg as error:
        raise _unknown(error, hint=True) from None
    code = issued.code
    link = f"https://t.me/{context.bot.username}?start={code}"
    text = (
        f"邀请码 <code>{code}</code>：加入「{html.escape(issued.org.name)}」，"
        f"身份 {ROLE_NAMES[issued.role]}，可用 {issued.uses} 次。\n"
        f"把链接发给对方：{link}\n或让对方发送 /join {code}"
    )
    await reply_private(update, context, text)


@answer_refusals
async def members(update: Update, context: Ctx) -> None:
    """/members [组织]: secretaries see their own organisation and below; admins any."""
    user = update.effective_user
    assert user is not None
    try:
        listing = await admin.list_members(context.bot_data, user, context.args[0] if context.args else None)
    except UnknownOrg as error:
        raise _unknown(error, hint=False) from None
    lines = [f"👥 成员 {listing.total} 人"]
    for where, group in listing.groups:
        lines.append(f"{html.escape(where.name)}（{len(group)}人）")
        lines += [
            f"· {html.escape(m.name)} {ROLE_NAMES.get(m.role, m.role)}{'（联系不上）' if m.unreachable else ''}"
            for m in group
        ]
    await reply_private(update, context, _clip("\n".join(lines)))


@answer_refusals
async def bind_group(update: Update, context: Ctx) -> None:
    """/bindgroup [组织] in a group: check-ins of bound members here are recorded."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert message is not None and chat is not None and user is not None
    if is_private(update):
        raise Refused("请在要绑定的群里发送 /bindgroup（管理员可写 /bindgroup 组织名称）。")
    try:
        bound = await admin.bind_group(
            context.bot_data, user, chat.id, context.args[0] if context.args else None
        )
    except UnknownOrg as error:
        raise _unknown(error, hint=False) from None
    await message.reply_text(
        f"本群已绑定「{html.escape(bound.name)}」。已加入组织的成员在群里报告的工作会记在各自名下。"
    )
