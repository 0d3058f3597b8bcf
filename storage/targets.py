"""Repository functions for targets, leave and exemptions (keyword-only, over a session)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import serialize
from storage.models import AuditLog, DutyRecord, Exemption, Leave, Member, Org, Target, id_col
from storage.orgs import audit
from storage.stats import counted

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
                counted(),
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
        # An archived org answers for no target any more (its records stay in the history).
        query = select(id_col(Org.id), col(Org.kind), col(Org.counting_start)).where(
            col(Org.id).in_(part), col(Org.archived_at).is_(None)
        )
        rows = await session.execute(query)
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
) -> dict[tuple[int, int, dt.date], str]:
    """(member id, target id, period start) -> reason of the exemptions among these (a rejected
    one does not count)."""
    starts = sorted(set(starts))
    if not target_ids or not starts:
        return {}
    out: dict[tuple[int, int, dt.date], str] = {}
    for part in chunks(list(member_ids)):
        rows = await session.execute(
            select(
                col(Exemption.member_id),
                col(Exemption.target_id),
                col(Exemption.period_start),
                col(Exemption.reason),
            ).where(
                col(Exemption.member_id).in_(part),
                col(Exemption.target_id).in_(list(target_ids)),
                col(Exemption.period_start).in_(starts),
                col(Exemption.rejected_at).is_(None),
            )
        )
        out.update({(row[0], row[1], _day(row[2])): row[3] for row in rows})
    return out


async def exemptions_by_org(
    *, session: AsyncSession, org_ids: Sequence[int], target_ids: Sequence[int], starts: Iterable[dt.date]
) -> dict[tuple[int, int, dt.date], str]:
    """(org id, target id, period start) -> reason where any member of the org recorded an
    exemption (not rejected)."""
    starts = sorted(set(starts))
    if not target_ids or not starts:
        return {}
    out: dict[tuple[int, int, dt.date], str] = {}
    for part in chunks(list(org_ids)):
        rows = await session.execute(
            select(
                col(Member.org_id),
                col(Exemption.target_id),
                col(Exemption.period_start),
                col(Exemption.reason),
            )
            .join(Member, col(Member.id) == col(Exemption.member_id))
            .where(
                col(Member.org_id).in_(part),
                col(Exemption.target_id).in_(list(target_ids)),
                col(Exemption.period_start).in_(starts),
                col(Exemption.rejected_at).is_(None),
            )
            .order_by(col(Exemption.id))
        )
        for row in rows:
            out.setdefault((row[0], row[1], _day(row[2])), row[3])
    return out


def _day(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


async def find_exemption(
    *, session: AsyncSession, member_id: int, target_id: int, period_start: dt.date
) -> Exemption | None:
    query = select(Exemption).where(
        col(Exemption.member_id) == member_id,
        col(Exemption.target_id) == target_id,
        col(Exemption.period_start) == period_start,
    )
    return (await session.execute(query)).scalar_one_or_none()


async def exemption_by_prompt(*, session: AsyncSession, member_id: int, message_id: int) -> Exemption | None:
    """The member's exemption whose reason the bot asked for with message `message_id`."""
    query = select(Exemption).where(
        col(Exemption.member_id) == member_id, col(Exemption.prompt_message_id) == message_id
    )
    return (await session.execute(query.limit(1))).scalar_one_or_none()


# --- leave ------------------------------------------------------------------------------------
def _counts_on(day: Any) -> ColumnElement[bool]:
    """A leave counts on `day` (a date or a column): approved, or a day from its registration on."""
    return or_(col(Leave.status) == "approved", col(Leave.entered_on).is_(None), col(Leave.entered_on) <= day)


async def add_leave(
    *,
    session: AsyncSession,
    member: Member,
    start: dt.date,
    end: dt.date,
    reason: str = "",
    entered_on: dt.date | None = None,
    status: str = "approved",
) -> Leave:
    assert member.id is not None  # a member read from the database
    leave = Leave(
        member_id=member.id, start=start, end=end, reason=reason[:200], entered_on=entered_on, status=status
    )
    session.add(leave)
    await session.flush()
    await audit(
        session=session,
        actor=member,
        action="leave.add",
        object_type="leave",
        object_id=leave.id,
        detail=f"{start.isoformat()}..{end.isoformat()} {status}",
    )
    return leave


async def decide_leave(*, session: AsyncSession, leave: Leave, approve: bool, actor: Member) -> None:
    """A secretary approves or refuses backfilled leave (refused: it counts from its registration)."""
    leave.status = "approved" if approve else "refused"
    leave.decided_by = actor.id
    session.add(leave)
    await audit(
        session=session,
        actor=actor,
        action="leave.approve" if approve else "leave.refuse",
        object_type="leave",
        object_id=leave.id,
        detail=f"{leave.start.isoformat()}..{leave.end.isoformat()}",
    )
    await session.flush()


async def leave_spans(
    *, session: AsyncSession, member_ids: Sequence[int] | None, start: dt.date, end: dt.date
) -> dict[int, list[tuple[dt.date, dt.date]]]:
    """Each member's leave days within [start, end] that count, as (first, last) spans: leave not
    cancelled, and for backfilled leave not approved only the days from its registration on."""
    query = select(
        col(Leave.member_id), col(Leave.start), col(Leave.end), col(Leave.status), col(Leave.entered_on)
    ).where(
        col(Leave.cancelled).is_(False),
        col(Leave.start) <= end,
        col(Leave.end) >= start,
        _counts_on(end),
    )
    out: dict[int, list[tuple[dt.date, dt.date]]] = {}
    parts = [None] if member_ids is None else list(chunks(list(member_ids)))
    for part in parts:
        rows = await session.execute(query if part is None else query.where(col(Leave.member_id).in_(part)))
        for mid, first, last, status, entered in rows:
            first, last = max(_day(first), start), min(_day(last), end)
            if status != "approved" and entered is not None:
                first = max(first, _day(entered))
            if first <= last:
                out.setdefault(int(mid), []).append((first, last))
    return out


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
                _counts_on(on),
            )
            .distinct()
        )
        out.update(row[0] for row in rows)
    return out
