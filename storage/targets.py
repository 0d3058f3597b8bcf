"""Repository functions for targets, leave and exemptions (keyword-only, over a session)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import serialize
from storage.models import AuditLog, DutyRecord, Exemption, Leave, Member, Org, Target, id_col
from storage.orgs import audit

SEEDED_ACTION = "targets.seeded"
# Ids per IN (...) list: well below SQLite's and asyncpg's bind-parameter limits.
CHUNK = 2000

TARGET_FIELDS = ("name", "category", "form", "count", "period", "org_kind", "role", "scope")


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield list(ids[i : i + size])


# --- targets ------------------------------------------------------------------------------------
async def list_targets(*, session: AsyncSession, include_removed: bool = False) -> list[Target]:
    query = select(Target).order_by(col(Target.id))
    if not include_removed:
        query = query.where(col(Target.active).is_(True))
    return list((await session.execute(query)).scalars())


async def get_target(*, session: AsyncSession, target_id: int) -> Target | None:
    return await session.get(Target, target_id)


async def add_target(*, session: AsyncSession, actor: Member | None = None, **fields: Any) -> Target:
    target = Target(**{k: fields[k] for k in TARGET_FIELDS if k in fields})
    session.add(target)
    await session.flush()
    await audit(
        session=session,
        actor=actor,
        action="target.set",
        object_type="target",
        object_id=target.id,
        detail=describe_row(target),
    )
    return target


async def set_target(
    *, session: AsyncSession, actor: Member | None = None, **fields: Any
) -> tuple[Target, bool]:
    """Add a target, or update the count and period of the active one with the same subject and
    binding (category, form, org kind, role, scope). Returns (target, created)."""
    query = select(Target).where(col(Target.active).is_(True))
    for key in ("category", "form", "org_kind", "role", "scope"):
        value = fields.get(key)
        column = getattr(Target, key)
        query = query.where(column.is_(None) if value is None else column == value)
    existing = (await session.execute(query.order_by(col(Target.id)).limit(1))).scalar_one_or_none()
    if existing is None:
        return await add_target(session=session, actor=actor, **fields), True
    for key in ("name", "count", "period"):
        setattr(existing, key, fields[key])
    session.add(existing)
    await session.flush()
    await audit(
        session=session,
        actor=actor,
        action="target.set",
        object_type="target",
        object_id=existing.id,
        detail=describe_row(existing),
    )
    return existing, False


async def remove_target(
    *, session: AsyncSession, target_id: int, actor: Member | None = None
) -> Target | None:
    """Deactivate a target (kept as a row: exemptions refer to it). None when there is no such target."""
    target = await session.get(Target, target_id)
    if target is None or not target.active:
        return None
    target.active = False
    session.add(target)
    await audit(
        session=session,
        actor=actor,
        action="target.remove",
        object_type="target",
        object_id=target.id,
        detail=describe_row(target),
    )
    await session.flush()
    return target


def describe_row(target: Target) -> str:
    return ",".join(f"{k}={getattr(target, k)}" for k in TARGET_FIELDS)


async def seed_defaults(*, session: AsyncSession, defaults: list[dict[str, Any]]) -> int:
    """Add the shipped default targets once. Returns how many were added (0 when seeded before).

    Seeding is recorded with an audit row, and skipped whenever any target row exists (removed
    targets stay as inactive rows), so targets an admin removed never come back. On PostgreSQL a
    transaction-scoped advisory lock keeps replicas starting together from seeding twice.
    """
    await serialize(session, "seed-targets")
    seeded = await session.execute(
        select(col(AuditLog.id)).where(col(AuditLog.action) == SEEDED_ACTION).limit(1)
    )
    if seeded.first() is not None:
        return 0
    if (await session.execute(select(col(Target.id)).limit(1))).first() is not None:
        await audit(session=session, actor=None, action=SEEDED_ACTION, detail="targets already present")
        return 0
    for row in defaults:
        session.add(Target(**{k: row[k] for k in TARGET_FIELDS if k in row}))
    await audit(session=session, actor=None, action=SEEDED_ACTION, detail=f"{len(defaults)} default targets")
    await session.flush()
    return len(defaults)


# --- records counted for targets --------------------------------------------------------------
async def record_counts(
    *,
    session: AsyncSession,
    by: str,
    ids: Sequence[int],
    start: dt.date,
    end: dt.date,
    categories: Iterable[str] | None = None,
) -> list[tuple[int, str, str | None, int]]:
    """Live records between start and end (inclusive) grouped as (member or org id, category, keyword, n).

    `by` is "member" or "org"; one query per chunk of ids.
    """
    column = col(DutyRecord.member_id) if by == "member" else col(DutyRecord.org_id)
    cats = sorted(set(categories)) if categories is not None else None
    out: list[tuple[int, str, str | None, int]] = []
    for part in chunks(list(ids)):
        query = (
            select(column, col(DutyRecord.category), col(DutyRecord.keyword), func.count())
            .where(
                column.in_(part),
                col(DutyRecord.date) >= start,
                col(DutyRecord.date) <= end,
                col(DutyRecord.deleted_at).is_(None),
            )
            .group_by(column, col(DutyRecord.category), col(DutyRecord.keyword))
        )
        if cats is not None:
            query = query.where(col(DutyRecord.category).in_(cats))
        out.extend((row[0], row[1], row[2], row[3]) for row in await session.execute(query))
    return out


async def org_kinds(
    *, session: AsyncSession, org_ids: Sequence[int]
) -> dict[int, tuple[str, dt.date | None]]:
    """Each org's kind and 起算日期 (None: every period counts)."""
    out: dict[int, tuple[str, dt.date | None]] = {}
    for part in chunks(sorted(set(org_ids))):
        rows = await session.execute(
            select(id_col(Org.id), col(Org.kind), col(Org.counting_start)).where(col(Org.id).in_(part))
        )
        out.update({row[0]: (row[1], row[2]) for row in rows})
    return out


# --- exemptions (本期不涉及) ---------------------------------------------------------------------
async def add_exemption(
    *, session: AsyncSession, member_id: int, target_id: int, period_start: dt.date, reason: str = ""
) -> bool:
    """Record an exemption; False when it was already there (idempotent, also under a race)."""
    exists = await session.execute(
        select(col(Exemption.id)).where(
            col(Exemption.member_id) == member_id,
            col(Exemption.target_id) == target_id,
            col(Exemption.period_start) == period_start,
        )
    )
    if exists.first() is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(
                Exemption(
                    member_id=member_id, target_id=target_id, period_start=period_start, reason=reason[:200]
                )
            )
    except IntegrityError:
        return False
    return True


async def exemptions_by_member(
    *, session: AsyncSession, member_ids: Sequence[int], target_ids: Sequence[int], starts: Iterable[dt.date]
) -> set[tuple[int, int, dt.date]]:
    """(member id, target id, period start) of exemptions among these."""
    starts = sorted(set(starts))
    if not target_ids or not starts:
        return set()
    out: set[tuple[int, int, dt.date]] = set()
    for part in chunks(list(member_ids)):
        rows = await session.execute(
            select(col(Exemption.member_id), col(Exemption.target_id), col(Exemption.period_start)).where(
                col(Exemption.member_id).in_(part),
                col(Exemption.target_id).in_(list(target_ids)),
                col(Exemption.period_start).in_(starts),
            )
        )
        out.update((row[0], row[1], row[2]) for row in rows)
    return out


async def exemptions_by_org(
    *, session: AsyncSession, org_ids: Sequence[int], target_ids: Sequence[int], starts: Iterable[dt.date]
) -> set[tuple[int, int, dt.date]]:
    """(org id, target id, period start) where any member of the org recorded an exemption."""
    starts = sorted(set(starts))
    if not target_ids or not starts:
        return set()
    out: set[tuple[int, int, dt.date]] = set()
    for part in chunks(list(org_ids)):
        rows = await session.execute(
            select(col(Member.org_id), col(Exemption.target_id), col(Exemption.period_start))
            .join(Member, col(Member.id) == col(Exemption.member_id))
            .where(
                col(Member.org_id).in_(part),
                col(Exemption.target_id).in_(list(target_ids)),
                col(Exemption.period_start).in_(starts),
            )
        )
        out.update((row[0], row[1], row[2]) for row in rows)
    return out


# --- leave ------------------------------------------------------------------------------------
async def add_leave(
    *, session: AsyncSession, member: Member, start: dt.date, end: dt.date, reason: str = ""
) -> Leave:
    assert member.id is not None  # a member read from the database
    leave = Leave(member_id=member.id, start=start, end=end, reason=reason[:200])
    session.add(leave)
    await session.flush()
    await audit(
        session=session,
        actor=member,
        action="leave.add",
        object_type="leave",
        object_id=leave.id,
        detail=f"{start.isoformat()}..{end.isoformat()}",
    )
    return leave


async def list_leaves(*, session: AsyncSession, member_id: int, since: dt.date) -> list[Leave]:
    """The member's leave that has not ended before `since`, not cancelled, earliest first."""
    rows = await session.execute(
        select(Leave)
        .where(col(Leave.member_id) == member_id, col(Leave.cancelled).is_(False), col(Leave.end) >= since)
        .order_by(col(Leave.start), col(Leave.id))
    )
    return list(rows.scalars())


async def cancel_leaves(*, session: AsyncSession, member: Member, since: dt.date) -> list[Leave]:
    """Cancel the member's current and future leave; returns what was cancelled."""
    assert member.id is not None  # a member read from the database
    leaves = await list_leaves(session=session, member_id=member.id, since=since)
    for leave in leaves:
        leave.cancelled = True
        session.add(leave)
        await audit(
            session=session,
            actor=member,
            action="leave.cancel",
            object_type="leave",
            object_id=leave.id,
            detail=f"{leave.start.isoformat()}..{leave.end.isoformat()}",
        )
    await session.flush()
    return leaves


async def members_on_leave(*, session: AsyncSession, member_ids: Sequence[int], on: dt.date) -> set[int]:
    out: set[int] = set()
    for part in chunks(list(member_ids)):
        rows = await session.execute(
            select(col(Leave.member_id))
            .where(
                col(Leave.member_id).in_(part),
                col(Leave.cancelled).is_(False),
                col(Leave.start) <= on,
                col(Leave.end) >= on,
            )
            .distinct()
        )
        out.update(row[0] for row in rows)
    return out
