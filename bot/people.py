"""People move and leave: transfer a member to another org (组织关系转接), deactivate them
(离职, 转出) and bring them back. Secretaries within their own org and below; admins anywhere.

A member's records keep the org they were recorded in: a transfer changes only where the member
is now. A deactivated member keeps their records and, from that day on, gets no nudge and is left
out of digests' silent lists and of targets (they are not an active member any more).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin import acting_member, pick_org, scope_ids
from bot.errors import Refused, shown
from bot.members import Sender
from bot.roles import ROLE_NAMES, Role, has_role
from bot.services import Services
from storage import orgs
from storage.models import Member, Org

USAGE = (
    "用法：\n"
    "/member move 成员 组织 — 组织关系转接\n"
    "/member leave 成员 [离职|转出] — 停用（记录保留）\n"
    "/member back 成员 [组织] — 恢复\n"
    "成员可写姓名、@用户名或 Telegram ID（见 /members、/whoami）。"
)
MAX_REASON = 20
NOT_IN_SCOPE = "书记只能管理本组织及下级组织的成员。"


@dataclass(frozen=True)
class PersonChange:
    member: Member
    before: str  # the org path before
    after: str  # the org path now
    reason: str = ""


def _who(member: Member, paths: dict[int, str]) -> str:
    return f"· {html.escape(member.name)} · {html.escape(paths.get(member.org_id, ''))} · ID {member.telegram_id}"


async def _person(
    session: AsyncSession, actor: Member, all_orgs: list[Org], text: str, *, active: bool
) -> Member:
    """The one member (in the actor's scope) that `text` names; Refused when none or several."""
    scope = scope_ids(actor, all_orgs)
    found = await orgs.find_members(session=session, text=text, active=active)
    inside = found if has_role(actor, Role.admin) else [m for m in found if m.org_id in scope]
    state = "" if active else "已停用的"
    if not inside:
        hint = NOT_IN_SCOPE if found else "发送 /members 查看名单。"
        raise Refused(f"没有找到{state}成员「{html.escape(shown(text))}」。{hint}")
    if len(inside) > 1:
        paths = {o.id: orgs.org_path(all_orgs, o) for o in all_orgs if o.id is not None}
        listed = "\n".join(_who(m, paths) for m in inside)
        raise Refused(
            f"有 {len(inside)} 位{state}成员叫「{html.escape(shown(text))}」，请用 ID 指定：\n{listed}"
        )
    return inside[0]


def _may_manage(actor: Member, member: Member, all_orgs: list[Org]) -> None:
    if member.id == actor.id:
        raise Refused("不能对自己这样操作，请让上级管理员办理。")
    if not has_role(actor, Role.admin) and member.org_id not in scope_ids(actor, all_orgs):
        raise Refused(NOT_IN_SCOPE)
    if has_role(member, Role.admin) and not has_role(actor, Role.admin):
        raise Refused("只有管理员可以调整管理员。")
    if member.admin_by_setting:
        raise Refused("这位管理员由服务器设置 ADMIN_TELEGRAM_IDS 指定，请先从设置中移除。")


def _target_org(actor: Member, all_orgs: list[Org], name: str) -> Org:
    org = pick_org(all_orgs, name)
    if org.id not in scope_ids(actor, all_orgs):
        raise Refused("书记只能把成员转到本组织及下级组织。")
    return org


async def transfer(services: Services, sender: Sender, person: str, org_name: str) -> PersonChange:
    """Move an active member to another org; their records stay with the org they were made in."""
    async with services.session() as session:
        actor = await acting_member(session, services, sender, Role.secretary)
        all_orgs = await orgs.list_orgs(session=session)
        member = await _person(session, actor, all_orgs, person, active=True)
        _may_manage(actor, member, all_orgs)
        target = _target_org(actor, all_orgs, org_name)
        paths = _paths(all_orgs)
        before = paths.get(member.org_id, "")
        if target.id == member.org_id:
            raise Refused(f"{html.escape(member.name)}已经在「{html.escape(before)}」。")
        assert target.id is not None
        member.org_id = target.id
        after = paths[target.id]
        await orgs.audit(
            session=session,
            actor=actor,
            action="member.transfer",
            object_type="member",
            object_id=member.id,
            detail=member.name,
            before=before,
            after=after,
        )
    return PersonChange(member, before, after)


async def deactivate(services: Services, sender: Sender, person: str, reason: str | None) -> PersonChange:
    """离职 / 转出: the member stays on record, inactive from today."""
    reason = (reason or "离职").strip()
    if len(reason) > MAX_REASON:
        raise Refused(f"原因请控制在{MAX_REASON}字以内，例如：离职、转出。")
    async with services.session() as session:
        actor = await acting_member(session, services, sender, Role.secretary)
        all_orgs = await orgs.list_orgs(session=session)
        member = await _person(session, actor, all_orgs, person, active=True)
        _may_manage(actor, member, all_orgs)
        member.active, member.left_on, member.left_reason = False, services.clock.now().date(), reason
        where = _paths(all_orgs).get(member.org_id, "")
        await orgs.audit(
            session=session,
            actor=actor,
            action="member.deactivate",
            object_type="member",
            object_id=member.id,
            detail=f"{member.name} {where}",
            before=ROLE_NAMES.get(member.role, member.role),
            after=reason,
        )
    return PersonChange(member, where, where, reason)


async def reactivate(services: Services, sender: Sender, person: str, org_name: str | None) -> PersonChange:
    """Bring a deactivated member back (to `org_name` when given, else their last org)."""
    async with services.session() as session:
        actor = await acting_member(session, services, sender, Role.secretary)
        all_orgs = await orgs.list_orgs(session=session)
        member = await _person(session, actor, all_orgs, person, active=False)
        _may_manage(actor, member, all_orgs)
        paths = _paths(await orgs.list_orgs(session=session, archived=True))
        before = paths.get(member.org_id, "")
        if org_name is not None:
            member.org_id = _id(_target_org(actor, all_orgs, org_name))
        elif member.org_id not in {o.id for o in all_orgs}:
            raise Refused("原组织已撤销，请写上要恢复到的组织：/member back 成员 组织")
        was = member.left_reason or "停用"
        member.active, member.left_on, member.left_reason = True, None, None
        await orgs.audit(
            session=session,
            actor=actor,
            action="member.reactivate",
            object_type="member",
            object_id=member.id,
            detail=member.name,
            before=f"{was} {before}",
            after=paths[member.org_id],
        )
    return PersonChange(member, before, paths[member.org_id])


def _paths(all_orgs: list[Org]) -> dict[int, str]:
    return {_id(o): orgs.org_path(all_orgs, o) for o in all_orgs}


def _id(org: Org) -> int:
    assert org.id is not None, "a stored org has an id"
    return org.id
