"""Repository functions for the organisation tree and its members (keyword-only, over a session)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import AuditLog, GroupChat, Member, Org, OrgKind, Role


async def create_org(
    *, session: AsyncSession, name: str, parent: Org | None = None, kind: str | None = None
) -> Org:
    if kind is None:
        kind = OrgKind.committee if parent is None else OrgKind.branch
    org = Org(name=name, parent_id=parent.id if parent else None, kind=kind)
    session.add(org)
    await session.flush()
    return org


async def get_org(*, session: AsyncSession, org_id: int) -> Org | None:
    return await session.get(Org, org_id)


async def get_org_by_name(*, session: AsyncSession, name: str) -> Org | None:
    return (await session.execute(select(Org).where(col(Org.name) == name))).scalar_one_or_none()


async def list_orgs(*, session: AsyncSession) -> list[Org]:
    return list((await session.execute(select(Org).order_by(col(Org.id)))).scalars())


class TreeNode(Protocol):
    """Anything with an org's id and parent: an Org row or a plain stats.OrgRow."""

    @property
    def id(self) -> int | None: ...
    @property
    def parent_id(self) -> int | None: ...


def subtree_ids(orgs: Sequence[TreeNode], root_id: int) -> list[int]:
    """Ids of `root_id` and every org below it, root first (breadth-first)."""
    children: dict[int | None, list[int]] = {}
    for org in orgs:
        org_id = org.id
        assert org_id is not None  # read from the database, so flushed
        children.setdefault(org.parent_id, []).append(org_id)
    out, queue = [], [root_id]
    while queue:
        current = queue.pop(0)
        out.append(current)
        queue.extend(sorted(children.get(current, [])))
    return out


async def org_subtree_ids(*, session: AsyncSession, root_id: int) -> list[int]:
    return subtree_ids(await list_orgs(session=session), root_id)


async def get_member(*, session: AsyncSession, telegram_id: int) -> Member | None:
    return (
        await session.execute(select(Member).where(col(Member.telegram_id) == telegram_id))
    ).scalar_one_or_none()


async def create_member(
    *,
    session: AsyncSession,
    telegram_id: int,
    name: str,
    org: Org,
    role: str = Role.cadre,
    username: str | None = None,
) -> Member:
    assert org.id is not None  # the org is flushed (read or created through this module)
    member = Member(telegram_id=telegram_id, name=name, org_id=org.id, role=role, username=username)
    session.add(member)
    await session.flush()
    return member


async def admins_by_setting(*, session: AsyncSession) -> list[Member]:
    query = select(Member).where(col(Member.admin_by_setting).is_(True)).order_by(col(Member.id))
    return list((await session.execute(query)).scalars())


async def list_members(*, session: AsyncSession, org_ids: list[int] | None = None) -> list[Member]:
    query = select(Member).where(col(Member.active).is_(True)).order_by(col(Member.org_id), col(Member.id))
    if org_ids is not None:
        query = query.where(col(Member.org_id).in_(org_ids))
    return list((await session.execute(query)).scalars())


async def audit(
    *,
    session: AsyncSession,
    actor: Member | None,
    action: str,
    object_type: str = "",
    object_id: int | None = None,
    detail: str = "",
) -> None:
    session.add(
        AuditLog(
            actor_id=actor.id if actor else None,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=detail,
        )
    )


async def get_org_by_group_chat(*, session: AsyncSession, chat_id: int) -> Org | None:
    """The org a group chat is bound to, if any."""
    query = (
        select(Org)
        .join(GroupChat, col(GroupChat.org_id) == col(Org.id))
        .where(col(GroupChat.chat_id) == chat_id)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def bind_group_chat(
    *, session: AsyncSession, chat_id: int, org: Org, by: Member | None, now: dt.datetime
) -> None:
    """Bind a group chat to `org` (moved from the org it was bound to, if any); the org's other
    groups stay bound."""
    assert org.id is not None  # read from the database
    row = await session.get(GroupChat, chat_id)
    if row is None:
        row = GroupChat(chat_id=chat_id, org_id=org.id)
        session.add(row)
    row.org_id, row.bound_by, row.bound_at = org.id, by.id if by else None, now.astimezone(dt.UTC)
    await session.flush()


async def group_counts(*, session: AsyncSession) -> dict[int, int]:
    """Bound group chats per org id."""
    query = select(col(GroupChat.org_id), func.count()).group_by(col(GroupChat.org_id))
    return {org_id: int(n) for org_id, n in (await session.execute(query)).all()}


async def secretaries_of(*, session: AsyncSession, org_id: int) -> list[Member]:
    """The active secretaries of one org (not those above it)."""
    query = (
        select(Member)
        .where(col(Member.org_id) == org_id, col(Member.role) == Role.secretary, col(Member.active).is_(True))
        .order_by(col(Member.id))
    )
    return list((await session.execute(query)).scalars())


async def first_root_org(*, session: AsyncSession) -> Org | None:
    query = select(Org).where(col(Org.parent_id).is_(None)).order_by(col(Org.id)).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


async def member_counts(*, session: AsyncSession) -> dict[int, int]:
    """Active members per org id."""
    query = (
        select(col(Member.org_id), func.count())
        .where(col(Member.active).is_(True))
        .group_by(col(Member.org_id))
    )
    return {org_id: int(n) for org_id, n in (await session.execute(query)).all()}
