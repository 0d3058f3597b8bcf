"""Aggregate queries for digests, readiness and exports (keyword-only, over a session).

Every record query is bounded by a date range and served by ix_record_org_date (or
ix_record_member_date for one member), so its cost follows the period's records, not history.
Counting happens in SQL (GROUP BY); Python only sees one row per group.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import DutyRecord, Evidence, Member, Org, id_col

# Ids per IN (...) list: well below SQLite's and asyncpg's bind-parameter limits.
CHUNK = 2000


def counted() -> ColumnElement[bool]:
    """A record counts unless a secretary returned it (退回) and it is not fixed or accepted yet."""
    return or_(col(DutyRecord.review_status).is_(None), col(DutyRecord.review_status) != "returned")


@dataclass(frozen=True)
class RecordScope:
    """Which records count: those of `org_ids` (None: every org), or of one member only."""

    org_ids: tuple[int, ...] | None
    member_id: int | None = None

    def conditions(
        self, start: dt.date, end: dt.date, *, returned: bool = False
    ) -> list[ColumnElement[bool]]:
        """Live records dated in [start, end]; `returned`: also those a secretary returned (退回),
        which count for nothing until fixed or accepted."""
        conds = [
            col(DutyRecord.deleted_at).is_(None),
            col(DutyRecord.date) >= start,
            col(DutyRecord.date) <= end,
        ]
        if not returned:
            conds.append(counted())
        if self.member_id is not None:
            conds.append(col(DutyRecord.member_id) == self.member_id)
        elif self.org_ids is not None:
            conds.append(col(DutyRecord.org_id).in_(self.org_ids))
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
    joined_on: dt.date | None
    org_start: dt.date | None  # the org's 起算日期

    @property
    def start(self) -> dt.date:
        """The first day this member's figures count: the later of joining and the org's start."""
        return max(self.joined_on or dt.date.min, self.org_start or dt.date.min)


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
    review_status: str | None = None
    review_opinion: str | None = None
    topic: str | None = None
    host: str | None = None
    recorder: str | None = None
    expected_count: int | None = None
    absent_count: int | None = None
    absent_reasons: str | None = None
    place: str | None = None


async def category_counts(
    *, session: AsyncSession, scope: RecordScope, start: dt.date, end: dt.date
) -> list[CategoryCount]:
    """Records and problems found/fixed per (org, category, form) in [start, end]."""
    r = DutyRecord
    query = (
        select(
            col(r.org_id),
            col(r.category),
            col(r.keyword),
            func.count(),
            _total(r.issues_found),
            _total(r.issues_fixed),
        )
        .where(*scope.conditions(start, end))
        .group_by(col(r.org_id), col(r.category), col(r.keyword))
    )
    rows = (await session.execute(query)).all()
    return [CategoryCount(int(o), c, k, int(n), int(f), int(x)) for o, c, k, n, f, x in rows]


async def records_entered_after(
    *, session: AsyncSession, scope: RecordScope, start: dt.date, end: dt.date, after: dt.datetime
) -> int:
    """Live records dated in [start, end] entered at or after `after` (late reports)."""
    query = select(func.count()).where(*scope.conditions(start, end), col(DutyRecord.created_at) >= after)
    return int((await session.execute(query)).scalar_one())


async def reporting_member_ids(
    *, session: AsyncSession, scope: RecordScope, start: dt.date, end: dt.date
) -> set[int]:
    """Members with at least one live record in [start, end]."""
    query = select(col(DutyRecord.member_id)).where(*scope.conditions(start, end)).distinct()
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
            select(col(r.member_id), func.max(r.date))
            .where(
                col(r.member_id).in_(ids[i : i + CHUNK]),
                col(r.date) >= start,
                col(r.date) <= end,
                col(r.deleted_at).is_(None),
                counted(),
            )
            .group_by(col(r.member_id))
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
    *, session: AsyncSession, scope: RecordScope, week_starts: Sequence[dt.date], until: dt.date | None = None
) -> list[WeekActivity]:
    """Records and problems per (org, week) for consecutive weeks starting on `week_starts`.

    The week is bucketed in SQL (a portable CASE over the boundaries), so at most
    orgs × weeks rows come back whatever the number of records.
    """
    r = DutyRecord
    starts = sorted(week_starts)
    bucket = case(
        *((col(r.date) >= start, index) for index, start in reversed(list(enumerate(starts)))), else_=-1
    ).label("week")
    query = (
        select(
            col(r.org_id),
            bucket,
            func.count(),
            _total(r.issues_found),
            _total(r.issues_fixed),
        )
        .where(*scope.conditions(starts[0], min(starts[-1] + dt.timedelta(days=6), until or dt.date.max)))
        .group_by(col(r.org_id), bucket)
    )
    rows = (await session.execute(query)).all()
    return [WeekActivity(int(o), int(w), int(n), int(f), int(x)) for o, w, n, f, x in rows]


async def member_rows(*, session: AsyncSession, org_ids: Sequence[int] | None) -> list[MemberRow]:
    """Active members of the orgs (all orgs when None), ordered by org and id."""
    m = Member
    query = (
        select(
            id_col(m.id),
            col(m.name),
            col(m.org_id),
            col(m.role),
            col(m.unreachable),
            col(m.joined_on),
            col(Org.counting_start),
        )
        .join(Org, col(Org.id) == col(m.org_id))
        .where(col(m.active).is_(True))
        .order_by(col(m.org_id), col(m.id))
    )
    if org_ids is not None:
        query = query.where(col(m.org_id).in_(org_ids))
    return [
        MemberRow(i, n, o, r, u, _as_date(j) if j else None, _as_date(s) if s else None)
        for i, n, o, r, u, j, s in (await session.execute(query)).all()
    ]


@dataclass(frozen=True)
class OrgRow:
    id: int
    name: str
    parent_id: int | None
    kind: str
    archived: bool = False  # kept for the history of periods it existed in; not named any more
    counting_start: dt.date | None = None


async def org_rows(*, session: AsyncSession) -> list[OrgRow]:
    """The whole tree as plain rows (cheaper than ORM objects; a tree has a few thousand orgs),
    archived orgs included: their records belong to the periods they existed in."""
    query = select(
        id_col(Org.id),
        col(Org.name),
        col(Org.parent_id),
        col(Org.kind),
        col(Org.archived_at).is_not(None),
        col(Org.counting_start),
    ).order_by(col(Org.id))
    return [
        OrgRow(i, n, p, k, bool(a), _as_date(s) if s else None)
        for i, n, p, k, a, s in (await session.execute(query)).all()
    ]


async def ledger_rows(
    *, session: AsyncSession, scope: RecordScope, start: dt.date, end: dt.date
) -> list[LedgerRow]:
    """Every live record in [start, end] with its org, member and evidence count, in date order."""
    r = DutyRecord
    # Correlated, so it reads only the period's evidence rows (indexed by record_id).
    evidence = select(func.count()).where(col(Evidence.record_id) == col(r.id)).scalar_subquery()
    query = (
        select(
            col(Org.name),
            col(Member.name),
            col(r.category),
            col(r.keyword),
            col(r.date),
            col(r.participants),
            col(r.duration_min),
            col(r.issues_found),
            col(r.issues_fixed),
            col(r.source_text),
            evidence,
            col(r.created_at),
            col(r.updated_at),
            col(r.review_status),
            col(r.review_opinion),
            col(r.topic),
            col(r.host),
            col(r.recorder),
            col(r.expected_count),
            col(r.absent_count),
            col(r.absent_reasons),
            col(r.place),
        )
        .join(Org, col(Org.id) == col(r.org_id))
        .join(Member, col(Member.id) == col(r.member_id))
        .where(*scope.conditions(start, end, returned=True))
        .order_by(col(r.org_id), col(r.date), col(r.id))
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
            review_status=rs,
            review_opinion=ro,
            topic=t,
            host=h,
            recorder=rc,
            expected_count=ec,
            absent_count=ac,
            absent_reasons=ar,
            place=pl,
        )
        for o, n, c, k, d, p, dm, f, x, s, e, ca, ua, rs, ro, t, h, rc, ec, ac, ar, pl in rows
    ]


def _total(column: int | None) -> ColumnElement[int]:
    """SUM(column), 0 over no rows or only NULLs (COALESCE: never NULL, whatever the column)."""
    return cast("ColumnElement[int]", func.coalesce(func.sum(column), 0))


def _as_date(value: Any) -> dt.date:
    """SQLite hands MAX(date) back as text; PostgreSQL as a date."""
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
