"""起算日期: the first day an organisation's figures count.

Nothing counts before it could have happened: a period that ended before an org's start (or, for
a member, before the day they joined) is neither missed nor a readiness gap, and silences "in a
row" start there. An org starts on the day it is created; an admin can move the start of an org
and everything below it (`/org 起算日期 组织 日期`), for example to count an earlier month whose
records were entered by hand. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.errors import NEED_ROLE, Refused
from bot.members import Sender, resolve
from bot.periods import DAY_HINT, parse_day
from bot.roles import Role, has_role
from bot.services import Services
from storage import orgs as org_repo
from storage.models import Org

# The earliest start an admin may set: periods before it are out of every report's range.
EARLIEST = dt.date(2000, 1, 1)


class UnknownStartOrg(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class CountingStart:
    org: Org
    start: dt.date | None
    changed: int  # orgs whose start was set (the org and those below it); 0 when only shown


def day_text(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


async def counting_start(services: Services, sender: Sender, org_name: str, day: str | None) -> CountingStart:
    """Show (`day` None) or set the 起算日期 of `org_name` and every org below it; admins only."""
    today = services.clock.now().date()
    async with services.session() as session:
        actor = await resolve(session=session, services=services, user=sender)
        if not has_role(actor, Role.admin):
            raise Refused(NEED_ROLE[Role.admin])
        org = await org_repo.get_org_by_name(session=session, name=org_name)
        if org is None or org.id is None:
            raise UnknownStartOrg(org_name)
        if day is None:
            return CountingStart(org, org.counting_start, 0)
        start = parse_day(day, today)
        if start is None:
            raise Refused(f"没看懂这个日期。可以这样写：{DAY_HINT}")
        if start > today:
            raise Refused("起算日期不能晚于今天。")
        if start < EARLIEST:
            raise Refused(f"起算日期不能早于{day_text(EARLIEST)}。")
        ids = set(await org_repo.org_subtree_ids(session=session, root_id=org.id))
        changed = 0
        for row in await org_repo.list_orgs(session=session):
            if row.id in ids:
                before = row.counting_start
                row.counting_start = start
                session.add(row)
                changed += 1
                await org_repo.audit(
                    session=session,
                    actor=actor,
                    action="org.counting_start",
                    object_type="org",
                    object_id=row.id,
                    detail=f"{before}->{start}",
                )
        await session.flush()
    return CountingStart(org, start, changed)
