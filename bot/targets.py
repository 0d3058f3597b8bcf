"""Quantified targets (量化指标) and their status for any member or org on any date.

A target asks for at least `count` live records of a category and/or a form (the rule keyword that
decided a record, e.g. 党课) per period (week, month, quarter, year).

Whom it binds:
- scope "org": every org whose kind matches `org_kind` (None: every org); any live record of the
  org counts. Its secretary answers for it.
- scope "member": every member whose role matches `role` and whose org kind matches `org_kind`
  (None: any); only the member's own records count.

State of one target for one subject, evaluated on date `on` for the period containing `period_of`
(default: `on`), counting the records dated in the period up to `until` (default: its last day),
in this order:
0. not_started – the period ended before the subject's figures count: the org's 起算日期 (for a
              member also their joining day); neither missed nor a gap;
1. excused  – the member's leave covers at least half of the period's weekdays (Monday to Friday;
              member statuses only, never for an org): one day of leave excuses no week, a week
              of leave excuses no month (`excused_by_leave`);
2. done     – done >= required;
3. exempt   – an exemption (本期不涉及) is recorded for the target and period (for an org target:
              by any member of the org);
4. overdue  – the period ended before `on`;
5. at_risk  – days_left <= AT_RISK_DAYS[period] * missing (few days left for what is missing);
6. due      – otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import shown
from bot.parsing.numbers import cn_to_int
from bot.periods import PERIOD_NAMES, period_bounds, period_label
from storage import targets as repo
from storage.models import Exemption, Member, Org, Target
from storage.orgs import audit

DATA_FILE = Path(__file__).resolve().parent / "data" / "targets.json"
# At risk when the days left are at most this many per missing record.
AT_RISK_DAYS: dict[str, int] = {"week": 2, "month": 7, "quarter": 21, "year": 60}
STATES: tuple[str, ...] = ("done", "due", "at_risk", "overdue", "excused", "exempt", "not_started")
# States that neither count as done nor as missed (left out of tallies and readiness).
UNCOUNTED: tuple[str, ...] = ("excused", "not_started")


@cache
def _data() -> dict[str, Any]:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def default_targets() -> list[dict[str, Any]]:
    """The shipped default targets (三会一课 norms and 谈心谈话 for secretaries)."""
    return [dict(row) for row in _data()["targets"]]


@cache
def _alias_map() -> dict[str, str]:
    out: dict[str, str] = {}
    for canonical, aliases in _data()["aliases"].items():
        out[canonical] = canonical
        for alias in aliases:
            out[alias] = canonical
    return out


def canonical_form(keyword: str | None) -> str | None:
    """The canonical form of a rule keyword (支部委员会 → 支委会); unknown keywords stay as they are."""
    if keyword is None:
        return None
    keyword = keyword.strip()
    return _alias_map().get(keyword, keyword)


@cache
def composites() -> dict[str, tuple[str, ...]]:
    """Composite forms (三会一课) and the canonical forms they are made of, in ledger order."""
    return {
        name: tuple(canonical_form(form) or form for form in forms)
        for name, forms in _data().get("composites", {}).items()
    }


def composite_members(name: str) -> tuple[str, ...]:
    """The member forms as named in the data file (支部党员大会, 支委会, 党小组会, 党课)."""
    return tuple(_data().get("composites", {}).get(name, ()))


def form_aliases() -> dict[str, list[str]]:
    return {k: list(v) for k, v in _data()["aliases"].items()}


@dataclass(frozen=True)
class TargetStatus:
    target_id: int
    name: str
    category: str | None
    form: str | None
    period: str
    required: int
    done: int
    period_start: dt.date
    period_end: dt.date
    days_left: int  # (period_end - on).days; negative when asking about a period that has ended
    state: str  # done | due | at_risk | overdue | excused | exempt | not_started
    subject: str  # member | org
    org_id: int
    member_id: int | None
    exempt_reason: str = ""  # exempt: the reason given (本期不涉及：出差)

    @property
    def on(self) -> dt.date:
        return self.period_end - dt.timedelta(days=self.days_left)

    @property
    def missing(self) -> int:
        return max(self.required - self.done, 0)

    @property
    def open(self) -> bool:
        """Whether someone still has to act (due or at risk): what nudges are about."""
        return self.state in ("due", "at_risk")

    def label(self) -> str:
        """本月支委会 / 上季度党课 / 11月支委会."""
        return f"{period_label(self.period, self.period_start, today=self.on)}{self.name}"

    def describe(self) -> str:
        """One short Chinese line, e.g. 本月支委会尚未记录，还剩5天."""
        label = self.label()
        tally = f"{self.done}/{self.required} 次"
        if self.state == "excused":
            return f"{label}：请假中，本期不作要求"
        if self.state == "not_started":
            return f"{label}：在起算日期之前，不作统计"
        if self.state == "exempt":
            return f"{label}：本期不涉及"
        if self.state == "done":
            return f"{label}已完成" if self.required == 1 else f"{label}已完成（{tally}）"
        progress = f"{label}尚未记录" if self.done == 0 else f"{label} {tally}"
        if self.state == "overdue":
            return f"{progress}，未完成" if self.done == 0 else f"{progress}，未达到要求"
        left = "今天是最后一天" if self.days_left == 0 else f"还剩{self.days_left}天"
        return f"{progress}，{left}"


def closed_state(status: TargetStatus, today: dt.date) -> TargetStatus:
    """A status judged on its period's last day, seen from `today`: unmet and ended, it is overdue."""
    if status.open and status.period_end < today:
        return replace(status, state="overdue")
    return status


def state_of(
    *,
    required: int,
    done: int,
    period: str,
    days_left: int,
    excused: bool,
    exempt: bool,
    started: bool = True,
) -> str:
    """The state rule documented at the top of this module."""
    if not started:
        return "not_started"
    if excused:
        return "excused"
    if done >= required:
        return "done"
    if exempt:
        return "exempt"
    if days_left < 0:
        return "overdue"
    if days_left <= AT_RISK_DAYS[period] * (required - done):
        return "at_risk"
    return "due"


def _weekdays(start: dt.date, end: dt.date) -> set[dt.date]:
    days = (end - start).days + 1
    return {d for d in (start + dt.timedelta(days=i) for i in range(max(days, 0))) if d.weekday() < 5}


def excused_by_leave(spans: Sequence[tuple[dt.date, dt.date]], start: dt.date, end: dt.date) -> bool:
    """Whether leave (spans of days that count) excuses the period [start, end]: it covers at
    least half of the period's weekdays."""
    period = _weekdays(start, end)
    if not period or not spans:
        return False
    covered: set[dt.date] = set()
    for first, last in spans:
        covered |= _weekdays(max(first, start), min(last, end))
    return 2 * len(covered & period) >= len(period)


def binds_member(target: Target | _Rule, *, role: str, org_kind: str | None) -> bool:
    return (
        target.scope == "member"
        and (target.role is None or target.role == role)
        and (target.org_kind is None or target.org_kind == org_kind)
    )


def binds_org(target: Target | _Rule, *, org_kind: str | None) -> bool:
    return target.scope != "member" and (target.org_kind is None or target.org_kind == org_kind)


@dataclass(frozen=True, slots=True)
class _Rule:
    """A target read once into plain values, with its period for the date asked about."""

    id: int
    name: str
    category: str | None
    form: str | None  # as the admin wrote it
    canonical: str | None  # the form the records are matched on
    count: int
    period: str
    org_kind: str | None
    role: str | None
    scope: str
    start: dt.date
    end: dt.date


def _rules(targets: Iterable[Target], period_of: dt.date) -> list[_Rule]:
    out = []
    for t in targets:
        assert t.id is not None  # read from the database
        start, end = period_bounds(t.period, period_of)
        out.append(
            _Rule(
                id=t.id,
                name=t.name,
                category=t.category,
                form=t.form,
                canonical=canonical_form(t.form),
                count=t.count,
                period=t.period,
                org_kind=t.org_kind,
                role=t.role,
                scope=t.scope,
                start=start,
                end=end,
            )
        )
    return out


class _Tally:
    """Record counts per subject, indexed the three ways a target can ask for them."""

    def __init__(self) -> None:
        self.by_category: dict[tuple[int, str], int] = defaultdict(int)
        self.by_form: dict[tuple[int, str | None, str], int] = defaultdict(int)
        self.by_form_any: dict[tuple[int, str], int] = defaultdict(int)

    def add(self, rows: Iterable[tuple[int, str, str | None, int]]) -> None:
        for subject, category, keyword, n in rows:
            self.by_category[(subject, category)] += n
            form = canonical_form(keyword)
            if form:
                self.by_form[(subject, category, form)] += n
                self.by_form_any[(subject, form)] += n

    def count(self, subject: int, rule: _Rule) -> int:
        parts = composites().get(rule.canonical or "")
        if parts:  # a composite counts its own keyword and every record of its member forms
            forms = (rule.canonical or "", *parts)
            if rule.category:
                return sum(self.by_form.get((subject, rule.category, f), 0) for f in forms)
            return sum(self.by_form_any.get((subject, f), 0) for f in forms)
        if rule.canonical and rule.category:
            return self.by_form.get((subject, rule.category, rule.canonical), 0)
        if rule.canonical:
            return self.by_form_any.get((subject, rule.canonical), 0)
        if rule.category:
            return self.by_category.get((subject, rule.category), 0)
        return 0


def _categories(rules: Sequence[_Rule]) -> list[str] | None:
    """Categories to restrict the count query to (None when some target names only a form)."""
    if any(r.category is None for r in rules):
        return None
    return sorted({r.category for r in rules if r.category})


async def _tallies(
    *, session: AsyncSession, by: str, ids: Sequence[int], rules: Sequence[_Rule], until: dt.date | None
) -> dict[str, _Tally]:
    """One tally per period used by `rules` (a query per period, not per subject), counting the
    records dated in the period up to `until`."""
    out: dict[str, _Tally] = {}
    for period in sorted({r.period for r in rules}):
        same = [r for r in rules if r.period == period]
        tally = _Tally()
        if ids:
            tally.add(
                await repo.record_counts(
                    session=session,
                    by=by,
                    ids=ids,
                    start=same[0].start,
                    end=same[0].end if until is None else min(same[0].end, until),
                    categories=_categories(same),
                )
            )
        out[period] = tally
    return out


def _status(
    rule: _Rule,
    *,
    done: int,
    subject: str,
    org_id: int,
    member_id: int | None,
    on: dt.date,
    excused: bool,
    exempt: str | None,
    start: dt.date | None,
) -> TargetStatus:
    """`exempt`: the reason of an exemption for the period (None: none recorded)."""
    days_left = (rule.end - on).days
    state = state_of(
        required=rule.count,
        done=done,
        period=rule.period,
        days_left=days_left,
        excused=excused,
        exempt=exempt is not None,
        started=start is None or start <= rule.end,
    )
    return TargetStatus(
        target_id=rule.id,
        name=rule.name,
        category=rule.category,
        form=rule.form,
        period=rule.period,
        required=rule.count,
        done=done,
        period_start=rule.start,
        period_end=rule.end,
        days_left=days_left,
        state=state,
        subject=subject,
        org_id=org_id,
        member_id=member_id,
        exempt_reason=exempt or "",
    )


async def _targets(session: AsyncSession, period: str | None) -> list[Target]:
    """The targets to judge: all, or only those counted per `period` (week, month, …)."""
    return [t for t in await repo.list_targets(session=session) if period is None or t.period == period]


async def statuses_for_orgs(
    *,
    session: AsyncSession,
    org_ids: list[int],
    on: dt.date,
    period_of: dt.date | None = None,
    period: str | None = None,
    until: dt.date | None = None,
) -> dict[int, list[TargetStatus]]:
    """Org-scoped targets of each org (by its kind), counting the org's own live records (dated up
    to `until`, when given); with `period`, only the targets counted per that period.

    A handful of queries whatever the number of orgs. Orgs that do not exist are left out.
    """
    period_of = period_of or on
    rules = _rules((t for t in await _targets(session, period) if t.scope != "member"), period_of)
    kinds = await repo.org_kinds(session=session, org_ids=org_ids)
    out: dict[int, list[TargetStatus]] = {org_id: [] for org_id in org_ids if org_id in kinds}
    if not rules or not out:
        return out
    ids = list(out)
    tallies = await _tallies(session=session, by="org", ids=ids, rules=rules, until=until)
    exempt = await repo.exemptions_by_org(
        session=session, org_ids=ids, target_ids=[r.id for r in rules], starts=[r.start for r in rules]
    )
    by_kind: dict[str | None, list[_Rule]] = {}
    for org_id in ids:
        kind, start = kinds[org_id]
        if kind not in by_kind:
            by_kind[kind] = [r for r in rules if binds_org(r, org_kind=kind)]
        out[org_id] = [
            _status(
                r,
                done=tallies[r.period].count(org_id, r),
                subject="org",
                org_id=org_id,
                member_id=None,
                on=on,
                excused=False,
                exempt=exempt.get((org_id, r.id, r.start)),
                start=start,
            )
            for r in by_kind[kind]
        ]
    return out


async def org_statuses(
    *, session: AsyncSession, org: Org, on: dt.date, period_of: dt.date | None = None
) -> list[TargetStatus]:
    """Org-scoped targets binding this org (by kind), counting the org's own records."""
    assert org.id is not None
    result = await statuses_for_orgs(session=session, org_ids=[org.id], on=on, period_of=period_of)
    return result.get(org.id, [])


def _answers_for_org(role: str) -> bool:
    """Who answers for an org's targets: its secretary."""
    return role == "secretary"


def _plan(rules: Sequence[_Rule], role: str, kind: str | None) -> list[tuple[_Rule, bool]]:
    """The rules a member with this role in an org of this kind answers for; True: an org rule."""
    out = []
    for r in rules:
        if r.scope == "member":
            if binds_member(r, role=role, org_kind=kind):
                out.append((r, False))
        elif _answers_for_org(role) and binds_org(r, org_kind=kind):
            out.append((r, True))
    return out


class Person(Protocol):
    """A member as statuses need it: a Member row or a plain stats.MemberRow."""

    @property
    def id(self) -> int | None: ...
    @property
    def org_id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def joined_on(self) -> dt.date | None: ...


async def members_statuses(
    *,
    session: AsyncSession,
    members: Sequence[Person],
    on: dt.date,
    period_of: dt.date | None = None,
    period: str | None = None,
    org_targets: bool = True,
    until: dt.date | None = None,
) -> dict[int, list[TargetStatus]]:
    """The targets each member answers for, keyed by member id, in a handful of queries; with
    `period`, only the targets counted per that period; with org_targets=False, only member-scoped
    targets (for callers that judge the orgs themselves).

    Member-scoped targets binding the member's role and org kind count their own records; a
    secretary also answers for the org-scoped targets of their org (counting all its records).
    A member whose leave covers half of a target period's weekdays gets "excused" for it (see the
    module docstring); periods ended before the member
    joined (or their org's 起算日期) are "not_started".
    """
    period_of = period_of or on
    # (id, org id, role) read once: plain values are much cheaper than ORM attributes in the loop
    people = [(m.id, m.org_id, m.role) for m in members if m.id is not None]
    joined = {m.id: m.joined_on for m in members if m.id is not None}
    out: dict[int, list[TargetStatus]] = {mid: [] for mid, _, _ in people}
    rules = _rules(
        (t for t in await _targets(session, period) if org_targets or t.scope == "member"), period_of
    )
    if not people or not rules:
        return out
    facts = await repo.org_kinds(session=session, org_ids=[org_id for _, org_id, _ in people])
    kinds = {org_id: kind for org_id, (kind, _) in facts.items()}
    org_starts = {org_id: start for org_id, (_, start) in facts.items()}
    plans: dict[tuple[str, str | None], list[tuple[_Rule, bool]]] = {}
    for _, org_id, role in people:
        key = (role, kinds.get(org_id))
        if key not in plans:
            plans[key] = _plan(rules, *key)
    member_rules = [r for r in rules if r.scope == "member"]
    org_rules = [r for r in rules if r.scope != "member"]
    bound = [mid for mid, org_id, role in people if any(not o for _, o in plans[(role, kinds.get(org_id))])]
    org_ids = sorted({org_id for _, org_id, role in people if _answers_for_org(role)})

    spans = await repo.leave_spans(
        session=session,
        member_ids=[mid for mid, _, _ in people],
        start=min(r.start for r in rules),
        end=max(r.end for r in rules),
    )
    member_tallies = await _tallies(session=session, by="member", ids=bound, rules=member_rules, until=until)
    member_exempt = await repo.exemptions_by_member(
        session=session,
        member_ids=bound,
        target_ids=[r.id for r in member_rules],
        starts=[r.start for r in member_rules],
    )
    org_tallies = await _tallies(session=session, by="org", ids=org_ids, rules=org_rules, until=until)
    org_exempt = (
        await repo.exemptions_by_org(
            session=session,
            org_ids=org_ids,
            target_ids=[r.id for r in org_rules],
            starts=[r.start for r in org_rules],
        )
        if org_ids
        else {}
    )

    for mid, org_id, role in people:
        leave = spans.get(mid, [])
        statuses = out[mid]
        org_start = org_starts.get(org_id)
        member_start = max(joined[mid] or dt.date.min, org_start or dt.date.min)
        for r, for_org in plans[(role, kinds.get(org_id))]:
            subject_id = org_id if for_org else mid
            tally, exempt = (org_tallies, org_exempt) if for_org else (member_tallies, member_exempt)
            statuses.append(
                _status(
                    r,
                    done=tally[r.period].count(subject_id, r),
                    subject="org" if for_org else "member",
                    org_id=org_id,
                    member_id=mid,
                    on=on,
                    excused=excused_by_leave(leave, r.start, r.end),
                    exempt=exempt.get((subject_id, r.id, r.start)),
                    start=org_start if for_org else member_start,
                )
            )
    return out


async def member_statuses(
    *, session: AsyncSession, member: Member, on: dt.date, period_of: dt.date | None = None
) -> list[TargetStatus]:
    """The targets this member answers for (see members_statuses)."""
    result = await members_statuses(session=session, members=[member], on=on, period_of=period_of)
    assert member.id is not None
    return result[member.id]


async def record_exemption(
    *, session: AsyncSession, member: Member, target_id: int, on: dt.date, reason: str = ""
) -> Exemption | None:
    """本期不涉及: the member explains a gap for the target's period containing `on` (idempotent);
    returns the exemption (the one recorded before, when there was one)."""
    target = await repo.get_target(session=session, target_id=target_id)
    if target is None:
        raise LookupError(f"no target {target_id}")
    start, _ = period_bounds(target.period, on)
    assert member.id is not None
    added = await repo.add_exemption(
        session=session,
        member_id=member.id,
        target_id=target_id,
        period_start=start,
        reason=reason,
    )
    if added:
        await audit(
            session=session,
            actor=member,
            action="nudge.exempt",
            object_type="target",
            object_id=target_id,
            detail=f"{target.name} {target.period} {start.isoformat()} {reason}".strip(),
        )
    return await repo.find_exemption(
        session=session, member_id=member.id, target_id=target_id, period_start=start
    )


async def is_on_leave(*, session: AsyncSession, member_id: int, on: dt.date) -> bool:
    return member_id in await repo.members_on_leave(session=session, member_ids=[member_id], on=on)


async def seed_defaults(*, session: AsyncSession) -> int:
    """Seed the shipped default targets once (never again after an admin changed them)."""
    return await repo.seed_defaults(session=session, defaults=default_targets())


def target_summary(target: Target, category_names: dict[str, str] | None = None) -> str:
    """#3 支委会 · 每月 1 次 · 党支部 (for lists and confirmations)."""
    from storage.models import ORG_KIND_NAMES, ROLE_NAMES

    what = target.name
    members = composite_members(canonical_form(target.form) or "")
    if members:
        what = f"{what}（{'、'.join(members)}）"
    elif (
        category_names
        and target.category
        and target.form is None
        and target.name != category_names.get(target.category, target.category)
    ):
        what = f"{what}（{category_names.get(target.category, target.category)}）"
    parts = [f"#{target.id} {what}", f"{PERIOD_NAMES.get(target.period, target.period)} {target.count} 次"]
    whom = []
    if target.org_kind:
        whom.append(ORG_KIND_NAMES.get(target.org_kind, target.org_kind))
    if target.scope == "member":
        whom.append(f"每名{ROLE_NAMES.get(target.role, '党员')}" if target.role else "每人")
    else:
        whom.append("按组织")
    return " · ".join(parts + whom)


def composite_summaries(targets: Sequence[Target]) -> list[str]:
    """三会一课：支部党员大会 #3 每季度1次 · 支委会 #1 每月1次 · … (each member form's own norm)."""
    lines = []
    for name, forms in composites().items():
        norms = []
        for shown_as, form in zip(composite_members(name), forms, strict=True):
            own = [t for t in targets if canonical_form(t.form) == form]
            norm = "、".join(f"#{t.id} {PERIOD_NAMES.get(t.period, t.period)}{t.count}次" for t in own)
            norms.append(f"{shown_as} {norm or '未设指标'}")
        lines.append(f"{name}：{' · '.join(norms)}")
    return lines


# --- reading `/target set` arguments -------------------------------------------------------------
SET_EXAMPLES: tuple[str, ...] = (
    "/target set 支委会 每月 1 次 支部",
    "/target set 谈心谈话 每月 2 次 书记",
    "/target set 党课 每季度 1 次",
    "/target set 学习教育 每周 1 次 每人",
)
_PERIOD_WORDS = {
    "周": "week",
    "星期": "week",
    "月": "month",
    "个月": "month",
    "季": "quarter",
    "季度": "quarter",
    "年": "year",
    "年度": "year",
}
_PERIOD_RE = re.compile(
    r"每\s*(个月|季度|年度|星期|周|月|季|年)|\b(week|month|quarter|year)(?:ly)?\b", re.IGNORECASE
)
_COUNT_RE = re.compile(
    r"(?:至少|不少于|最少)?\s*(?:(\d+)\s*(?:次|场|回|个)?|([一二两三四五六七八九十]+)\s*(?:次|场|回))(?!\d)"
)
_ORG_KIND_WORDS = {
    "党委": "committee",
    "党总支": "general_branch",
    "总支": "general_branch",
    "党支部": "branch",
    "支部": "branch",
}
# Words naming whom a member-scoped target binds; None is every member.
_ROLE_WORDS: dict[str, str | None] = {
    "书记": "secretary",
    "支部书记": "secretary",
    "党员": "cadre",
    "干部": "cadre",
    "管理员": "admin",
    "每人": None,
    "人人": None,
    "每名党员": None,
    "全体": None,
    "全体党员": None,
    "所有人": None,
    "个人": None,
}
MAX_COUNT = 100


class TargetSpecError(ValueError):
    """`/target set` arguments that cannot be read; the message is Chinese, for the user."""


@dataclass(frozen=True)
class TargetSpec:
    name: str
    category: str | None
    form: str | None
    count: int
    period: str
    org_kind: str | None
    role: str | None
    scope: str

    def fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "category": self.category,
            "form": self.form,
            "count": self.count,
            "period": self.period,
            "org_kind": self.org_kind,
            "role": self.role,
            "scope": self.scope,
        }


def resolve_subject(
    word: str, *, categories: dict[str, str], keywords: dict[str, str]
) -> tuple[str | None, str | None]:
    """(category, form) named by a word: a category (谈心谈话, talk) or a form keyword (党课, 支部委员会)."""
    by_name = {name: code for code, name in categories.items()}
    if word in by_name:
        return by_name[word], None
    if word in categories:
        return word, None
    form = canonical_form(word) or word
    for candidate in (word, form, *_data()["aliases"].get(form, [])):
        if candidate in keywords:
            return keywords[candidate], form
    if form in _data()["aliases"]:
        return None, form
    return None, None


def parse_target_spec(text: str, *, categories: dict[str, str], keywords: dict[str, str]) -> TargetSpec:
    """Read `支委会 每月 1 次 支部` (any order). Raises TargetSpecError with a Chinese message."""
    rest = re.sub(r"[，,、;；]+", " ", text.replace("\u3000", " ")).strip()
    if not rest:
        raise TargetSpecError("请写明指标内容、周期和次数")
    periods = list(_PERIOD_RE.finditer(rest))
    if not periods:
        raise TargetSpecError("请写明周期：每周、每月、每季度或每年")
    if len(periods) > 1:
        raise TargetSpecError("只能写一个周期（每周、每月、每季度或每年）")
    m = periods[0]
    period = _PERIOD_WORDS[m.group(1)] if m.group(1) else m.group(2).lower()
    rest = f"{rest[: m.start()]} {rest[m.end() :]}"
    count = 1
    counts = list(_COUNT_RE.finditer(rest))
    counts = [c for c in counts if c.group(1) or c.group(2)]
    if len(counts) > 1:
        raise TargetSpecError("只能写一个次数，例如“2 次”")
    if counts:
        c = counts[0]
        value = int(c.group(1)) if c.group(1) else cn_to_int(c.group(2))
        if value is None or not 1 <= value <= MAX_COUNT:
            raise TargetSpecError(f"次数请写 1 到 {MAX_COUNT} 之间的整数")
        count = value
        rest = f"{rest[: c.start()]} {rest[c.end() :]}"
    org_kind: str | None = None
    role: str | None = None
    per_member = False
    subject: tuple[str, str | None, str | None] | None = None
    for word in rest.split():
        if word in _ORG_KIND_WORDS:
            org_kind = _ORG_KIND_WORDS[word]
        elif word in _ROLE_WORDS:
            role, per_member = _ROLE_WORDS[word], True
        elif subject is None:
            category, form = resolve_subject(word, categories=categories, keywords=keywords)
            if category is None and form is None:
                names = "、".join(categories.values())
                raise TargetSpecError(
                    f"不认识“{word}”。可以写类别（{names}），或活动形式（支委会、党课、主题党日等）"
                )
            subject = (word, category, form)
        else:
            raise TargetSpecError(f"没看懂“{shown(word)}”")
    if subject is None:
        raise TargetSpecError("请写明是哪项工作，例如 支委会、党课、谈心谈话")
    name, category, form = subject
    return TargetSpec(
        name=name,
        category=category,
        form=form,
        count=count,
        period=period,
        org_kind=org_kind,
        role=role,
        scope="member" if per_member else "org",
    )
