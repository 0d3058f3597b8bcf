"""Building the organisation: /org add|list, /invite, /members, /bindgroup (services: bot.admin)."""

from __future__ import annotations

import datetime as dt
import html

from telegram import Update, User

from bot import admin, org_changes
from bot.admin import NO_ORG_YET, GroupTaken, OrgExists
from bot.entities import ORG_KIND_NAMES, Org
from bot.errors import Refused
from bot.errors import shown as echo
from bot.roles import ROLE_NAMES, Role
from handlers import people
from handlers.context import Ctx
from handlers.counting import org_counting_start
from handlers.guards import answer_refusals, is_private, reply_private
from handlers.notifier import TelegramNotifier
from handlers.org_pick import TREE_HINT, org_lookups, pick, unknown_text

ORG_USAGE = (
    "用法：\n/org add 名称 [上级组织] — 新建组织\n/org list — 查看组织树"
    "\n/org 起算日期 组织 [日期] — 查看或设置开始统计的日期\n" + org_changes.USAGE.removeprefix("用法：\n")
)
MESSAGE_LIMIT = 3900


@org_lookups("org")
async def _org(update: Update, context: Ctx) -> None:
    """/org add <名称> [上级] · /org list"""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    args = context.args or []
    sub = args[0].lower() if args else ""
    if sub == "list":
        await _org_list(update, context)
        return
    if sub in ORG_CHANGES:
        await admin.authorize(context.bot_data, user, Role.admin)
        if len(args) != (2 if sub == "archive" else 3):
            raise Refused(ORG_USAGE)
        await message.reply_text(await ORG_CHANGES[sub](context, user, args[1:]))
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
        where = f"「{html.escape(parent_name)}」下" if parent_name else "最上级"
        raise Refused(f"{where}已经有「{html.escape(echo(error.name))}」了。{TREE_HINT}") from None
    created, parent = added.org, added.parent
    where = f"，上级：{html.escape(parent.name)}" if parent else ""
    lines = [
        f"已建立「{html.escape(created.name)}」（{ORG_KIND_NAMES.get(created.kind, created.kind)}{where}）。"
    ]
    if added.bound:
        lines.append("您已作为管理员绑定到这个组织。")
    lines.append(f"邀请成员：/invite {html.escape(created.name)} cadre 20")
    await message.reply_text("\n".join(lines))


async def _rename(context: Ctx, user: User, args: list[str]) -> str:
    change = await org_changes.rename(context.bot_data, user, args[0], args[1])
    return f"已改名：「{html.escape(change.before)}」→「{html.escape(change.after)}」。"


async def _move(context: Ctx, user: User, args: list[str]) -> str:
    change = await org_changes.move(context.bot_data, user, args[0], args[1])
    return f"已移动：「{html.escape(change.before)}」→「{html.escape(change.after)}」。"


async def _merge(context: Ctx, user: User, args: list[str]) -> str:
    change = await org_changes.merge(context.bot_data, user, args[0], args[1])
    return (
        f"已把「{html.escape(change.before)}」并入「{html.escape(change.after)}」："
        f"转入成员 {change.moved_members} 人、下级组织 {change.moved_children} 个，"
        f"作废邀请码 {change.revoked_invites} 个。原组织已撤销，它的历史记录保留。"
    )


async def _archive(context: Ctx, user: User, args: list[str]) -> str:
    change = await org_changes.archive(context.bot_data, user, args[0])
    paused = f"，暂停提醒计划 {change.schedules} 个" if change.schedules else ""
    return (
        f"已撤销「{html.escape(change.before)}」：作废邀请码 {change.revoked_invites} 个{paused}。"
        "它在存在期间的记录仍保留在台账和历史摘要里。"
    )


ORG_CHANGES = {"rename": _rename, "move": _move, "merge": _merge, "archive": _archive}


def tree_lines(
    all_orgs: list[Org], counts: dict[int, int], root_ids: list[int], groups: dict[int, int]
) -> list[str]:
    children: dict[int | None, list[Org]] = {}
    for o in all_orgs:
        children.setdefault(o.parent_id, []).append(o)
    by_id = {o.id: o for o in all_orgs}
    lines: list[str] = []

    def walk(o: Org, depth: int) -> None:
        indent = "　" * depth + ("└ " if depth else "")
        kind = ORG_KIND_NAMES.get(o.kind, o.kind)
        bound = groups.get(o.id, 0) if o.id is not None else 0
        group = "" if not bound else " · 已绑定群" if bound == 1 else f" · 已绑定{bound}个群"
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
        update,
        context,
        _clip("🏛 组织树\n" + "\n".join(tree_lines(tree.orgs, tree.counts, tree.root_ids, tree.groups))),
    )


def _clip(text: str) -> str:
    if len(text) <= MESSAGE_LIMIT:
        return text
    return text[:MESSAGE_LIMIT].rsplit("\n", 1)[0] + "\n……（太长，只显示前面部分）"


@org_lookups("invite")
async def _invite(update: Update, context: Ctx) -> None:
    """/invite <组织> <cadre|secretary|admin> [次数]"""
    user = update.effective_user
    assert user is not None
    args = list(context.args or [])
    sub = args[0].lower() if args else ""
    if sub in INVITE_VERBS:
        await reply_private(update, context, await INVITE_VERBS[sub](context, user, args[1:]))
        return
    issued = await admin.issue_invite(context.bot_data, user, args)
    code = issued.code
    link = f"https://t.me/{context.bot.username}?start={code}"
    until = f"，{_day(issued.expires_on)}前有效" if issued.expires_on else ""
    text = (
        f"邀请码 <code>{code}</code>：加入「{html.escape(issued.org.name)}」，"
        f"身份 {ROLE_NAMES[issued.role]}，可用 {issued.uses} 次{until}。\n"
        f"把链接发给对方：{link}\n或让对方发送 /join {code}"
    )
    await reply_private(update, context, text)


def _day(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


async def _invite_list(context: Ctx, user: User, args: list[str]) -> str:
    listing = await admin.list_invites(context.bot_data, user, args[0] if args else None)
    where = f"「{html.escape(listing.scope_path)}」" if listing.scope_path else ""
    lines = [f"🔑 {where}有效的邀请码 {len(listing.codes)} 个"]
    tz = context.bot_data.settings.tz
    for live in listing.codes:
        c = live.code
        until = (
            f" · {_day((c.expires_at.astimezone(tz) - dt.timedelta(seconds=1)).date())}止"
            if c.expires_at
            else ""
        )
        lines.append(
            f"<code>{c.code}</code> {html.escape(live.org_path)} · {ROLE_NAMES.get(c.role, c.role)}"
            f" · 剩 {c.uses_left} 次{until}"
        )
    if listing.personal:
        lines.append(f"另有花名册个人邀请 {listing.personal} 个未使用。")
    if len(lines) > 1:
        lines.append("作废：/invite revoke 邀请码 · 设有效期：/invite expire 邀请码 7天")
    return _clip("\n".join(lines))


async def _invite_revoke(context: Ctx, user: User, args: list[str]) -> str:
    if len(args) != 1:
        raise Refused("用法：/invite revoke 邀请码")
    revoked = await admin.revoke_invite(context.bot_data, user, args[0])
    return f"邀请码 <code>{revoked.code}</code> 已作废，不能再用它加入。"


async def _invite_expire(context: Ctx, user: User, args: list[str]) -> str:
    if len(args) != 2:
        raise Refused("用法：/invite expire 邀请码 7天（或 2026-12-31）")
    invite, day = await admin.expire_invite(context.bot_data, user, args[0], args[1])
    return f"邀请码 <code>{invite.code}</code> 有效期至 {_day(day)}（含当天）。"


INVITE_VERBS = {"list": _invite_list, "revoke": _invite_revoke, "expire": _invite_expire}


@org_lookups("members", hint=False)
async def _members(update: Update, context: Ctx) -> None:
    """/members [组织]: secretaries see their own organisation and below; admins any."""
    user = update.effective_user
    assert user is not None
    listing = await admin.list_members(context.bot_data, user, context.args[0] if context.args else None)
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
    except admin.UnknownOrg as error:
        raise Refused(unknown_text(error, hint=False)) from None
    except GroupTaken as error:
        name = html.escape(echo(error.name))
        raise Refused(f"本群已绑定「{name}」，只有「{name}」的书记或管理员可以改绑。") from None
    org_name = html.escape(bound.org.name)
    await message.reply_text(f"本群已绑定「{org_name}」。已加入组织的成员在群里报告的工作会记在各自名下。")
    if bound.previous is not None:
        title = html.escape(echo(chat.title or str(chat.id)))
        who = html.escape(echo(bound.by))
        note = (
            f"群「{title}」原来绑定「{html.escape(bound.previous.name)}」，已由 {who} 改绑到「{org_name}」。"
            f"今后这个群里的报告记到「{org_name}」。"
        )
        notifier = TelegramNotifier(context.bot)
        for chat_id in bound.told:
            await notifier.send_html(chat_id, note)


# The commands that name orgs, as a choice button runs them again.
PICKABLE = {"org": _org, "invite": _invite, "members": _members, "member": people.member_command}
org = answer_refusals(_org)
invite = answer_refusals(_invite)
members = answer_refusals(_members)
member = answer_refusals(people.member_command)


async def pick_button(update: Update, context: Ctx) -> None:
    """A choice among organisations of the same name (see handlers.org_pick)."""
    await pick(update, context, PICKABLE)
