"""The secretary's digest: one organisation subtree over one period, as Telegram HTML.

What it shows (never a ranking of people): members reporting out of all (leave and unreachable
apart); records by category against the previous period; targets done / due / at risk / overdue;
silent members per org with how many periods in a row; problems found against fixed; steadiness
(weeks with activity out of the last 8 per sub-org); activity per member at each level of the tree.

All counting is done by storage.stats in SQL over the period's date range.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts import bar_chart
from bot.periods import PERIOD_NAMES, period_bounds
from bot.periods_parse import Period, last_full_week, period_from_bounds, period_of
from storage import orgs as org_repo
from storage import stats
from storage import targets as target_repo
from storage.models import ORG_KIND_NAMES, Member
from storage.stats import OrgRow

if TYPE_CHECKING:
    from bot.targets import TargetStatus

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 4096
# Beyond this many parts the silent list is cut short and points to the export.
MAX_PARTS = 3
SILENT_ORGS_SHOWN = 30
SILENT_NAMES_PER_ORG = 12
# A silence this many periods long is counted apart when silent members are summarised.
LONG_SILENCE = 4
STEADY_WEEKS = 8
# How many earlier periods are looked at to count a silence "in a row".
STREAK_LOOKBACK = {"week": 8, "month": 6, "quarter": 4, "year": 2, "days": 4}
UNIT = {"week": "周", "month": "个月", "quarter": "个季度", "year": "年", "days": "期"}
STATE_WORDS = {"at_risk": "临期", "overdue": "未完成", "due": "进行中"}
NOT_MEMBER = "您还没有加入组织。请向本单位党务管理员索取邀请链接或邀请码，然后发送 /join 邀请码。"


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

    @property
    def records(self) -> stats.RecordScope:
        return stats.RecordScope(self.org_ids, self.member_id)

    @property
    def title(self) -> str:
        if self.member_name is not None:
            return f"{self.member_name}（{self.root_name}）"
        return self.root_name


class ScopeError(Exception):
    """The request names an org the asker may not see, or one that does not exist (Chinese text)."""


def _subtree_scope(all_orgs: list[OrgRow], root: OrgRow) -> Scope:
    ids = tuple(org_repo.subtree_ids(all_orgs, root.id))  # type: ignore[arg-type]
    return Scope(root.id, root.name, ids, everything=len(ids) == len(all_orgs))  # type: ignore[arg-type]


def _find_org(all_orgs: list[OrgRow], name: str) -> OrgRow:
    for org in all_orgs:
        if org.name == name:
            return org
    shown = name if len(name) <= 40 else name[:40] + "…"
    raise ScopeError(f"没有找到组织「{html.escape(shown)}」。请发送完整的组织名称。")


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
    if member.role == "admin":
        target = _find_org(all_orgs, org_name) if org_name else _tree_root(all_orgs, own.id)  # type: ignore[arg-type]
        return _subtree_scope(all_orgs, target)
    if member.role == "secretary":
        scope = _subtree_scope(all_orgs, own)
        if not org_name:
            return scope
        target = _find_org(all_orgs, org_name)
        if target.id not in scope.org_ids:
            raise ScopeError(f"您只能查看「{html.escape(own.name)}」及下级组织。")
        return _subtree_scope(all_orgs, target)
    if org_name and org_name != own.name:
        raise ScopeError("您可以查看自己的记录；组织情况请向本支部书记了解。")
    return Scope(own.id, own.name, (own.id,), member_id=member.id, member_name=member.name)  # type: ignore[arg-type]


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


@dataclass
class Digest:
    scope: Scope
    period: Period
    today: dt.date
    categories: dict[str, str]
    records: int = 0
    prev_records: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    prev_by_category: Counter[str] = field(default_factory=Counter)
    members: int = 0
    reporting: int = 0
    prev_reporting: int = 0
    expected: int = 0
    on_leave: int = 0
    unreachable: int = 0
    silent: list[SilentMember] = field(default_factory=list)
    issues_found: int = 0
    issues_fixed: int = 0
    open_issues: int = 0  # found minus fixed over the steadiness weeks
    chart: asyncio.Future[bytes | None] | None = None  # drawn while the other figures are counted
    targets: list[TargetLine] = field(default_factory=list)
    own_targets: list[str] = field(default_factory=list)  # a member's own target lines
    steadiness: list[tuple[str, list[bool]]] = field(default_factory=list)
    # org id -> the direct child of the root whose subtree holds it; and those children's names
    sub_orgs: dict[int, int] = field(default_factory=dict)
    sub_org_names: list[tuple[int, str]] = field(default_factory=list)
    levels: list[tuple[str, int, int]] = field(default_factory=list)  # (level name, records, members)


def _category_names() -> dict[str, str]:
    from bot.parsing import CATEGORIES

    return dict(CATEGORIES)


def _children(all_orgs: list[OrgRow]) -> dict[int | None, list[int]]:
    out: dict[int | None, list[int]] = defaultdict(list)
    for org in all_orgs:
        out[org.parent_id].append(org.id)  # type: ignore[arg-type]
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
        joined = m.joined
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
    on_leave = await stats.on_leave_ids(session=session, start=period.start, end=period.end)
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
) -> tuple[list[TargetLine], list[str]]:
    from bot.targets import members_statuses, statuses_for_orgs

    if scope.member_id is not None:
        mine = [m for m in members if m.id == scope.member_id]
        statuses = await members_statuses(session=session, members=mine, on=on)  # type: ignore[arg-type]
        return [], [_describe(s, on, today) for s in statuses.get(scope.member_id, [])]
    groups: dict[tuple[int, str], list] = defaultdict(list)
    by_org = await statuses_for_orgs(session=session, org_ids=list(scope.org_ids), on=on)
    for statuses in by_org.values():
        for s in statuses:
            groups[(s.target_id, "org")].append(s)
    bound = await bound_members(session=session, members=members, all_orgs=all_orgs)
    by_member = await members_statuses(session=session, members=bound, on=on) if bound else {}  # type: ignore[arg-type]
    for statuses in by_member.values():
        for s in statuses:
            if s.subject == "member":
                groups[(s.target_id, "member")].append(s)
    lines = []
    for (_, subject), statuses in sorted(groups.items()):
        counted = [s for s in statuses if s.state != "excused"]
        states = Counter(_final_state(s, on, today) for s in counted)
        open_days = [s.days_left for s in counted if _final_state(s, on, today) in ("due", "at_risk")]
        first = statuses[0]
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


async def build_digest(
    *,
    session: AsyncSession,
    scope: Scope,
    period: Period,
    today: dt.date,
    categories: dict[str, str] | None = None,
    chart: bool = False,
) -> Digest:
    """Gather every figure of the digest (a fixed number of queries, each over a bounded date range).

    With `chart`, the chart is drawn in a worker thread as soon as the counts are known.
    """
    digest = Digest(scope, period, today, categories or _category_names())
    rs = scope.records
    prev = period.previous()

    counts = await stats.category_counts(session=session, scope=rs, start=period.start, end=period.end)
    prev_counts = await stats.category_counts(session=session, scope=rs, start=prev.start, end=prev.end)
    for c in counts:
        digest.by_category[c.category] += c.records
        digest.issues_found += c.issues_found
        digest.issues_fixed += c.issues_fixed
    for c in prev_counts:
        digest.prev_by_category[c.category] += c.records
    digest.records = sum(digest.by_category.values())
    digest.prev_records = sum(digest.prev_by_category.values())

    if chart:
        digest.chart = asyncio.ensure_future(_draw(digest))
    try:
        await _more_figures(session=session, digest=digest, counts=counts)
    except BaseException:
        if digest.chart is not None:
            digest.chart.cancel()
        raise
    return digest


async def _more_figures(*, session: AsyncSession, digest: Digest, counts: list[stats.CategoryCount]) -> None:
    """Members and silence, targets, steadiness and levels."""
    scope, period, rs = digest.scope, digest.period, digest.scope.records
    prev = period.previous()
    all_orgs = await stats.org_rows(session=session)
    org_names = {o.id: o.name for o in all_orgs}
    members = await stats.member_rows(session=session, org_ids=None if scope.everything else scope.org_ids)
    if scope.member_id is not None:
        members = [m for m in members if m.id == scope.member_id]
    reporting, digest.silent = await silent_members(
        session=session, scope=scope, period=period, members=members, org_names=org_names
    )
    prev_reporting = await stats.reporting_member_ids(
        session=session, scope=rs, start=prev.start, end=prev.end
    )
    member_ids = {m.id for m in members}
    digest.members = len(members)
    digest.reporting = len(reporting & member_ids)
    digest.prev_reporting = len(prev_reporting & member_ids)
    digest.on_leave = sum(1 for s in digest.silent if s.status == "leave")
    digest.unreachable = sum(1 for s in digest.silent if s.status == "unreachable")
    digest.expected = digest.members - digest.on_leave - digest.unreachable

    on = min(period.end, digest.today)
    digest.targets, digest.own_targets = await _target_lines(
        session=session, scope=scope, members=members, all_orgs=all_orgs, on=on, today=digest.today
    )

    await _steadiness(session=session, digest=digest, all_orgs=all_orgs)
    if scope.member_id is None:
        _levels(digest, all_orgs, counts, members)
    else:
        digest.steadiness = []  # one person's weeks are not a sub-org's steadiness


async def _steadiness(*, session: AsyncSession, digest: Digest, all_orgs: list[OrgRow]) -> None:
    """Weeks with activity out of the last 8 (ending with the period's last week), per sub-org,
    and the problems found but not yet fixed over those weeks."""
    scope = digest.scope
    last_week_start = period_bounds("week", digest.period.end)[0]
    starts = [last_week_start - dt.timedelta(weeks=STEADY_WEEKS - 1 - i) for i in range(STEADY_WEEKS)]
    activity = await stats.weekly_activity(session=session, scope=scope.records, week_starts=starts)
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
    digest.open_issues = max(found - fixed, 0)
    names = {o.id: o.name for o in all_orgs}
    if branches != [scope.root_id]:
        digest.sub_orgs = owner
        digest.sub_org_names = [(b, names[b]) for b in branches]
    digest.steadiness = [(names[b], [i in weeks[b] for i in range(STEADY_WEEKS)]) for b in branches]


def _levels(
    digest: Digest, all_orgs: list[OrgRow], counts: list[stats.CategoryCount], members: list[stats.MemberRow]
) -> None:
    """Records per member at each depth of the subtree, so 上头热、下头冷 shows."""
    children = _children(all_orgs)
    kinds = {o.id: o.kind for o in all_orgs}
    depth: dict[int, int] = {digest.scope.root_id: 0}
    queue = [digest.scope.root_id]
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
        levels.append((ORG_KIND_NAMES.get(kind, kind), records[d], people[d]))
    names = [name for name, _, _ in levels]
    digest.levels = [
        (name if names.count(name) == 1 else f"第{i + 1}级{name}", r, n)
        for i, (name, r, n) in enumerate(levels)
    ]


# --- rendering -----------------------------------------------------------------------------------
def _delta(now: int, before: int) -> str:
    diff = now - before
    return "持平" if diff == 0 else f"+{diff}" if diff > 0 else str(diff)


def _strip(active: list[bool]) -> str:
    return "".join("▇" if a else "▁" for a in active)


def _target_text(t: TargetLine) -> str:
    unit = "个组织" if t.subject == "org" else "人"
    every = PERIOD_NAMES.get(t.period, t.period)
    head = f"· {html.escape(t.name)}（{every}{t.required}次{'·每人' if t.subject == 'member' else ''}）"
    if t.total == 0:
        return f"{head}：暂无适用对象"
    text = f"{head} {t.done}/{t.total}{unit}"
    if t.done == t.total:
        return text + " ✅"
    notes = []
    if t.at_risk:
        notes.append(f"{t.at_risk}{unit}临期")
    if t.overdue:
        notes.append(f"{t.overdue}{unit}未完成")
    if t.days_left is not None and (t.at_risk or t.due):
        notes.append(f"还剩{t.days_left}天" if t.days_left > 0 else "今天截止")
    return text + (" · " + " · ".join(notes) if notes else "") + (" ⚠️" if t.at_risk or t.overdue else "")


def _silent_lines(digest: Digest, shown: int) -> list[str]:
    """Silent members per org, orgs and names in id order (never by count).

    When more orgs have silent members than can be shown, the list becomes a count per sub-org
    (a direct child of the root and everything below it) and points to the export for names.
    """
    unit = UNIT.get(digest.period.kind, "期")
    per_org: dict[int, list[SilentMember]] = defaultdict(list)
    for s in digest.silent:
        if s.status == "silent":
            per_org[s.org_id].append(s)
    if len(per_org) > shown and digest.sub_orgs:
        return _silent_per_sub_org(digest, per_org, unit)
    # (a scope without sub-orgs is one org: its names always fit)
    lines = []
    for org_id in sorted(per_org):
        people = per_org[org_id]
        names = []
        for s in people[:SILENT_NAMES_PER_ORG]:
            name = html.escape(s.name)
            if s.streak > 1:
                name += f"（连续{s.streak}{unit}{'以上' if s.streak_capped else ''}）"
            names.append(name)
        more = f" 等{len(people)}人" if len(people) > SILENT_NAMES_PER_ORG else ""
        lines.append(f"· {html.escape(people[0].org_name)} {len(people)}人：{'、'.join(names)}{more}")
    return lines


def _silent_per_sub_org(digest: Digest, per_org: dict[int, list[SilentMember]], unit: str) -> list[str]:
    counts: Counter[int] = Counter()
    long: Counter[int] = Counter()
    for org_id, people in per_org.items():
        owner = digest.sub_orgs.get(org_id, digest.scope.root_id)
        counts[owner] += len(people)
        long[owner] += sum(1 for s in people if s.streak >= LONG_SILENCE)
    names = dict(digest.sub_org_names)
    lines = []
    for owner in sorted(counts):
        name = digest.scope.root_name if owner == digest.scope.root_id else names.get(owner, "")
        label = f"{html.escape(name)}{'本级' if owner == digest.scope.root_id else '及下级'}"
        tail = f"，连续{LONG_SILENCE}{unit}以上 {long[owner]}人" if long[owner] else ""
        lines.append(f"· {label} {counts[owner]}人{tail}")
    lines.append("名单见「导出台账」")
    return lines


def render(digest: Digest, *, silent_orgs: int = SILENT_ORGS_SHOWN) -> list[str]:
    """The digest as Telegram HTML lines (no line holds an unclosed tag, so any split is clean)."""
    d = digest
    lines = [f"📊 <b>{html.escape(d.scope.title)}</b> · {d.period.label}"]
    if d.scope.member_id is None and not d.members:
        lines.append("还没有成员加入。")
    elif d.scope.member_id is None:
        apart = []
        if d.on_leave:
            apart.append(f"请假 {d.on_leave}")
        if d.unreachable:
            apart.append(f"无法送达 {d.unreachable}")
        lines.append(f"报告 {d.reporting}/{d.expected} 人" + (f"（{'，'.join(apart)}）" if apart else ""))
    lines.append(
        f"记录 {d.records} 条（上期 {d.prev_records}，{_delta(d.records, d.prev_records)}）"
        + (f" · 报告人数 {_delta(d.reporting, d.prev_reporting)}" if d.scope.member_id is None else "")
    )
    if d.records:
        parts = [
            f"{name} {d.by_category[code]}" for code, name in d.categories.items() if d.by_category[code]
        ]
        parts += [
            f"{html.escape(code)} {n}" for code, n in d.by_category.items() if code not in d.categories and n
        ]
        lines.append("· " + " · ".join(parts))
    if d.targets:
        lines.append("<b>指标完成</b>")
        lines.extend(_target_text(t) for t in d.targets)
    if d.own_targets:
        lines.append("<b>我的指标</b>")
        lines.extend(f"· {html.escape(text)}" for text in d.own_targets)
    if d.scope.member_id is None:
        silent_lines = _silent_lines(d, silent_orgs)
        total_silent = sum(1 for s in d.silent if s.status == "silent")
        if silent_lines:
            lines.append(f"<b>未报告</b> {total_silent} 人")
            lines.extend(silent_lines)
        elif d.expected:
            lines.append("未报告：无")
    lines.append(
        f"问题整改：发现 {d.issues_found} · 已整改 {d.issues_fixed} · 近{STEADY_WEEKS}周待整改 {d.open_issues}"
    )
    if d.steadiness:
        lines.append(f"<b>常抓</b>（近 {STEADY_WEEKS} 周有活动的周数）")
        lines.extend(
            f"{html.escape(name)} {_strip(weeks)} {sum(weeks)}/{STEADY_WEEKS}" for name, weeks in d.steadiness
        )
    shown = [(name, r, n) for name, r, n in d.levels if n]
    if len(shown) >= 2:
        rates = [r / n for _, r, n in shown]
        text = " · ".join(f"{name} {rate:.1f}" for (name, _, _), rate in zip(shown, rates, strict=True))
        cold = rates[0] > 0 and rates[-1] < rates[0] / 2
        lines.append(f"层级人均记录：{text}" + ("（上热下冷）" if cold else ""))
    return lines


def split_message(lines: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join lines into messages of at most `limit` characters, breaking only between lines."""
    parts: list[str] = []
    current = ""
    for line in lines:
        while len(line) > limit:  # never happens with the renderer's caps; still never exceed
            if current:
                parts.append(current)
                current = ""
            parts.append(line[: limit - 1] + "…")
            line = ""
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


def _fit(digest: Digest) -> list[str]:
    """Render and split; with too many parts, summarise the silent list per sub-org sooner."""
    shown = SILENT_ORGS_SHOWN
    parts = split_message(render(digest, silent_orgs=shown))
    while len(parts) > MAX_PARTS and shown > 0:
        shown //= 2
        parts = split_message(render(digest, silent_orgs=shown))
    return parts


# --- the message ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DigestMessage:
    parts: list[str]  # Telegram HTML, each at most 4096 characters
    chart_png: bytes | None
    buttons: list[tuple[str, str]]  # (label, callback data) for the last part
    period: Period
    scope: Scope


def digest_buttons(scope: Scope, period: Period) -> list[tuple[str, str]]:
    """[导出台账] [上一期] [年度达标预览], with callback data the digest handler understands."""
    span = f"{period.start.isoformat()}:{period.end.isoformat()}"
    word = {"week": "上一周", "month": "上个月", "quarter": "上季度", "year": "上一年"}.get(
        period.kind, "上一期"
    )
    return [
        ("导出台账", f"digest:x:{scope.root_id}:{span}"),
        (word, f"digest:p:{scope.root_id}:{span}"),
        ("年度达标预览", f"digest:r:{scope.root_id}:{period.end.year}"),
    ]


async def _draw(digest: Digest) -> bytes | None:
    """Records per category, this period against the previous one (None when there is nothing)."""
    if not (digest.records or digest.prev_records):
        return None
    codes = [c for c in digest.categories if digest.by_category[c] or digest.prev_by_category[c]]
    period, prev = digest.period, digest.period.previous()
    return await bar_chart(
        f"{digest.scope.title} · 各类记录",
        [digest.categories[c] for c in codes],
        [
            (f"本期 {period.label}", [digest.by_category[c] for c in codes]),
            (f"上期 {prev.label}", [digest.prev_by_category[c] for c in codes]),
        ],
    )


async def digest_message(
    *, session: AsyncSession, scope: Scope, period: Period, today: dt.date, chart: bool = True
) -> DigestMessage:
    digest = await build_digest(session=session, scope=scope, period=period, today=today, chart=chart)
    png = await digest.chart if digest.chart is not None else None
    return DigestMessage(_fit(digest), png, digest_buttons(scope, period), period, scope)


async def weekly_digest_message(
    *,
    session: AsyncSession,
    org_id: int,
    now: dt.datetime,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> DigestMessage:
    """The digest of org `org_id` and everything below it; default: the last full week before `now`."""
    today = now.date()
    if start is not None and end is not None:
        period = period_from_bounds(start, end)
    elif start is not None:
        period = period_of("week", start)
    else:
        period = last_full_week(today)
    scope = await org_scope(session=session, org_id=org_id)
    return await digest_message(session=session, scope=scope, period=period, today=today)
