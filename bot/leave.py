"""Leave (nobody on leave is nudged): a member reports it, lists it and cancels it.

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
from bot.errors import NOT_BOUND, Refused
from bot.periods import parse_days
from bot.services import Services
from storage import targets as repo
from storage.models import Leave, Member

MAX_LEAVE_DAYS = 366


class LeaveProblem(StrEnum):
    unreadable = "unreadable"  # the words do not start with a date
    no_such_day = "no_such_day"  # a date that looks like one but does not exist (2月30日)
    backwards = "backwards"  # the end is before the start
    too_long = "too_long"  # a year or more
    past = "past"  # it has ended already


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


def read_leave(text: str, today: dt.date) -> tuple[dt.date, dt.date, str]:
    """(start, end, reason) from `11月30日 12月5日 出差` (one date: one day); raises LeaveRefused."""
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
    if end < today:
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
    """Register leave from the words after /leave."""
    today = services.clock.now().date()
    async with services.session() as session:
        member = await _member(session, telegram_id)
        start, end, reason = read_leave(text, today)
        leave = await repo.add_leave(session=session, member=member, start=start, end=end, reason=reason)
    return LeaveAdded(leave, today)
