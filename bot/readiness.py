"""Assessment readiness: "if the assessment were today", per target and per sub-org, what is met
this year and what is still missing, so a gap shows months before the year ends.

Every period of the year up to today is evaluated with the targets service, for the targets
counted per that kind of period only (a handful of queries per period, each over that period's
records: the year's records are read about once per kind of period in use).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest import Scope, bound_members, split_message
from bot.periods import PERIOD_NAMES, period_bounds, period_label
from bot.targets import TargetStatus, members_statuses, statuses_for_orgs
from storage import orgs as org_repo
from storage import stats
from storage import targets as target_repo

MISSING_SHOWN = 6


@dataclass
class Tally:
    """One target for one sub-org (or one member): periods met out of those that count so far."""

    name: str
    subjects: set[int] = field(default_factory=set)
    met: int = 0
    counted: int = 0
    gaps: set[int] = field(default_factory=set)  # subjects with a missed period
    missing: list[dt.date] = field(default_factory=list)  # missed period starts (one subject)
    current: TargetStatus | None = None  # the open period, when not yet met


@dataclass
class TargetReadiness:
    target_id: int
    name: str
    period: str
    required: int
    subject: str
    rows: dict[int, Tally] = field(default_factory=dict)  # by owner (sub-org id or member id)

    @property
    def complete(self) -> bool:
        return all(t.met == t.counted and t.current is None for t in self.rows.values())


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
    on = min(today, dt.date(year, 12, 31))
    targets = await target_repo.list_targets(session=session)
    if year > today.year or not targets:
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
    for child in sorted(o.id for o in all_orgs if o.parent_id == scope.root_id):  # type: ignore[misc]
        for org_id in org_repo.subtree_ids(all_orgs, child):
            owner[org_id] = child

    seen: set[tuple[int, str, int, dt.date]] = set()
    result: dict[tuple[int, str], TargetReadiness] = {}
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
            members=members,  # type: ignore[arg-type]
            on=judged_on,
            period_of=start,
            period=kind,
            org_targets=scope.member_id is not None,  # orgs were judged above
        )
        for member_id, found in by_member.items():
            statuses += [(member_id, s) for s in found]
        for subject_id, s in statuses:
            key = (s.target_id, s.subject, subject_id, s.period_start)
            if s.period_start != start or key in seen or s.state == "excused":
                continue
            seen.add(key)
            item = result.setdefault(
                (s.target_id, s.subject),
                TargetReadiness(s.target_id, s.name, s.period, s.required, s.subject),
            )
            line = subject_id if scope.member_id is not None else owner.get(s.org_id, scope.root_id)
            tally = item.rows.setdefault(line, Tally(names.get(line, "")))
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
    return sorted(result.values(), key=lambda r: (r.target_id, r.subject))


def render(items: list[TargetReadiness], *, scope: Scope, year: int, today: dt.date) -> list[str]:
    on = min(today, dt.date(year, 12, 31))
    head = f"📋 <b>年度达标预览</b> · {html.escape(scope.title)} · {year}年（截至{on.month}月{on.day}日）"
    if year > today.year:
        return [head, "该年度还没有开始。"]
    if not items:
        return [head, "暂无适用的量化指标。管理员可用 /target 设置。"]
    complete = sum(1 for i in items if i.complete)
    lines = [head, f"如果今天考核：{complete}/{len(items)} 项指标没有缺口。"]
    for item in items:
        whom = "每人" if item.subject == "member" else "按组织"
        every = PERIOD_NAMES.get(item.period, item.period)
        lines.append(f"<b>{html.escape(item.name)}</b>（{every}{item.required}次 · {whom}）")
        for line_id in sorted(item.rows):
            lines.append(_row_text(item, item.rows[line_id], today=on, member=scope.member_id is not None))
    return lines


def _row_text(item: TargetReadiness, tally: Tally, *, today: dt.date, member: bool) -> str:
    label = "本人" if member else html.escape(tally.name)
    text = f"· {label} {tally.met}/{tally.counted}"
    notes = []
    single = len(tally.subjects) == 1
    if tally.missing and single:
        shown = [period_label(item.period, d) for d in sorted(tally.missing)[:MISSING_SHOWN]]
        more = f"等{len(tally.missing)}期" if len(tally.missing) > MISSING_SHOWN else ""
        notes.append("缺 " + "、".join(shown) + more)
    elif tally.gaps:
        unit = "人" if item.subject == "member" else "个组织"
        notes.append(f"{len(tally.gaps)}{unit}有缺口")
    if tally.current is not None:
        s = tally.current
        when = period_label(item.period, s.period_start, today=today)
        left = f"剩{s.days_left}天" if s.days_left > 0 else "今天截止"
        if single:
            notes.append(f"{when}还差{s.missing}次，{left}")
        else:
            notes.append(f"{when}尚有未完成，{left}")
    if not notes:
        return text + " ✅"
    return text + " · " + " · ".join(notes)


async def readiness_parts(*, session: AsyncSession, scope: Scope, year: int, today: dt.date) -> list[str]:
    items = await build_readiness(session=session, scope=scope, year=year, today=today)
    return split_message(render(items, scope=scope, year=year, today=today))
