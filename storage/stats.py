"""Aggregate queries for digests, readiness and exports (keyword-only, over a session).

Every record query is bounded by a date range and served by ix_record_org_date (or
ix_record_member_date for one member), so its cost follows the period's records, not history.
Counting happens in SQL (GROUP BY); Python only sees one row per group.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, case, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DutyRecord, Evidence, Leave, Member, Org

# Ids per IN (...) list: well below SQLite's and asyncpg's bind-parameter limits.
CHUNK = 2000


@dataclass(frozen=True)
class RecordScope:
    """Which records count: those of `org_ids` (None: every org), or of one member only."""

    org_ids: tuple[int, ...] | None
    member_id: int | None = None

    def conditions(self, start: dt.date, end: dt.date) -> list[Any]:
        conds: list[Any] = [
            DutyRecord.deleted_at.is_(None),  # type: ignore[union-attr]
            DutyRecord.date >= start,
            DutyRecord.date <= end,
        ]
        if self.member_id is not None:
            conds.append(DutyRecord.member_id == self.member_id)
        elif self.org_ids is not None:
            conds.append(DutyRecord.org_id.in_(self.org_ids))  # type: ignore[attr-defined]
        return conds


@dataclass(frozen=True)
class CategoryCount:
    org_id: int
    category: str
    keyword: str | None
    records: int
    issues_found: int
    issues_fixed: int


@dataclass(frozen=True)
class MemberRow:
    id: int
    name: str
    org_id: int
    role: str
    unreachable: bool
    # The join time as the driver returns it (SQLite: text, parsed only when needed; see joined).
    created: Any

    @property
    def joined(self) -> dt.date:
        """The day the member joined (UTC)."""
        if isinstance(self.created, dt.datetime):
            return self.created.date()
        return dt.date.fromisoformat(str(self.created)[:10]) if self.created else dt.date.min


@dataclass(frozen=True)
class LedgerRow:
    org_name: str
    member_name: str
    category: str
    keyword: str | None
    date: dt.date
    participants: int | None
    duration_min: int | None
    issues_found: int | None
    issues_fixed: int | None
    source_text: str
    evidence: int
    created_at: dt.datetime
    updated_at: dt.datetime


async def category_counts(
    *, session: AsyncSession, scope: RecordScope, start: dt.date, end: dt.date
) -> list[CategoryCount]:
    """Records and problems found/fixed per (org, category, form) in [start, end]."""
    r = DutyRecord
    query = (
        select(
            r.org_id,
            r.category,
            r.keyword,
            func.count(),
            func.coalesce(func.sum(r.issues_found), 0),
            func.coalesce(func.sum(r.issues_fixed), 0),
        )
        .where(*scope.conditions(start, end))
        .group_by(r.org_id, r.category, r.keyword)
    )
    rows = (await session.execute(query)).all()
    return [CategoryCount(int(o), c, k, int(n), int(f), int(x)) for o, c, k, n, f, x in rows]


async def reporting_member_ids(
    *, session: AsyncSession, scope: RecordScope, start: dt.date, end: dt.date
) -> set[int]:
    """Members with at least one live record in [start, end]."""
    query = select(DutyRecord.member_id).where(*scope.conditions(start, end)).distinct()
    return {int(m) for m in (await session.execute(query)).scalars()}


async def last_record_dates(
    *, session: AsyncSession, member_ids: Sequence[int], start: dt.date, end: dt.date
) -> dict[int, dt.date]:
    """Each member's latest record date within [start, end] (members without one are absent).

    By member (ix_record_member_date), so only these members' records in the range are read.
    """
    r = DutyRecord
    out: dict[int, dt.date] = {}
    ids = sorted(member_ids)
    for i in range(0, len(ids), CHUNK):
        query = (
            select(r.member_id, func.max(r.date))
            .where(
                r.member_id.in_(ids[i : i + CHUNK]),  # type: ignore[attr-defined]
                r.date >= start,
                r.date <= end,
                r.deleted_at.is_(None),  # type: ignore[union-attr]
            )
            .group_by(r.member_id)
        )
        out.update({int(m): _as_date(d) for m, d in (await session.execute(query)).all()})
    return out


@dataclass(frozen=True)
class WeekActivity:
    org_id: int
    week: int  # index into the week starts asked for
    records: int
    issues_found: int
    issues_fixed: int


async def weekly_activity(
    *, session: AsyncSession, scope: RecordScope, week_starts: Sequence[dt.date]
) -> list[WeekActivity]:
    """Records and problems per (org, week) for consecutive weeks starting on `week_starts`.

    The week is bucketed in SQL (a portable CASE over the boundaries), so at most
    orgs × weeks rows come back whatever the number of records.
    """
    r = DutyRecord
    starts = sorted(week_starts)
    bucket = case(
        *((r.date >= start, index) for index, start in reversed(list(enumerate(starts)))), else_=-1
    ).label("week")
    query = (
        select(
            r.org_id,
            bucket,
            func.count(),
            func.coalesce(func.sum(r.issues_found), 0),
            func.coalesce(func.sum(r.issues_fixed), 0),
        )
        .where(*scope.conditions(starts[0], starts[-1] + dt.timedelta(days=6)))
        .group_by(r.org_id, bucket)
    )
    rows = (await session.execute(query)).all()
    return [WeekActivity(int(o), int(w), int(n), int(f), int(x)) for o, w, n, f, x in rows]


async def member_rows(*, session: AsyncSession, org_ids: Sequence[int] | None) -> list[MemberRow]:
    """Active members of the orgs (all orgs when None), ordered by org and id."""
    m = Member
    query = (
        # created_at raw: parsing 10,000 SQLite timestamps costs more than the query
        select(m.id, m.name, m.org_id, m.role, m.unreachable, type_coerce(m.created_at, String))
        .where(m.active.is_(True))  # type: ignore[attr-defined]
        .order_by(m.org_id, m.id)
    )
    if org_ids is not None:
        query = query.where(m.org_id.in_(org_ids))  # type: ignore[attr-defined]
    return [MemberRow(*row) for row in (await session.execute(query)).all()]


async def on_leave_ids(*, session: AsyncSession, start: dt.date, end: dt.date) -> set[int]:
    """Members with a leave (not cancelled) that overlaps [start, end]."""
    query = select(Leave.member_id).where(
        Leave.cancelled.is_(False),  # type: ignore[attr-defined]
        Leave.start <= end,
        Leave.end >= start,
    )
    return {int(m) for m in (await session.execute(query)).scalars()}


@dataclass(frozen=True)
class OrgRow:
    id: int
    name: str
    parent_id: int | None
    kind: str


async def org_rows(*, session: AsyncSession) -> list[OrgRow]:
    """The whole tree as plain rows (cheaper than ORM objects; a tree has a few thousand orgs)."""
    query = select(Org.id, Org.name, Org.parent_id, Org.kind).order_by(Org.id)
    return [OrgRow(*row) for row in (await session.execute(query)).all()]


async def ledger_rows(
    *, session: AsyncSession, scope: RecordScope, start: dt.date, end: dt.date
) -> list[LedgerRow]:
    """Every live record in [start, end] with its org, member and evidence count, in date order."""
    r = DutyRecord
    # Correlated, so it reads only the period's evidence rows (indexed by record_id).
    evidence = select(func.count()).where(Evidence.record_id == r.id).scalar_subquery()
    query = (
        select(
            Org.name,
            Member.name,
            r.category,
            r.keyword,
            r.date,
            r.participants,
            r.duration_min,
            r.issues_found,
            r.issues_fixed,
            r.source_text,
            evidence,
            r.created_at,
            r.updated_at,
        )
        .join(Org, Org.id == r.org_id)
        .join(Member, Member.id == r.member_id)
        .where(*scope.conditions(start, end))
        .order_by(r.org_id, r.date, r.id)
    )
    rows = (await session.execute(query)).all()
    return [
        LedgerRow(
            org_name=o,
            member_name=n,
            category=c,
            keyword=k,
            date=_as_date(d),
            participants=p,
            duration_min=dm,
            issues_found=f,
            issues_fixed=x,
            source_text=s or "",
            evidence=int(e),
            created_at=ca,
            updated_at=ua,
        )
        for o, n, c, k, d, p, dm, f, x, s, e, ca, ua in rows
    ]


def _as_date(value: Any) -> dt.date:
    """SQLite hands MAX(date) back as text; PostgreSQL as a date."""
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
