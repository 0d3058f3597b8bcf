"""Assessment readiness: "if the assessment were today", per target and per sub-org, what is met
this year and what is still missing, so a gap shows months before the year ends.

Every period of the year up to today is evaluated with the targets service, for the targets
counted per that kind of period only (a handful of queries per period, each over that period's
records: the year's records are read about once per kind of period in use). The result is a value
(`Readiness`); an adapter renders it (Telegram: handlers/render_digest.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest import Scope, asker_scope, bound_members
from bot.periods import period_bounds
from bot.targets import UNCOUNTED, TargetStatus, members_statuses, statuses_for_orgs
from storage import orgs as org_repo
from storage import stats
from storage import targets as target_repo

# Years before this are out of range whatever the 起算日期.
EARLIEST_YEAR = 2000

if TYPE_CHECKING:
    from bot.services import Services


@dataclass(frozen=True)
class Tally:
    """One target for one sub-org (or one member): periods met out of those that count so far."""

    line_id: int  # the sub-org's id (or the member's)
    name: str
    subjects: int  # orgs (or members) counted on this line
    met: int
    counted: int
    gaps: int  # subjects with a missed period
    missing: tuple[dt.date, ...]  # missed period starts, in order
    current: TargetStatus | None  # the open period, when not yet met


@dataclass(frozen=True)
class TargetReadiness:
    target_id: int
    name: str
    period: str
    required: int
    subject: str
    rows: tuple[Tally, ...]  # by line id (sub-org id or member id)

    @property
    def complete(self) -> bool:
        return all(t.met == t.counted and t.current is None for t in self.rows)


@dataclass(frozen=True)
class Readiness:
    """ "If the assessment were today": the year's targets up to `on` (today, or the year's end)."""

    scope: Scope
    year: int
    today: dt.date
    items: tuple[TargetReadiness, ...]

    @property
    def on(self) -> dt.date:
        return min(self.today, dt.date(max(self.year, 1), 12, 31))

    @property
    def started(self) -> bool:
        return self.year <= self.today.year

    @property
    def before_start(self) -> bool:
        """The whole year ended before the scope's 起算日期 (or before 2000): nothing to count."""
        return self.year < EARLIEST_YEAR or (
            self.scope.start is not None and self.year < self.scope.start.year
        )


@dataclass
class _Tally:
    name: str
    subjects: set[int] = field(default_factory=set)
    met: int = 0
    counted: int = 0
    gaps: set[int] = field(default_factory=set)
    missing: list[dt.date] = field(default_factory=list)
    current: TargetStatus | None = None

    def freeze(self, line_id: int) -> Tally:
        return Tally(
            line_id,
            self.name,
            len(self.subjects),
            self.met,
            self.counted,
            len(self.gaps),
            tuple(sorted(self.missing)),
            self.current,
        )


@dataclass
class _Target:
    target_id: int
    name: str
    period: str
    required: int
    subject: str
    rows: dict[int, _Tally] = field(default_factory=dict)

    def freeze(self) -> TargetReadiness:
        rows = tuple(self.rows[line].freeze(line) for line in sorted(self.rows))
        return TargetReadiness(self.target_id, self.name, self.period, self.required, self.subject, rows)


def _period_starts(kind: str, year: int, on: dt.date) -> list[dt.date]:
    starts, day = [], dt.date(year, 1, 1)
    while day <= on:
        start, end = period_bounds(kind, day)
        starts.append(start)
        day = end + dt.timedelta(days=1)
    return starts


async def build_readiness(
    *, session: AsyncSession, scope: Scope, year: int, today: dt.date
) -> list[TargetReadiness]:
    """Per target, per sub-org (or for one member): met and missing periods of `year` up to today."""
    if year > today.year or year < EARLIEST_YEAR:
        return []
    on = min(today, dt.date(year, 12, 31))
    targets = await target_repo.list_targets(session=session)
    if not targets:
        return []
    all_orgs = await stats.org_rows(session=session)
    names = {o.id: o.name for o in all_orgs}
    members = await stats.member_rows(session=session, org_ids=None if scope.everything else scope.org_ids)
    if scope.member_id is not None:
        members = [m for m in members if m.id == scope.member_id]
    else:
        members = await bound_members(session=session, members=members, all_orgs=all_orgs)
    # Each org's sub-org line: the direct child of the root whose subtree holds it (root: itself).
    owner: dict[int, int] = {scope.root_id: scope.root_id}
    for child in sorted(o.id for o in all_orgs if o.parent_id == scope.root_id):
        for org_id in org_repo.subtree_ids(all_orgs, child):
            owner[org_id] = child

    seen: set[tuple[int, str, int, dt.date]] = set()
    result: dict[tuple[int, str], _Target] = {}
    # Each period of each kind, judged on its last day (or today for the open one), so leave
    # excuses only the periods it fell in.
    periods = sorted(
        {(start, kind) for kind in {t.period for t in targets} for start in _period_starts(kind, year, on)}
    )
    for start, kind in periods:
        judged_on = min(today, period_bounds(kind, start)[1])
        statuses: list[tuple[int, TargetStatus]] = []
        if scope.member_id is None:
            by_org = await statuses_for_orgs(
                session=session, org_ids=list(scope.org_ids), on=judged_on, period_of=start, period=kind
            )
            statuses += [(org_id, s) for org_id, found in by_org.items() for s in found]
        by_member = await members_statuses(
            session=session,
            members=members,
            on=judged_on,
            period_of=start,
            period=kind,
            org_targets=scope.member_id is not None,  # orgs were judged above
        )
        for member_id, found in by_member.items():
            statuses += [(member_id, s) for s in found]
        for subject_id, s in statuses:
            key = (s.target_id, s.subject, subject_id, s.period_start)
            if s.period_start != start or key in seen or s.state in UNCOUNTED:
                continue
            seen.add(key)
            item = result.setdefault(
                (s.target_id, s.subject),
                _Target(s.target_id, s.name, s.period, s.required, s.subject),
            )
            line = subject_id if scope.member_id is not None else owner.get(s.org_id, scope.root_id)
            tally = item.rows.setdefault(line, _Tally(names.get(line, "")))
            tally.subjects.add(subject_id)
            met = s.state in ("done", "exempt")
            if s.period_end >= today and not met:
                tally.current = s
                continue
            tally.counted += 1
            if met:
                tally.met += 1
            else:
                tally.gaps.add(subject_id)
                tally.missing.append(s.period_start)
    return [r.freeze() for r in sorted(result.values(), key=lambda r: (r.target_id, r.subject))]


async def readiness(*, session: AsyncSession, scope: Scope, year: int, today: dt.date) -> Readiness:
    items = await build_readiness(session=session, scope=scope, year=year, today=today)
    return Readiness(scope, year, today, tuple(items))


async def asked_readiness(
    services: Services,
    *,
    telegram_id: int,
    year: int,
    org_name: str | None = None,
    org_id: int | None = None,
) -> Readiness:
    """/readiness: the asker's readiness for `year` (the org by name, or by id from a button).
    Raises ScopeError when the asker may not see it."""
    today = services.clock.now().date()
    async with services.session(read_only=True) as session:
        scope, _ = await asker_scope(
            session=session, services=services, telegram_id=telegram_id, org_name=org_name, org_id=org_id
        )
        return await readiness(session=session, scope=scope, year=year, today=today)
