"""Leave (nobody on leave is nudged): a member reports it, lists it and cancels it.

Leave for past days (补登) is taken back `leave_backfill_days` days at most. An org that asks for
approval (`/leave 审批 开`, its secretary or an admin) gets backfilled leave pending: its days before
the day it was registered count only once a secretary approves it (refused: they never count), so
a period already reported does not change by itself. Which periods leave excuses is the rule in
`bot.targets.excused_by_leave` (at least half of a period's weekdays).

Each function is one unit of work for the sender's active Member (strangers are refused with
`bot.errors.NOT_BOUND`); `add_leave` raises `LeaveRefused` when the dates cannot be taken, and the
adapter words the problem.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin import find_member
from bot.errors import NEED_ROLE, NOT_BOUND, Refused
from bot.members import Sender, resolve, secretaries_of
from bot.periods import parse_days
from bot.roles import Role, has_role
from bot.services import Services
from storage import orgs
from storage import targets as repo
from storage.models import Leave, Member

MAX_LEAVE_DAYS = 366


class LeaveProblem(StrEnum):
    unreadable = "unreadable"  # the words do not start with a date
    no_such_day = "no_such_day"  # a date that looks like one but does not exist (2月30日)
    backwards = "backwards"  # the end is before the start
    too_long = "too_long"  # a year or more
    past = "past"  # it starts before the backfill window


class LeaveRefused(ValueError):
    def __init__(self, problem: LeaveProblem, text: str) -> None:
        super().__init__(problem)
        self.problem, self.text = problem, text


@dataclass(frozen=True)
class Leaves:
    leaves: list[Leave]  # earliest first
    today: dt.date


@dataclass(frozen=True)
class LeaveAdded:
    leave: Leave
    today: dt.date
    backfilled: bool = False  # it starts before today (补登)
    pending: bool = False  # the backfilled days wait for a secretary's approval
    member_name: str = ""
    secretaries: tuple[int, ...] = ()  # Telegram ids to ask (pending only)


@dataclass(frozen=True)
class LeaveDecision:
    leave: Leave
    approved: bool
    member_telegram_id: int
    already: bool  # decided before (nothing changed)


@dataclass(frozen=True)
class ApprovalSetting:
    org_name: str
    on: bool
    changed: int  # orgs set (0: only shown)


def read_leave(text: str, today: dt.date, backfill_days: int = 0) -> tuple[dt.date, dt.date, str]:
    """(start, end, reason) from `11月30日 12月5日 出差` (one date: one day), starting at most
    `backfill_days` before today; raises LeaveRefused."""
    days, reason = parse_days(text, today)
    if not days:
        raise LeaveRefused(LeaveProblem.unreadable, text)
    start = days[0]
    end = days[1] if len(days) > 1 else start
    if start is None or end is None:
        raise LeaveRefused(LeaveProblem.no_such_day, text)
    if end < start:
        raise LeaveRefused(LeaveProblem.backwards, text)
    if (end - start).days >= MAX_LEAVE_DAYS:
        raise LeaveRefused(LeaveProblem.too_long, text)
    if start < today - dt.timedelta(days=backfill_days):
        raise LeaveRefused(LeaveProblem.past, text)
    return start, end, reason


async def _member(session: AsyncSession, telegram_id: int) -> Member:
    member = await find_member(session=session, telegram_id=telegram_id)
    if member is None:
        raise Refused(NOT_BOUND)
    return member


async def current_leave(services: Services, telegram_id: int) -> Leaves:
    """The sender's leave from today on (not cancelled)."""
    today = services.clock.now().date()
    async with services.session() as session:
        member = await _member(session, telegram_id)
        assert member.id is not None
        return Leaves(await repo.list_leaves(session=session, member_id=member.id, since=today), today)


async def cancel_leave(services: Services, telegram_id: int) -> Leaves:
    """Cancel the sender's current and future leave; what was cancelled."""
    today = services.clock.now().date()
    async with services.session() as session:
        member = await _member(session, telegram_id)
        return Leaves(await repo.cancel_leaves(session=session, member=member, since=today), today)


async def add_leave(services: Services, telegram_id: int, text: str) -> LeaveAdded:
    """Register leave from the words after /leave (pending when backfilled in an org asking for
    approval: the secretaries to ask come back with it)."""
    today = services.clock.now().date()
    async with services.session() as session:
        member = await _member(session, telegram_id)
        start, end, reason = read_leave(text, today, services.settings.leave_backfill_days)
        org = await orgs.get_org(session=session, org_id=member.org_id)
        backfilled = start < today
        pending = backfilled and org is not None and org.leave_approval
        leave = await repo.add_leave(
            session=session,
            member=member,
            start=start,
            end=end,
            reason=reason,
            entered_on=today,
            status="pending" if pending else "approved",
        )
        asked = await secretaries_of(session, member) if pending else ()
    return LeaveAdded(leave, today, backfilled, pending, member.name, asked)


async def decide_leave(services: Services, sender: Sender, leave_id: int, approve: bool) -> LeaveDecision:
    """A secretary (the member's org or above) or an admin approves or refuses pending leave."""
    async with services.session() as session:
        actor = await resolve(session=session, services=services, user=sender)
        if actor is None or not has_role(actor, Role.secretary):
            raise Refused(NEED_ROLE[Role.secretary], alert=True)
        leave = await session.get(Leave, leave_id)
        member = await session.get(Member, leave.member_id) if leave else None
        if leave is None or member is None or leave.cancelled:
            raise Refused("这条请假已取消或不存在。", alert=True)
        if not has_role(actor, Role.admin):
            scope = await orgs.org_subtree_ids(session=session, root_id=actor.org_id)
            if member.org_id not in scope:
                raise Refused("只能处理本组织及下级组织的请假。", alert=True)
        if leave.status != "pending":
            return LeaveDecision(leave, leave.status == "approved", member.telegram_id, already=True)
        await repo.decide_leave(session=session, leave=leave, approve=approve, actor=actor)
        return LeaveDecision(leave, approve, member.telegram_id, already=False)


async def approval_setting(services: Services, sender: Sender, on: bool | None) -> ApprovalSetting:
    """Show (`on` None) or set whether backfilled leave in the sender's org and below needs a
    secretary's approval; secretaries and admins, audited."""
    async with services.session() as session:
        actor = await resolve(session=session, services=services, user=sender)
        if actor is None or not has_role(actor, Role.secretary):
            raise Refused(NEED_ROLE[Role.secretary])
        own = await orgs.get_org(session=session, org_id=actor.org_id)
        assert own is not None and own.id is not None
        if on is None:
            return ApprovalSetting(own.name, own.leave_approval, 0)
        ids = set(await orgs.org_subtree_ids(session=session, root_id=own.id))
        changed = 0
        for org in await orgs.list_orgs(session=session):
            if org.id in ids:
                org.leave_approval = on
                session.add(org)
                changed += 1
        await orgs.audit(
            session=session,
            actor=actor,
            action="leave.approval",
            object_type="org",
            object_id=own.id,
            detail=f"on={on} orgs={changed}",
        )
        return ApprovalSetting(own.name, on, changed)
