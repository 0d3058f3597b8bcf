"""本期不涉及 with a reason, seen and checked by the secretary.

A member who answers a nudge with 本期不涉及 is asked why (one sentence, by replying to the
question); the reason goes to the secretaries of the member's organisation (the nearest org up the
tree that has one), who may reject it: a rejected exemption no longer counts, and the member is
told the duty stands for this period. The digest shows exemptions apart from work done, with their
reasons. Every reason and rejection is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NEED_ROLE, Refused
from bot.members import Sender, resolve, secretaries_of
from bot.periods import period_label
from bot.roles import Role, has_role
from bot.services import Services
from storage import orgs as org_repo
from storage import targets as repo
from storage.models import Exemption, Member, Target

REASON_PROMPT = "📝 请用一句话说明本期不涉及的原因（直接回复这条消息），例如：出差、本期没有发展对象。"
MAX_REASON = 200


@dataclass(frozen=True)
class ReasonGiven:
    exemption_id: int
    member_name: str
    label: str  # 本月支委会
    reason: str
    secretaries: tuple[int, ...]  # Telegram ids to tell


@dataclass(frozen=True)
class Rejection:
    member_telegram_id: int
    member_name: str
    label: str
    already: bool  # it had been rejected before (nothing changed)


async def _label(session: AsyncSession, exemption: Exemption, today: dt.date) -> str:
    target = await session.get(Target, exemption.target_id)
    if target is None:
        return "该指标"
    return f"{period_label(target.period, exemption.period_start, today=today)}{target.name}"


async def remember_prompt(services: Services, exemption_id: int, message_id: int) -> None:
    """The question asking for the reason was sent as `message_id`: a reply to it is the reason."""
    async with services.session() as session:
        exemption = await session.get(Exemption, exemption_id)
        if exemption is not None:
            exemption.prompt_message_id = message_id
            session.add(exemption)


async def give_reason(
    services: Services, telegram_id: int, prompt_message_id: int, text: str
) -> ReasonGiven | None:
    """Store the reason a member wrote in reply to the question; None when the question is not theirs."""
    today = services.clock.now().date()
    reason = " ".join(text.split())[:MAX_REASON]
    async with services.session() as session:
        member = await org_repo.get_member(session=session, telegram_id=telegram_id)
        if member is None or member.id is None or not reason:
            return None
        exemption = await repo.exemption_by_prompt(
            session=session, member_id=member.id, message_id=prompt_message_id
        )
        if exemption is None or exemption.id is None:
            return None
        exemption.reason = reason
        session.add(exemption)
        await org_repo.audit(
            session=session,
            actor=member,
            action="exemption.reason",
            object_type="exemption",
            object_id=exemption.id,
            detail=reason,
        )
        return ReasonGiven(
            exemption.id,
            member.name,
            await _label(session, exemption, today),
            reason,
            await secretaries_of(session, member),
        )


async def reject(services: Services, sender: Sender, exemption_id: int) -> Rejection:
    """A secretary (the member's org or above) or an admin rejects an exemption. Raises Refused."""
    now = services.clock.now()
    async with services.session() as session:
        actor = await resolve(session=session, services=services, user=sender)
        if actor is None or not has_role(actor, Role.secretary):
            raise Refused(NEED_ROLE[Role.secretary], alert=True)
        exemption = await session.get(Exemption, exemption_id)
        member = await session.get(Member, exemption.member_id) if exemption else None
        if exemption is None or member is None:
            raise Refused("这条说明已不存在。", alert=True)
        if not has_role(actor, Role.admin):
            scope = await org_repo.org_subtree_ids(session=session, root_id=actor.org_id)
            if member.org_id not in scope:
                raise Refused("只能处理本组织及下级组织的说明。", alert=True)
        label = await _label(session, exemption, now.date())
        if exemption.rejected_at is not None:
            return Rejection(member.telegram_id, member.name, label, already=True)
        exemption.rejected_at = now
        exemption.rejected_by = actor.id
        session.add(exemption)
        await org_repo.audit(
            session=session,
            actor=actor,
            action="exemption.reject",
            object_type="exemption",
            object_id=exemption.id,
            detail=f"member={member.id} reason={exemption.reason}",
        )
        return Rejection(member.telegram_id, member.name, label, already=False)
