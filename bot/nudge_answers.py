"""A member's answer to a nudge: 去报告 (report), 本期不涉及 (exempt), 稍后提醒 (snooze).

`answer_nudge` checks that the nudge (a Delivery) was sent to the one answering, then records the
answer in one unit of work and returns what the adapter needs to show: the snooze time, or the
open targets and those the exemption is about.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from bot import outbox
from bot.services import Services
from bot.targets import TargetStatus, record_exemption
from storage.models import Delivery, Member
from storage.orgs import audit


class NudgeAnswer(StrEnum):
    report = "report"  # they will report: nothing to record
    exempt = "exempt"  # 本期不涉及 for one open target (target_id, or the only open one)
    snooze = "snooze"  # remind again in two hours (at most twice)


@dataclass(frozen=True)
class Answered:
    mine: bool  # the nudge was sent to the one answering (else nothing was done)
    snoozed_until: dt.datetime | None = None  # snooze: when it comes back (UTC); None: no more
    open: list[TargetStatus] = field(default_factory=list)  # exempt: the open targets before it
    chosen: list[TargetStatus] = field(default_factory=list)  # exempt: those it may be about
    exemption_id: int | None = None  # exempt: the exemption recorded
    needs_reason: bool = False  # exempt: no reason given yet (the adapter asks for one)

    @property
    def exempted(self) -> TargetStatus | None:
        """The target recorded as 本期不涉及 (exactly one was chosen), if any."""
        return self.chosen[0] if len(self.chosen) == 1 else None


async def answer_nudge(
    services: Services, telegram_id: int, answer: NudgeAnswer, delivery_id: int, target_id: int | None = None
) -> Answered:
    """Record a member's answer to the nudge `delivery_id`. An exemption is recorded only when it
    names one open target (several open and none named: the adapter asks which)."""
    now = services.clock.now()
    async with services.session() as session:
        delivery = await session.get(Delivery, delivery_id)
        member = await session.get(Member, delivery.member_id) if delivery else None
        if member is None or member.telegram_id != telegram_id:
            return Answered(mine=False)
        if answer == NudgeAnswer.report:
            return Answered(mine=True)
        if answer == NudgeAnswer.snooze:
            until = await outbox.snooze(session=session, delivery_id=delivery_id, now=now)
            if until is not None:
                await audit(
                    session=session,
                    actor=member,
                    action="nudge.snooze",
                    object_type="delivery",
                    object_id=delivery_id,
                    detail=f"until={until.isoformat()}",
                )
            return Answered(mine=True, snoozed_until=until)
        statuses = await outbox.open_statuses(session=session, member=member, on=now.date())
        chosen = [s for s in statuses if target_id is None or s.target_id == target_id]
        if len(chosen) != 1:
            return Answered(mine=True, open=statuses, chosen=chosen)
        exemption = await record_exemption(
            session=session, member=member, target_id=chosen[0].target_id, on=now.date()
        )
    return Answered(
        mine=True,
        open=statuses,
        chosen=chosen,
        exemption_id=exemption.id if exemption else None,
        needs_reason=exemption is not None and not exemption.reason,
    )
