"""Orgs change: rename, move under another parent (never under itself), merge one into another,
archive. Admins only; every change audited with the paths before and after.

An archived org keeps its rows and records: exports and digests of the periods it existed in still
show them. It is gone from everything current: the tree, names in commands, invites (its live
codes are revoked), group binding, targets and schedules (those scoped to it are paused).
Merging moves the members, the sub-orgs, the schedules and (when the other has none) the group of
one org into another, then archives it; records stay with the org they were made in.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from bot.admin import acting_member, check_org_name, pick_org
from bot.errors import Refused
from bot.members import Sender
from bot.roles import Role
from bot.services import Services
from storage import invites as invite_repo
from storage import orgs
from storage.models import Org

USAGE = (
    "用法：\n"
    "/org rename 组织 新名称\n"
    "/org move 组织 新上级（写“无”则成为最上级）\n"
    "/org merge 组织 并入的组织\n"
    "/org archive 组织 — 撤销（历史记录保留）"
)
TOP = ("无", "顶级", "最上级", "-")


@dataclass(frozen=True)
class OrgChange:
    before: str
    after: str
    moved_members: int = 0
    moved_children: int = 0
    revoked_invites: int = 0
    schedules: int = 0


def _id(org: Org) -> int:
    assert org.id is not None, "a stored org has an id"
    return org.id


async def _rebuild(services: Services) -> None:
    if services.scheduler is not None:
        await services.scheduler.rebuild_jobs()


async def rename(services: Services, sender: Sender, org_name: str, new_name: str) -> OrgChange:
    check_org_name(new_name)
    async with services.session() as session:
        actor = await acting_member(session, services, sender, Role.admin)
        all_orgs = await orgs.list_orgs(session=session)
        org = pick_org(all_orgs, org_name)
        before = orgs.org_path(all_orgs, org)
        if org.name == new_name:
            raise Refused(f"「{html.escape(before)}」已经叫这个名字了。")
        if orgs.sibling_named(all_orgs, org.parent_id, new_name) is not None:
            raise Refused(f"同一上级下已经有「{html.escape(new_name)}」了。")
        org.name = new_name
        after = orgs.org_path(all_orgs, org)
        await orgs.audit(
            session=session,
            actor=actor,
            action="org.rename",
            object_type="org",
            object_id=org.id,
            before=before,
            after=after,
        )
    return OrgChange(before, after)


async def move(services: Services, sender: Sender, org_name: str, parent_name: str) -> OrgChange:
    async with services.session() as session:
        actor = await acting_member(session, services, sender, Role.admin)
        all_orgs = await orgs.list_orgs(session=session)
        org = pick_org(all_orgs, org_name)
        parent = None if parent_name in TOP else pick_org(all_orgs, parent_name, parent=True)
        before = orgs.org_path(all_orgs, org)
        if parent is not None and _id(parent) in orgs.subtree_ids(all_orgs, _id(org)):
            raise Refused("不能移到它自己或它的下级组织下面（会形成循环）。")
        new_parent_id = parent.id if parent else None
        if new_parent_id == org.parent_id:
            raise Refused(f"「{html.escape(before)}」已经在那里了。")
        if orgs.sibling_named(all_orgs, new_parent_id, org.name) is not None:
            raise Refused(f"新上级下已经有「{html.escape(org.name)}」了，请先改名。")
        org.parent_id = new_parent_id
        after = orgs.org_path(all_orgs, org)
        await orgs.audit(
            session=session,
            actor=actor,
            action="org.move",
            object_type="org",
            object_id=org.id,
            before=before,
            after=after,
        )
    return OrgChange(before, after)


async def merge(services: Services, sender: Sender, org_name: str, into_name: str) -> OrgChange:
    async with services.session() as session:
        actor = await acting_member(session, services, sender, Role.admin)
        all_orgs = await orgs.list_orgs(session=session)
        gone, into = pick_org(all_orgs, org_name), pick_org(all_orgs, into_name)
        before, after = orgs.org_path(all_orgs, gone), orgs.org_path(all_orgs, into)
        if _id(into) in orgs.subtree_ids(all_orgs, _id(gone)):
            raise Refused("不能并入它自己或它的下级组织。")
        children = [o for o in all_orgs if o.parent_id == gone.id]
        clashes = [c.name for c in children if orgs.sibling_named(all_orgs, into.id, c.name) is not None]
        if clashes:
            names = "、".join(html.escape(n) for n in clashes)
            raise Refused(f"「{html.escape(after)}」下已有同名的下级组织：{names}。请先改名。")
        now = services.clock.now()
        for child in children:
            child.parent_id = into.id
        members = await orgs.move_members(session=session, from_id=_id(gone), to_id=_id(into))
        schedules = await orgs.repoint_schedules(
            session=session, from_id=_id(gone), to_id=_id(into), pause=False
        )
        revoked = await invite_repo.revoke_org_invites(session=session, org_ids=[_id(gone)], now=now)
        await orgs.move_groups(session=session, from_id=_id(gone), to_id=_id(into))
        gone.archived_at = now
        await orgs.audit(
            session=session,
            actor=actor,
            action="org.merge",
            object_type="org",
            object_id=gone.id,
            detail=f"members={members} children={len(children)} invites_revoked={revoked}",
            before=before,
            after=after,
        )
    await _rebuild(services)
    return OrgChange(before, after, members, len(children), revoked, schedules)


async def archive(services: Services, sender: Sender, org_name: str) -> OrgChange:
    async with services.session() as session:
        actor = await acting_member(session, services, sender, Role.admin)
        all_orgs = await orgs.list_orgs(session=session)
        org = pick_org(all_orgs, org_name)
        path = orgs.org_path(all_orgs, org)
        if _id(org) == actor.org_id:
            raise Refused("不能撤销您自己所在的组织。")
        if any(o.parent_id == org.id for o in all_orgs):
            raise Refused(f"「{html.escape(path)}」还有下级组织：请先移走、合并或撤销它们。")
        active = (await orgs.member_counts(session=session)).get(_id(org), 0)
        if active:
            raise Refused(
                f"「{html.escape(path)}」还有 {active} 名成员：请先转接（/member move）或停用，"
                "或用 /org merge 把它并入另一个组织。"
            )
        now = services.clock.now()
        revoked = await invite_repo.revoke_org_invites(session=session, org_ids=[_id(org)], now=now)
        schedules = await orgs.repoint_schedules(session=session, from_id=_id(org), to_id=None, pause=True)
        await orgs.move_groups(session=session, from_id=_id(org), to_id=None)
        org.archived_at = now
        await orgs.audit(
            session=session,
            actor=actor,
            action="org.archive",
            object_type="org",
            object_id=org.id,
            detail=f"invites_revoked={revoked} schedules_paused={schedules}",
            before=path,
            after="撤销",
        )
    await _rebuild(services)
    return OrgChange(path, "", revoked_invites=revoked, schedules=schedules)
