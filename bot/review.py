"""The secretary's review (审核): return a record with an opinion (退回 + 意见), the author fixes it
or answers, the secretary accepts it (通过).

A returned record counts for nothing (digest, targets, readiness) until its author changes its
category, date or fields (then it is 已修改 and counts again) or the secretary accepts it. A
secretary reviews the records of their org and everything below it (an admin: any); nobody reviews
their own. Every step is audited (record.return, record.answer, record.accept; record.revise in
bot.records) and shown in the ledger (审核状态, 意见).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.errors import NEED_ROLE, Refused
from bot.members import Sender, resolve
from bot.parsing.ledger import ledger_fields, present_count
from bot.records import may_change
from bot.roles import Role, has_role
from bot.services import Services
from storage import orgs as org_repo
from storage.models import DutyRecord, Member

MAX_OPINION = 500
LISTED = 8
STATUS_NAMES = {None: "", "returned": "已退回（待修改）", "revised": "已修改", "accepted": "已通过"}


@dataclass(frozen=True)
class Reviewed:
    record: DutyRecord
    author_telegram_id: int
    author_name: str
    reviewer_name: str
    reviewer_telegram_id: int | None  # who returned it (for an answer)
    text: str = ""  # the opinion or the answer


def _live(record: DutyRecord | None) -> DutyRecord:
    if record is None or record.deleted_at is not None:
        raise Refused("这条记录已撤销或不存在。", alert=True)
    return record


async def _reviewer(session: AsyncSession, services: Services, sender: Sender, record: DutyRecord) -> Member:
    actor = await resolve(session=session, services=services, user=sender)
    if actor is None or not has_role(actor, Role.secretary):
        raise Refused(NEED_ROLE[Role.secretary], alert=True)
    if record.member_id == actor.id:
        raise Refused("不能审核自己的记录。", alert=True)
    if not has_role(actor, Role.admin):
        scope = await org_repo.org_subtree_ids(session=session, root_id=actor.org_id)
        if record.org_id not in scope:
            raise Refused("只能审核本组织及下级组织的记录。", alert=True)
    return actor


async def to_review(
    services: Services, sender: Sender, start: dt.date, end: dt.date
) -> list[tuple[DutyRecord, str]]:
    """The latest records of the sender's subtree dated in [start, end] (not their own), with
    their authors' names, for the review list."""
    async with services.session(read_only=True) as session:
        actor = await resolve(session=session, services=services, user=sender)
        if actor is None or not has_role(actor, Role.secretary):
            raise Refused(NEED_ROLE[Role.secretary])
        query = (
            select(DutyRecord, col(Member.name))
            .join(Member, col(Member.id) == col(DutyRecord.member_id))
            .where(
                col(DutyRecord.deleted_at).is_(None),
                col(DutyRecord.date) >= start,
                col(DutyRecord.date) <= end,
                col(DutyRecord.member_id) != actor.id,
            )
            .order_by(col(DutyRecord.date).desc(), col(DutyRecord.id).desc())
            .limit(LISTED)
        )
        if not has_role(actor, Role.admin):
            scope = await org_repo.org_subtree_ids(session=session, root_id=actor.org_id)
            query = query.where(col(DutyRecord.org_id).in_(scope))
        return [(r, n) for r, n in (await session.execute(query)).all()]


async def return_record(services: Services, sender: Sender, record_id: int, opinion: str) -> Reviewed:
    """退回 with an opinion: the record counts for nothing until fixed or accepted."""
    opinion = " ".join(opinion.split())[:MAX_OPINION]
    if not opinion:
        raise Refused("请写一句退回意见，例如：/return 12 请补充参会人数和会议主题")
    async with services.session() as session:
        record = _live(await session.get(DutyRecord, record_id))
        actor = await _reviewer(session, services, sender, record)
        author = await session.get(Member, record.member_id)
        assert author is not None
        record.review_status, record.review_opinion, record.reviewed_by = "returned", opinion, actor.id
        session.add(record)
        await org_repo.audit(
            session=session,
            actor=actor,
            action="record.return",
            object_type="record",
            object_id=record.id,
            detail=opinion,
        )
        return Reviewed(record, author.telegram_id, author.name, actor.name, actor.telegram_id, opinion)


async def accept(services: Services, sender: Sender, record_id: int) -> Reviewed:
    """通过: the record counts as it stands."""
    async with services.session() as session:
        record = _live(await session.get(DutyRecord, record_id))
        actor = await _reviewer(session, services, sender, record)
        author = await session.get(Member, record.member_id)
        assert author is not None
        record.review_status, record.reviewed_by = "accepted", actor.id
        session.add(record)
        await org_repo.audit(
            session=session, actor=actor, action="record.accept", object_type="record", object_id=record.id
        )
        return Reviewed(record, author.telegram_id, author.name, actor.name, actor.telegram_id)


async def answer(services: Services, sender: Sender, record_id: int, text: str) -> Reviewed:
    """The author answers the opinion (回复书记): kept in the opinion thread and sent to the reviewer."""
    text = " ".join(text.split())[:MAX_OPINION]
    async with services.session() as session:
        record = _live(await session.get(DutyRecord, record_id))
        author = await resolve(session=session, services=services, user=sender)
        if author is None or author.id != record.member_id or not text:
            raise Refused("只能回复退回给您本人的记录。")
        reviewer = await session.get(Member, record.reviewed_by) if record.reviewed_by else None
        record.review_opinion = f"{record.review_opinion or ''}\n回复：{text}".strip()[: MAX_OPINION * 3]
        session.add(record)
        await org_repo.audit(
            session=session,
            actor=author,
            action="record.answer",
            object_type="record",
            object_id=record.id,
            detail=text,
        )
        return Reviewed(
            record,
            author.telegram_id,
            author.name,
            reviewer.name if reviewer else "",
            reviewer.telegram_id if reviewer else None,
            text,
        )


async def complete_ledger(services: Services, sender: Sender, record_id: int, text: str) -> DutyRecord:
    """补全台账 in one message: what it states (主题, 主持人, 记录人, 应到, 实到, 缺席, 地点) is set
    on the record, the rest kept; audited. Refused when it states nothing."""
    stated: dict[str, object] = dict(ledger_fields(text).stated())
    present = present_count(text)
    if present is not None:
        stated["participants"] = present
    if not stated:
        raise Refused(LEDGER_EXAMPLE)
    async with services.session() as session:
        record = _live(await session.get(DutyRecord, record_id))
        actor = await resolve(session=session, services=services, user=sender)
        if actor is None or not may_change(actor, record):
            raise Refused("只能补全自己的记录。")
        for key, value in stated.items():
            setattr(record, key, value)
        session.add(record)
        await org_repo.audit(
            session=session,
            actor=actor,
            action="record.ledger",
            object_type="record",
            object_id=record.id,
            detail=", ".join(sorted(stated)),
        )
        await session.flush()
        return record


LEDGER_EXAMPLE = (
    "没看出台账内容。可以这样写：主题为学习党章，由张三主持，记录人李四，应到25人，实到22人，"
    "缺席：王五（出差），地点党员活动室"
)
