"""Building the organisation: /org add|list, /invite, /members, /bindgroup.

The first /org add by a bootstrap admin (ADMIN_TELEGRAM_IDS) with no organisation yet creates the
root organisation and binds that admin to it.
"""

from __future__ import annotations

import html

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update, User

from bot import invites
from handlers.context import Ctx
from handlers.guards import (
    NEED_ROLE,
    NOT_BOUND,
    Refused,
    answer_refusals,
    display_name,
    has_role,
    is_bootstrap_admin,
    is_private,
    reply_private,
    resolve,
)
from storage import orgs
from storage.models import ORG_KIND_NAMES, ROLE_NAMES, Member, Org, OrgKind, Role

ORG_USAGE = "用法：\n/org add 名称 [上级组织] — 新建组织\n/org list — 查看组织树"
INVITE_USAGE = "用法：/invite 组织 cadre|secretary|admin [次数]\n例如：/invite 第一支部 cadre 20"
MESSAGE_LIMIT = 3900
NO_ORG_YET = "还没有组织。发送 /org add 组织名称 建立第一个组织。"


def kind_from_name(name: str, parent: Org | None) -> str:
    if name.endswith("党委") or parent is None:
        return OrgKind.committee
    if name.endswith("总支"):
        return OrgKind.general_branch
    return OrgKind.branch


async def _actor(session: AsyncSession, update: Update, context: Ctx, needed: str) -> Member | None:
    """The member allowed to run this command, or None for a bootstrap admin not bound yet (only
    admin commands); raises Refused otherwise."""
    user: User = update.effective_user  # type: ignore[assignment]
    member = await resolve(session=session, services=context.bot_data, user=user)
    if has_role(member, needed):
        return member
    if member is None and is_bootstrap_admin(context.bot_data, user.id):
        if needed == Role.admin:
            return None
        raise Refused(NO_ORG_YET)
    raise Refused(NOT_BOUND if member is None else NEED_ROLE[needed])  # type: ignore[index]


@answer_refusals
async def org(update: Update, context: Ctx) -> None:
    """/org add <名称> [上级] · /org list"""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    sub = args[0].lower() if args else ""
    if sub not in {"add", "list"} or (sub == "add" and len(args) < 2):
        async with context.bot_data.session() as session:
            await _actor(session, update, context, Role.admin)
        raise Refused(ORG_USAGE)
    if sub == "list":
        await _org_list(update, context)
        return
    name, parent_name = args[1], (args[2] if len(args) > 2 else None)
    bound_to: Member | None = None
    async with context.bot_data.session() as session:
        actor = await _actor(session, update, context, Role.admin)
        if len(name) > 100:
            raise Refused("组织名称太长了，请控制在100字以内。")
        if await orgs.get_org_by_name(session=session, name=name) is not None:
            raise Refused(f"「{html.escape(name)}」已经存在。发送 /org list 查看组织树。")
        parent = None
        if parent_name is not None:
            parent = await orgs.get_org_by_name(session=session, name=parent_name)
            if parent is None:
                raise Refused(f"没有找到上级组织「{html.escape(parent_name)}」。发送 /org list 查看组织树。")
        created = await orgs.create_org(
            session=session, name=name, parent=parent, kind=kind_from_name(name, parent)
        )
        if actor is None:
            # A bootstrap admin's first organisation: bind them to it.
            user: User = update.effective_user  # type: ignore[assignment]
            actor = bound_to = await orgs.create_member(
                session=session,
                telegram_id=user.id,
                name=display_name(user),
                org=created,
                role=Role.admin,
                username=user.username,
            )
        await orgs.audit(
            session=session,
            actor=actor,
            action="org.add",
            object_type="org",
            object_id=created.id,
            detail=f"parent={created.parent_id}",
        )
    where = f"，上级：{html.escape(parent.name)}" if parent else ""
    lines = [
        f"已建立「{html.escape(created.name)}」（{ORG_KIND_NAMES.get(created.kind, created.kind)}{where}）。"
    ]
    if bound_to is not None:
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
        lines.append(f"{indent}{html.escape(o.name)}（{kind}）· {counts.get(o.id, 0)}人{group}")  # type: ignore[arg-type]
        for child in children.get(o.id, []):
            walk(child, depth + 1)

    for rid in root_ids:
        walk(by_id[rid], 0)
    return lines


async def _org_list(update: Update, context: Ctx) -> None:
    async with context.bot_data.session() as session:
        await _actor(session, update, context, Role.admin)
        all_orgs = await orgs.list_orgs(session=session)
        counts = await orgs.member_counts(session=session)
    if not all_orgs:
        await reply_private(update, context, NO_ORG_YET)
        return
    roots = [o.id for o in all_orgs if o.parent_id is None]
    await reply_private(update, context, _clip("🏛 组织树\n" + "\n".join(tree_lines(all_orgs, counts, roots))))  # type: ignore[arg-type]


def _clip(text: str) -> str:
    if len(text) <= MESSAGE_LIMIT:
        return text
    return text[:MESSAGE_LIMIT].rsplit("\n", 1)[0] + "\n……（太长，只显示前面部分）"


@answer_refusals
async def invite(update: Update, context: Ctx) -> None:
    """/invite <组织> <cadre|secretary|admin> [次数]"""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    async with context.bot_data.session() as session:
        actor = await _actor(session, update, context, Role.admin)
        if len(args) < 2 or (role := invites.parse_role(args[1])) is None:
            raise Refused(INVITE_USAGE)
        uses = 1
        if len(args) > 2:
            if not args[2].isdigit() or not 1 <= int(args[2]) <= invites.MAX_USES:
                raise Refused(f"次数请写 1 到 {invites.MAX_USES} 之间的数字。\n{INVITE_USAGE}")
            uses = int(args[2])
        target = await orgs.get_org_by_name(session=session, name=args[0])
        if target is None:
            raise Refused(f"没有找到组织「{html.escape(args[0])}」。发送 /org list 查看组织树。")
        code = await invites.issue(session=session, org=target, role=role, uses=uses, actor=actor)
    link = f"https://t.me/{context.bot.username}?start={code}"
    text = (
        f"邀请码 <code>{code}</code>：加入「{html.escape(target.name)}」，身份 {ROLE_NAMES[role]}，可用 {uses} 次。\n"
        f"把链接发给对方：{link}\n或让对方发送 /join {code}"
    )
    await reply_private(update, context, text)


@answer_refusals
async def members(update: Update, context: Ctx) -> None:
    """/members [组织]: secretaries see their own organisation and below; admins any."""
    message = update.effective_message
    assert message is not None
    async with context.bot_data.session() as session:
        actor = await _actor(session, update, context, Role.secretary)
        assert actor is not None
        all_orgs = await orgs.list_orgs(session=session)
        own = orgs.subtree_ids(all_orgs, actor.org_id)
        if context.args:
            target = next((o for o in all_orgs if o.name == context.args[0]), None)
            if target is None:
                raise Refused(f"没有找到组织「{html.escape(context.args[0])}」。")
            if actor.role != Role.admin and target.id not in own:
                raise Refused("只能查看本组织及下级组织的成员。")
            scope = orgs.subtree_ids(all_orgs, target.id)  # type: ignore[arg-type]
        elif actor.role == Role.admin:
            scope = [o.id for o in all_orgs]  # type: ignore[misc]
        else:
            scope = own
        people = await orgs.list_members(session=session, org_ids=scope)
    by_org: dict[int, list[Member]] = {}
    for m in people:
        by_org.setdefault(m.org_id, []).append(m)
    names = {o.id: o.name for o in all_orgs}
    lines = [f"👥 成员 {len(people)} 人"]
    for org_id in scope:
        group = by_org.get(org_id, [])
        if not group:
            continue
        lines.append(f"{html.escape(names[org_id])}（{len(group)}人）")
        lines += [
            f"· {html.escape(m.name)} {ROLE_NAMES.get(m.role, m.role)}{'（联系不上）' if m.unreachable else ''}"
            for m in group
        ]
    await reply_private(update, context, _clip("\n".join(lines)))


@answer_refusals
async def bind_group(update: Update, context: Ctx) -> None:
    """/bindgroup [组织] in a group: check-ins of bound members here are recorded."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    if is_private(update):
        raise Refused("请在要绑定的群里发送 /bindgroup（管理员可写 /bindgroup 组织名称）。")
    async with context.bot_data.session() as session:
        actor = await _actor(session, update, context, Role.secretary)
        assert actor is not None
        if context.args:
            target = await orgs.get_org_by_name(session=session, name=context.args[0])
            if target is None:
                raise Refused(f"没有找到组织「{html.escape(context.args[0])}」。")
            if actor.role != Role.admin and target.id != actor.org_id:
                raise Refused("书记只能把群绑定到本组织。")
        else:
            target = await orgs.get_org(session=session, org_id=actor.org_id)
        assert target is not None
        previous = await orgs.get_org_by_group_chat(session=session, chat_id=chat.id)
        if previous is not None and previous.id != target.id:
            previous.group_chat_id = None
        target.group_chat_id = chat.id
        await orgs.audit(
            session=session,
            actor=actor,
            action="org.bind_group",
            object_type="org",
            object_id=target.id,
            detail=f"chat={chat.id}",
        )
    await message.reply_text(
        f"本群已绑定「{html.escape(target.name)}」。已加入组织的成员在群里报告的工作会记在各自名下。"
    )
