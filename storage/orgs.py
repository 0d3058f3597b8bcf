"""Repository functions for the organisation tree and its members (keyword-only, over a session)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import AuditLog, GroupChat, Member, Org, OrgKind, Role, Schedule
from storage.text import storable


async def create_org(
    *,
    session: AsyncSession,
    name: str,
    parent: Org | None = None,
    kind: str | None = None,
    counting_start: dt.date | None = None,
) -> Org:
    if kind is None:
        kind = OrgKind.committee if parent is None else OrgKind.branch
    org = Org(name=name, parent_id=parent.id if parent else None, kind=kind, counting_start=counting_start)
    session.add(org)
    await session.flush()
    return org


async def get_org(*, session: AsyncSession, org_id: int) -> Org | None:
    return await session.get(Org, org_id)


async def get_org_by_name(*, session: AsyncSession, name: str) -> Org | None:
    """The one live org a name or path (`第二党委/第一支部`) stands for; None when none or several."""
    found = match_orgs(await list_orgs(session=session), name)
    return found[0] if len(found) == 1 else None


async def list_orgs(*, session: AsyncSession, archived: bool = False) -> list[Org]:
    """Live orgs by id (with `archived`, archived ones too)."""
    query = select(Org).order_by(col(Org.id))
    if not archived:
        query = query.where(col(Org.archived_at).is_(None))
    return list((await session.execute(query)).scalars())


class TreeNode(Protocol):
    """Anything with an org's id and parent: an Org row or a plain stats.OrgRow."""

    @property
    def id(self) -> int | None: ...
    @property
    def parent_id(self) -> int | None: ...


class NamedNode(TreeNode, Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=NamedNode)
PATH_SEPARATOR = "/"


def org_path(orgs: Sequence[N], org: N) -> str:
    """`第二党委/第一支部`: the names from the root down to `org`."""
    by_id = {o.id: o for o in orgs}
    names, current, seen = [org.name], org, {org.id}
    while current.parent_id is not None and current.parent_id in by_id and current.parent_id not in seen:
        current = by_id[current.parent_id]
        seen.add(current.id)
        names.append(current.name)
    return PATH_SEPARATOR.join(reversed(names))


def match_orgs(orgs: Sequence[N], text: str) -> list[N]:
    """The orgs `text` can mean: a name, the end of a path (`第二党委/第一支部`, `/第二党委/第一支部`
    from the root), or `#12` (an id, as the choice buttons write it). A name written exactly as
    stored wins (one holding a "/" from before paths; NUL is never stored, so it is not compared)."""
    text = storable(text)
    exact = [o for o in orgs if o.name == text]
    if exact:
        return exact
    text = text.strip()
    if text.startswith("#") and text[1:].isascii() and text[1:].isdigit():
        return [o for o in orgs if o.id == int(text[1:])]
    from_root = text.startswith(PATH_SEPARATOR)
    parts = [p.strip() for p in text.split(PATH_SEPARATOR) if p.strip()]
    if not parts:
        return []
    by_id = {o.id: o for o in orgs}
    out = []
    for org in orgs:
        if org.name != parts[-1]:
            continue
        current: N | None = org
        for part in reversed(parts[:-1]):
            current = by_id.get(current.parent_id) if current is not None else None
            if current is None or current.name != part:
                break
        else:
            if not from_root or current is None or current.parent_id is None:
                out.append(org)
    return out


def sibling_named(orgs: Sequence[N], parent_id: int | None, name: str) -> N | None:
    """The org under `parent_id` (None: the roots) called `name`, if any."""
    return next((o for o in orgs if o.parent_id == parent_id and o.name == name), None)


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
    joined_on: dt.date | None = None,
) -> Member:
    assert org.id is not None  # the org is flushed (read or created through this module)
    member = Member(
        telegram_id=telegram_id, name=name, org_id=org.id, role=role, username=username, joined_on=joined_on
    )
    session.add(member)
    await session.flush()
    return member


async def find_members(
    *, session: AsyncSession, text: str, active: bool, org_ids: Sequence[int] | None = None
) -> list[Member]:
    """Members `text` can mean: a Telegram id (digits), an @username, or a name; active or not."""
    text = text.strip()
    query = select(Member).where(col(Member.active).is_(active)).order_by(col(Member.id))
    if text.isascii() and text.isdigit() and len(text) <= 19:
        query = query.where(col(Member.telegram_id) == int(text))
    elif text.startswith("@"):
        query = query.where(func.lower(col(Member.username)) == text[1:].lower())
    else:
        query = query.where(col(Member.name) == text)
    if org_ids is not None:
        query = query.where(col(Member.org_id).in_(org_ids))
    return list((await session.execute(query)).scalars())


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
    before: str | None = None,
    after: str | None = None,
) -> None:
    """One audit row: who did what to which object; `before` and `after` (what changed, as the
    user reads it) are written into the detail as `before → after`."""
    if before is not None or after is not None:
        change = f"{before or '—'} → {after or '—'}"
        detail = f"{detail} {change}" if detail else change
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


async def move_groups(*, session: AsyncSession, from_id: int, to_id: int | None) -> int:
    """Move every group chat bound to one org to another (None: unbind them); how many."""
    rows = list((await session.execute(select(GroupChat).where(col(GroupChat.org_id) == from_id))).scalars())
    for row in rows:
        if to_id is None:
            await session.delete(row)
        else:
            row.org_id = to_id
    await session.flush()
    return len(rows)


async def group_chats(*, session: AsyncSession) -> list[tuple[int, int]]:
    """Every bound group chat as (chat id, org id)."""
    query = select(col(GroupChat.chat_id), col(GroupChat.org_id)).order_by(col(GroupChat.chat_id))
    return [(int(chat_id), int(org_id)) for chat_id, org_id in (await session.execute(query)).all()]


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
    query = (
        select(Org)
        .where(col(Org.parent_id).is_(None), col(Org.archived_at).is_(None))
        .order_by(col(Org.id))
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def member_counts(*, session: AsyncSession) -> dict[int, int]:
    """Active members per org id."""
    query = (
        select(col(Member.org_id), func.count())
        .where(col(Member.active).is_(True))
        .group_by(col(Member.org_id))
    )
    return {org_id: int(n) for org_id, n in (await session.execute(query)).all()}


async def move_members(*, session: AsyncSession, from_id: int, to_id: int) -> int:
    """Every member (active or not) of one org into another; how many. Records keep their org."""
    result = await session.execute(update(Member).where(col(Member.org_id) == from_id).values(org_id=to_id))
    return int(cast("CursorResult[Any]", result).rowcount)


async def repoint_schedules(*, session: AsyncSession, from_id: int, to_id: int | None, pause: bool) -> int:
    """Schedules scoped to one org now scoped to another (or paused where it was); how many."""
    values: dict[str, Any] = {"paused": True} if pause else {"org_id": to_id}
    result = await session.execute(update(Schedule).where(col(Schedule.org_id) == from_id).values(**values))
    return int(cast("CursorResult[Any]", result).rowcount)


async def audit_page(
    *, session: AsyncSession, offset: int, limit: int
) -> tuple[int, list[tuple[AuditLog, str | None]]]:
    """The audit log newest first: the total, and one page of rows with their actor's name."""
    total = int((await session.execute(select(func.count()).select_from(AuditLog))).scalar_one())
    query = (
        select(AuditLog, col(Member.name))
        .join(Member, col(Member.id) == col(AuditLog.actor_id), isouter=True)
        .order_by(col(AuditLog.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return total, [(row, name) for row, name in (await session.execute(query)).all()]
