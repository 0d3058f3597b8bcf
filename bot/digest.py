"""The secretary's digest: one organisation subtree over one period, as a value (`Digest`).

What it holds (never a ranking of people): members reporting out of all (leave and unreachable
apart); records by category against the previous period; targets done / due / at risk / overdue;
silent members per org with how many periods in a row; problems found against fixed; steadiness
(weeks with activity out of the last 8 per sub-org); activity per member at each level of the tree.
An adapter renders it (Telegram: handlers/render_digest.py).

All counting is done by storage.stats in SQL over the period's date range.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts import bar_chart
from bot.errors import NOT_BOUND, shown
from bot.members import is_bootstrap_admin
from bot.periods import period_bounds
from bot.periods_parse import Period, last_full_week, period_from_bounds, period_of
from bot.roles import Role, has_role
from storage import orgs as org_repo
from storage import stats
from storage import targets as target_repo
from storage.models import ORG_KIND_NAMES, Member
from storage.stats import OrgRow

if TYPE_CHECKING:
    from bot.services import Services
    from bot.targets import TargetStatus

log = logging.getLogger(__name__)

# A silence this many periods long is counted apart when silent members are summarised.
LONG_SILENCE = 4
STEADY_WEEKS = 8
# How many earlier periods are looked at to count a silence "in a row".
STREAK_LOOKBACK = {"week": 8, "month": 6, "quarter": 4, "year": 2, "days": 4}
UNIT = {"week": "周", "month": "个月", "quarter": "个季度", "year": "年", "days": "期"}
NOT_MEMBER = NOT_BOUND
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


# --- scope and authorisation ---------------------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    """What a request may see: an org subtree, or one member's own records."""

    root_id: int
    root_name: str
    org_ids: tuple[int, ...]
    member_id: int | None = None
    member_name: str | None = None
    # The subtree is the whole database: members need no org filter. Records keep theirs, so
    # the (org_id, date) index serves every date range.
    everything: bool = False
    # The first day its figures count (the root org's 起算日期; a member's: also their joining day).
    start: dt.date | None = None

    @property
    def records(self) -> stats.RecordScope:
        return stats.RecordScope(self.org_ids, self.member_id)

    @property
    def title(self) -> str:
        if self.member_name is not None:
            return f"{self.member_name}（{self.root_name}）"
        return self.root_name


class ScopeError(Exception):
    """The request names an org the asker may not see, or one that does not exist (plain Chinese
    text: an adapter escapes it for its markup)."""


class OrgGone(ScopeError):
    """The org a request names by id (a button under an old digest) no longer exists."""

    def __init__(self) -> None:
        super().__init__("该组织已不存在。")


class FuturePeriod(ScopeError):
    """A period that has not begun: there is nothing to count yet."""

    def __init__(self, period: Period) -> None:
        super().__init__(f"{period.label}还没有开始，没有可统计的内容。可以查看本期或以前的期间。")


def _subtree_scope(all_orgs: list[OrgRow], root: OrgRow) -> Scope:
    assert root.id is not None
    ids = tuple(org_repo.subtree_ids(all_orgs, root.id))
    return Scope(root.id, root.name, ids, everything=len(ids) == len(all_orgs), start=root.counting_start)


def _find_org(all_orgs: list[OrgRow], name: str) -> OrgRow:
    found = org_repo.match_orgs([o for o in all_orgs if not o.archived], name)
    if len(found) == 1:
        return found[0]
    if found:
        paths = "、".join(org_repo.org_path(all_orgs, o) for o in found)
        raise ScopeError(f"有 {len(found)} 个组织叫「{shown(name)}」，请写出完整路径：{paths}")
    raise ScopeError(f"没有找到组织「{shown(name)}」。请发送完整的组织名称。")


def _tree_root(all_orgs: list[OrgRow], org_id: int) -> OrgRow:
    by_id = {o.id: o for o in all_orgs}
    org = by_id[org_id]
    while org.parent_id is not None and org.parent_id in by_id:
        org = by_id[org.parent_id]
    return org


async def scope_for(*, session: AsyncSession, member: Member | None, org_name: str | None) -> Scope:
    """Authorise a request: an admin sees everything, a secretary their subtree, a cadre their own records.

    `member` None means the command line (the operator of the server): everything.
    """
    all_orgs = await stats.org_rows(session=session)
    if member is None:
        if org_name:
            return _subtree_scope(all_orgs, _find_org(all_orgs, org_name))
        roots = [o for o in all_orgs if o.parent_id is None]
        if not roots:
            raise ScopeError("还没有建立组织。")
        if len(roots) > 1:
            raise ScopeError("有多个上级组织，请指定组织名称。")
        return _subtree_scope(all_orgs, roots[0])
    if not member.active:
        raise ScopeError(NOT_MEMBER)
    own = next((o for o in all_orgs if o.id == member.org_id), None)
    if own is None:
        raise ScopeError(NOT_MEMBER)
    if has_role(member, Role.admin):
        target = _find_org(all_orgs, org_name) if org_name else _tree_root(all_orgs, own.id)
        return _subtree_scope(all_orgs, target)
    if has_role(member, Role.secretary):
        scope = _subtree_scope(all_orgs, own)
        if not org_name:
            return scope
        target = _find_org(all_orgs, org_name)
        if target.id not in scope.org_ids:
            raise ScopeError(f"您只能查看「{own.name}」及下级组织。")
        return _subtree_scope(all_orgs, target)
    if org_name and org_name != own.name:
        raise ScopeError("您可以查看自己的记录；组织情况请向本支部书记了解。")
    start = max(member.joined_on or dt.date.min, own.counting_start or dt.date.min)
    return Scope(
        own.id,
        own.name,
        (own.id,),
        member_id=member.id,
        member_name=member.name,
        start=None if start == dt.date.min else start,
    )


async def asker_scope(
    *,
    session: AsyncSession,
    services: Services,
    telegram_id: int,
    org_name: str | None = None,
    org_id: int | None = None,
) -> tuple[Scope, Member | None]:
    """The scope of someone asking through a messenger (the org by name, or by id from a button);
    a bootstrap admin without a binding sees everything. Raises ScopeError (OrgGone for an id
    that no longer exists)."""
    if org_id is not None:
        org = await org_repo.get_org(session=session, org_id=org_id)
        if org is None:
            raise OrgGone
        org_name = org.name
    member = await org_repo.get_member(session=session, telegram_id=telegram_id)
    if member is None and not is_bootstrap_admin(services, telegram_id):
        raise ScopeError(NOT_MEMBER)
    return await scope_for(session=session, member=member, org_name=org_name), member


async def org_scope(*, session: AsyncSession, org_id: int) -> Scope:
    """The subtree of one org (for scheduled digests: the schedule's scope)."""
    all_orgs = await stats.org_rows(session=session)
    root = next((o for o in all_orgs if o.id == org_id), None)
    if root is None:
        raise ScopeError("该组织已不存在。")
    return _subtree_scope(all_orgs, root)


# --- the figures ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SilentMember:
    org_id: int
    org_name: str
    member_id: int
    name: str
    role: str
    status: str  # silent | leave | unreachable
    streak: int  # periods in a row without a record, this one included
    streak_capped: bool  # True: at least `streak` (nothing found as far back as we looked)


@dataclass(frozen=True)
class SubOrgSilence:
    """Silent members summed over a sub-org: a direct child of the root and everything below it
    (`own`: the root itself, its own members only)."""

    org_id: int
    name: str
    own: bool
    silent: int
    long_silent: int  # silent LONG_SILENCE periods or more


@dataclass(frozen=True)
class TargetLine:
    name: str
    period: str
    subject: str  # org | member
    required: int
    total: int  # subjects bound (excused ones left out)
    done: int  # done or exempt
    at_risk: int
    overdue: int
    due: int
    days_left: int | None  # for what is still open
    not_started: int = 0  # subjects whose figures did not count yet (起算日期, joining day)
    exempt_reasons: tuple[str, ...] = ()  # one per subject counted done as 本期不涉及 ("" unexplained)


@dataclass(frozen=True)
class Steadiness:
    """One sub-org's weeks with activity, oldest first (STEADY_WEEKS of them); None for a week
    that had not begun (after today) or ended before the sub-org's 起算日期."""

    name: str
    weeks: tuple[bool | None, ...]

    @property
    def active(self) -> int:
        return sum(1 for w in self.weeks if w)

    @property
    def counted(self) -> int:
        return sum(1 for w in self.weeks if w is not None)


@dataclass(frozen=True)
class Level:
    """One depth of the subtree: its name (党委, 党支部…), records and members."""

    name: str
    records: int
    members: int


@dataclass(frozen=True)
class Digest:
    """Every figure of a digest, as counted; rendering is an adapter's business."""

    scope: Scope
    period: Period
    today: dt.date
    categories: Mapping[str, str]  # code -> name, in display order
    records: int
    late: int  # records of the period entered after it had ended (补报)
    prev_records: int
    by_category: Mapping[str, int]
    prev_by_category: Mapping[str, int]
    members: int
    reporting: int
    prev_reporting: int
    expected: int
    on_leave: int
    unreachable: int
    silent: tuple[SilentMember, ...]  # everyone without a record, leave and unreachable marked
    issues_found: int
    issues_fixed: int
    open_issues: int  # found minus fixed over the steadiness weeks
    targets: tuple[TargetLine, ...]
    own_targets: tuple[str, ...]  # a member's own target lines (plain text)
    steadiness: tuple[Steadiness, ...]
    # org id -> the direct child of the root whose subtree holds it; and those children's names
    sub_orgs: Mapping[int, int]
    sub_org_names: tuple[tuple[int, str], ...]
    levels: tuple[Level, ...]

    @property
    def closed(self) -> bool:
        """The period has ended: its report no longer changes except by late reports dated in it."""
        return self.period.end < self.today

    @property
    def counted_from(self) -> dt.date | None:
        """The 起算日期 when it cuts the period short (the period began before it)."""
        start = self.scope.start
        return start if start is not None and self.period.start < start <= self.period.end else None

    @property
    def before_start(self) -> bool:
        """The whole period ended before the 起算日期: nothing in it counts."""
        return self.scope.start is not None and self.period.end < self.scope.start

    @property
    def streak_unit(self) -> str:
        return UNIT.get(self.period.kind, "期")

    @property
    def silent_total(self) -> int:
        return sum(1 for s in self.silent if s.status == "silent")

    def silent_by_org(self) -> list[tuple[int, list[SilentMember]]]:
        """Silent members (not on leave, reachable) per org, orgs and names in id order."""
        per_org: dict[int, list[SilentMember]] = defaultdict(list)
        for s in self.silent:
            if s.status == "silent":
                per_org[s.org_id].append(s)
        return sorted(per_org.items())

    def silent_by_sub_org(self) -> list[SubOrgSilence]:
        """Silent members counted per sub-org, in id order (for a tree too large to name them)."""
        counts: Counter[int] = Counter()
        long: Counter[int] = Counter()
        for org_id, people in self.silent_by_org():
            owner = self.sub_orgs.get(org_id, self.scope.root_id)
            counts[owner] += len(people)
            long[owner] += sum(1 for s in people if s.streak >= LONG_SILENCE)
        names = dict(self.sub_org_names)
        root = self.scope.root_id
        return [
            SubOrgSilence(
                owner,
                self.scope.root_name if owner == root else names.get(owner, ""),
                owner == root,
                counts[owner],
                long[owner],
            )
            for owner in sorted(counts)
        ]


@dataclass(frozen=True)
class DigestReport:
    """A digest and its chart (PNG; None without records or without a CJK font)."""

    digest: Digest
    chart_png: bytes | None


def _category_names() -> dict[str, str]:
    from bot.parsing import CATEGORIES

    return dict(CATEGORIES)


def _children(all_orgs: list[OrgRow]) -> dict[int | None, list[int]]:
    out: dict[int | None, list[int]] = defaultdict(list)
    for org in all_orgs:
        out[org.parent_id].append(org.id)
    return out


def _silent_members(
    members: list[stats.MemberRow],
    *,
    reporting: set[int],
    on_leave: set[int],
    last_dates: dict[int, dt.date],
    period: Period,
    org_names: dict[int, str],
) -> list[SilentMember]:
    """Members without a record in the period, per org by id; leave and unreachable marked apart."""
    earlier: list[Period] = []
    p = period
    for _ in range(STREAK_LOOKBACK.get(period.kind, 4)):
        p = p.previous()
        earlier.append(p)
    out = []
    for m in members:
        if m.id in reporting:
            continue
        status = "leave" if m.id in on_leave else "unreachable" if m.unreachable else "silent"
        streak, capped = 1, True
        joined = m.start
        last = last_dates.get(m.id)
        for p in earlier:
            if joined > p.end or (last is not None and last >= p.start):
                capped = False
                break
            streak += 1
        out.append(
            SilentMember(m.org_id, org_names.get(m.org_id, ""), m.id, m.name, m.role, status, streak, capped)
        )
    return out


async def silent_members(
    *,
    session: AsyncSession,
    scope: Scope,
    period: Period,
    members: list[stats.MemberRow],
    org_names: dict[int, str],
) -> tuple[set[int], list[SilentMember]]:
    """Who reported in the period, and everyone else with how many periods in a row (looked up
    over a fixed number of earlier periods, so the cost never grows with history)."""
    rs = scope.records
    reporting = await stats.reporting_member_ids(
        session=session, scope=rs, start=period.start, end=period.end
    )
    from bot.targets import excused_by_leave

    spans = await target_repo.leave_spans(
        session=session, member_ids=None, start=period.start, end=period.end
    )
    on_leave = {mid for mid, found in spans.items() if excused_by_leave(found, period.start, period.end)}
    lookback = period
    for _ in range(STREAK_LOOKBACK.get(period.kind, 4)):
        lookback = lookback.previous()
    unreported = [m.id for m in members if m.id not in reporting]
    last_dates = await stats.last_record_dates(
        session=session, member_ids=unreported, start=lookback.start, end=period.start - dt.timedelta(days=1)
    )
    silent = _silent_members(
        members,
        reporting=reporting,
        on_leave=on_leave,
        last_dates=last_dates,
        period=period,
        org_names=org_names,
    )
    return reporting, silent


async def bound_members(
    *, session: AsyncSession, members: list[stats.MemberRow], all_orgs: list[OrgRow]
) -> list[stats.MemberRow]:
    """The members some per-member target binds (a few roles), not the whole membership."""
    from bot.targets import binds_member

    member_targets = [t for t in await target_repo.list_targets(session=session) if t.scope == "member"]
    kinds = {o.id: o.kind for o in all_orgs}
    return [
        m
        for m in members
        if any(binds_member(t, role=m.role, org_kind=kinds.get(m.org_id)) for t in member_targets)
    ]


async def _target_lines(
    *,
    session: AsyncSession,
    scope: Scope,
    members: list[stats.MemberRow],
    all_orgs: list[OrgRow],
    on: dt.date,
    today: dt.date,
    until: dt.date,
) -> tuple[list[TargetLine], list[str]]:
    from bot.targets import UNCOUNTED, members_statuses, statuses_for_orgs

    if scope.member_id is not None:
        mine = [m for m in members if m.id == scope.member_id]
        statuses = await members_statuses(session=session, members=mine, on=on, until=until)
        return [], [_describe(s, on, today) for s in statuses.get(scope.member_id, [])]
    groups: dict[tuple[int, str], list[TargetStatus]] = defaultdict(list)
    by_org = await statuses_for_orgs(session=session, org_ids=list(scope.org_ids), on=on, until=until)
    for found in by_org.values():
        for s in found:
            groups[(s.target_id, "org")].append(s)
    bound = await bound_members(session=session, members=members, all_orgs=all_orgs)
    by_member = await members_statuses(session=session, members=bound, on=on, until=until) if bound else {}
    for found in by_member.values():
        for s in found:
            if s.subject == "member":
                groups[(s.target_id, "member")].append(s)
    lines = []
    for (_, subject), group in sorted(groups.items()):
        counted = [s for s in group if s.state not in UNCOUNTED]
        states = Counter(_final_state(s, on, today) for s in counted)
        open_days = [s.days_left for s in counted if _final_state(s, on, today) in ("due", "at_risk")]
        first = group[0]
        lines.append(
            TargetLine(
                name=first.name,
                period=first.period,
                subject=subject,
                required=first.required,
                total=len(counted),
                done=states["done"] + states["exempt"],
                at_risk=states["at_risk"],
                overdue=states["overdue"],
                due=states["due"],
                days_left=min(open_days) if open_days else None,
                not_started=sum(1 for s in group if s.state == "not_started"),
                exempt_reasons=tuple(
                    s.exempt_reason for s in counted if _final_state(s, on, today) == "exempt"
                ),
            )
        )
    return lines, []


def _final_state(status: TargetStatus, on: dt.date, today: dt.date) -> str:
    """The state as of today for a status judged on a past period's last day: a target period that
    has closed since, unmet, is overdue (not "due today")."""
    if status.period_end < today and status.period_end <= on and status.state in ("due", "at_risk"):
        return "overdue"
    return status.state


def _describe(status: TargetStatus, on: dt.date, today: dt.date) -> str:
    state = _final_state(status, on, today)
    return status.describe() if state == status.state else replace(status, state=state).describe()


@dataclass(frozen=True)
class _Counts:
    """The period's records by category (and the previous period's), and the problems found."""

    rows: list[stats.CategoryCount]
    by_category: Counter[str]
    prev_by_category: Counter[str]
    issues_found: int
    issues_fixed: int
    late: int


async def _counts(*, session: AsyncSession, scope: Scope, period: Period, tz: ZoneInfo) -> _Counts:
    rs, prev = scope.records, period.previous()
    # Entered after the period's last local day: a late report (补报), counted all the same.
    cutoff = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    late = await stats.records_entered_after(
        session=session, scope=rs, start=period.start, end=period.end, after=cutoff
    )
    rows = await stats.category_counts(session=session, scope=rs, start=period.start, end=period.end)
    prev_rows = await stats.category_counts(session=session, scope=rs, start=prev.start, end=prev.end)
    by_category: Counter[str] = Counter()
    prev_by_category: Counter[str] = Counter()
    found = fixed = 0
    for c in rows:
        by_category[c.category] += c.records
        found += c.issues_found
        fixed += c.issues_fixed
    for c in prev_rows:
        prev_by_category[c.category] += c.records
    return _Counts(rows, by_category, prev_by_category, found, fixed, late)


async def build_digest(
    *,
    session: AsyncSession,
    scope: Scope,
    period: Period,
    today: dt.date,
    categories: dict[str, str] | None = None,
    chart: bool = False,
    tz: ZoneInfo = DEFAULT_TZ,
) -> DigestReport:
    """Gather every figure of the digest (a fixed number of queries, each over a bounded date range).

    Only records dated inside the period count (targets too: up to its last day), so the report
    of a closed period changes only by late reports dated inside it.

    With `chart`, the chart is drawn in a worker thread as soon as the counts are known, while the
    other figures are counted.
    """
    categories = categories or _category_names()
    counts = await _counts(session=session, scope=scope, period=period, tz=tz)
    drawing = asyncio.ensure_future(_draw(scope, period, categories, counts)) if chart else None
    try:
        digest = await _more_figures(
            session=session, scope=scope, period=period, today=today, categories=categories, counts=counts
        )
    except BaseException:
        if drawing is not None:
            drawing.cancel()
        raise
    return DigestReport(digest, await drawing if drawing is not None else None)


async def _more_figures(
    *,
    session: AsyncSession,
    scope: Scope,
    period: Period,
    today: dt.date,
    categories: dict[str, str],
    counts: _Counts,
) -> Digest:
    """Members and silence, targets, steadiness and levels."""
    rs, prev = scope.records, period.previous()
    all_orgs = await stats.org_rows(session=session)
    org_names = {o.id: o.name for o in all_orgs}
    members = await stats.member_rows(session=session, org_ids=None if scope.everything else scope.org_ids)
    if scope.member_id is not None:
        members = [m for m in members if m.id == scope.member_id]
    # Someone who joined after the period (or whose org started counting after it) is not in it.
    members = [m for m in members if m.start <= period.end]
    reporting, silent = await silent_members(
        session=session, scope=scope, period=period, members=members, org_names=org_names
    )
    prev_reporting = await stats.reporting_member_ids(
        session=session, scope=rs, start=prev.start, end=prev.end
    )
    member_ids = {m.id for m in members}
    on_leave = sum(1 for s in silent if s.status == "leave")
    unreachable = sum(1 for s in silent if s.status == "unreachable")

    on = min(period.end, today)
    targets, own_targets = await _target_lines(
        session=session,
        scope=scope,
        members=members,
        all_orgs=all_orgs,
        on=on,
        today=today,
        until=period.end,
    )
    steady = await _steadiness(session=session, scope=scope, period=period, all_orgs=all_orgs, today=today)
    levels: list[Level] = []
    if scope.member_id is None:
        levels = _levels(scope, all_orgs, counts.rows, members)
    by_category, prev_by_category = counts.by_category, counts.prev_by_category
    return Digest(
        scope=scope,
        period=period,
        today=today,
        categories=categories,
        records=sum(by_category.values()),
        late=counts.late,
        prev_records=sum(prev_by_category.values()),
        by_category=by_category,
        prev_by_category=prev_by_category,
        members=len(members),
        reporting=len(reporting & member_ids),
        prev_reporting=len(prev_reporting & member_ids),
        expected=len(members) - on_leave - unreachable,
        on_leave=on_leave,
        unreachable=unreachable,
        silent=tuple(silent),
        issues_found=counts.issues_found,
        issues_fixed=counts.issues_fixed,
        open_issues=steady.open_issues,
        targets=tuple(targets),
        own_targets=tuple(own_targets),
        # one person's weeks are not a sub-org's steadiness
        steadiness=steady.weeks if scope.member_id is None else (),
        sub_orgs=steady.sub_orgs,
        sub_org_names=steady.sub_org_names,
        levels=tuple(levels),
    )


@dataclass(frozen=True)
class _Steady:
    open_issues: int
    sub_orgs: dict[int, int]
    sub_org_names: tuple[tuple[int, str], ...]
    weeks: tuple[Steadiness, ...]


async def _steadiness(
    *, session: AsyncSession, scope: Scope, period: Period, all_orgs: list[OrgRow], today: dt.date
) -> _Steady:
    """Weeks with activity out of the last 8 (ending with the period's last week), per sub-org,
    and the problems found but not yet fixed over those weeks. Weeks not yet begun, and weeks
    ended before a sub-org's 起算日期, are neither active nor idle."""
    last_week_start = period_bounds("week", period.end)[0]
    starts = [last_week_start - dt.timedelta(weeks=STEADY_WEEKS - 1 - i) for i in range(STEADY_WEEKS)]
    # up to the period's last day only: a week running past it counts none of the days after
    activity = await stats.weekly_activity(
        session=session, scope=scope.records, week_starts=starts, until=period.end
    )
    children = _children(all_orgs)
    branches = sorted(children.get(scope.root_id, [])) or [scope.root_id]
    owner: dict[int, int] = {}
    for branch in branches:
        for org_id in org_repo.subtree_ids(all_orgs, branch):
            owner[org_id] = branch
    weeks: dict[int, set[int]] = defaultdict(set)
    found = fixed = 0
    for row in activity:
        found += row.issues_found
        fixed += row.issues_fixed
        if row.org_id in owner and row.records:
            weeks[owner[row.org_id]].add(row.week)
    names = {o.id: o.name for o in all_orgs}
    starts_of = {o.id: o.counting_start for o in all_orgs}
    split = branches != [scope.root_id]

    def week(branch: int, i: int) -> bool | None:
        first = starts_of.get(branch) or (scope.start if branch == scope.root_id else None)
        if starts[i] > today or (first is not None and starts[i] + dt.timedelta(days=6) < first):
            return None
        return i in weeks[branch]

    return _Steady(
        open_issues=max(found - fixed, 0),
        sub_orgs=owner if split else {},
        sub_org_names=tuple((b, names[b]) for b in branches) if split else (),
        weeks=tuple(Steadiness(names[b], tuple(week(b, i) for i in range(STEADY_WEEKS))) for b in branches),
    )


def _levels(
    scope: Scope, all_orgs: list[OrgRow], counts: list[stats.CategoryCount], members: list[stats.MemberRow]
) -> list[Level]:
    """Records per member at each depth of the subtree, so 上头热、下头冷 shows."""
    children = _children(all_orgs)
    kinds = {o.id: o.kind for o in all_orgs}
    depth: dict[int, int] = {scope.root_id: 0}
    queue = [scope.root_id]
    while queue:
        current = queue.pop(0)
        for child in children.get(current, []):
            depth[child] = depth[current] + 1
            queue.append(child)
    records: Counter[int] = Counter()
    for c in counts:
        if c.org_id in depth:
            records[depth[c.org_id]] += c.records
    people: Counter[int] = Counter(depth[m.org_id] for m in members if m.org_id in depth)
    level_kinds: dict[int, Counter[str]] = defaultdict(Counter)
    for org_id, d in depth.items():
        level_kinds[d][kinds[org_id]] += 1
    levels = []
    for d in sorted(people):
        kind = level_kinds[d].most_common(1)[0][0]
        levels.append(Level(ORG_KIND_NAMES.get(kind, kind), records[d], people[d]))
    names = [level.name for level in levels]
    return [
        level if names.count(level.name) == 1 else replace(level, name=f"第{i + 1}级{level.name}")
        for i, level in enumerate(levels)
    ]


async def _draw(scope: Scope, period: Period, categories: dict[str, str], counts: _Counts) -> bytes | None:
    """Records per category, this period against the previous one (None when there is nothing)."""
    now, before = counts.by_category, counts.prev_by_category
    if not (sum(now.values()) or sum(before.values())):
        return None
    codes = [c for c in categories if now[c] or before[c]]
    prev = period.previous()
    return await bar_chart(
        f"{scope.title} · 各类记录",
        [categories[c] for c in codes],
        [
            (f"本期 {period.label}", [now[c] for c in codes]),
            (f"上期 {prev.label}", [before[c] for c in codes]),
        ],
    )


# --- the services --------------------------------------------------------------------------------
def weekly_period(today: dt.date, start: dt.date | None = None, end: dt.date | None = None) -> Period:
    """The given bounds, the week of `start`, or by default the last full week before `today`."""
    if start is not None and end is not None:
        return period_from_bounds(start, end)
    if start is not None:
        return period_of("week", start)
    return last_full_week(today)


async def weekly_digest(
    *,
    session: AsyncSession,
    org_id: int,
    now: dt.datetime,
    start: dt.date | None = None,
    end: dt.date | None = None,
    tz: ZoneInfo = DEFAULT_TZ,
) -> DigestReport:
    """The digest (with its chart) of org `org_id` and everything below it; default: the last full
    week before `now`."""
    today = now.date()
    scope = await org_scope(session=session, org_id=org_id)
    return await build_digest(
        session=session, scope=scope, period=weekly_period(today, start, end), today=today, chart=True, tz=tz
    )


async def scheduled_digest(services: Services, *, org_id: int) -> DigestReport:
    """A scheduled digest, counted in its own read-only unit (check-ins go on meanwhile)."""
    async with services.session(read_only=True) as session:
        return await weekly_digest(
            session=session, org_id=org_id, now=services.clock.now(), tz=services.settings.tz
        )


async def asked_digest(
    services: Services,
    *,
    telegram_id: int,
    period: Period,
    org_name: str | None = None,
    org_id: int | None = None,
) -> DigestReport:
    """/digest: the asker's digest of `period` (the org by name, or by id from a button), with its
    chart. Raises ScopeError when the asker may not see it, FuturePeriod for a period not begun."""
    today = services.clock.now().date()
    if period.start > today:
        raise FuturePeriod(period)
    async with services.session(read_only=True) as session:
        scope, _ = await asker_scope(
            session=session, services=services, telegram_id=telegram_id, org_name=org_name, org_id=org_id
        )
        return await build_digest(
            session=session, scope=scope, period=period, today=today, chart=True, tz=services.settings.tz
        )
