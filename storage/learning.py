"""Repository functions for learning from corrections: unread messages, labelled examples, rule
suggestions and the rule overlay (keyword-only, over a session)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import DutyRecord, LabelledExample, RuleChange, RuleSuggestion, UnreadMessage, utcnow


# --- unread messages -----------------------------------------------------------------------------
async def add_unread(
    *,
    session: AsyncSession,
    org_id: int,
    member_id: int,
    chat_id: int,
    message_id: int,
    text: str,
    sent_at: dt.datetime,
) -> None:
    """Keep a message no rule read (unique per message: a redelivery raises IntegrityError)."""
    session.add(
        UnreadMessage(
            org_id=org_id,
            member_id=member_id,
            chat_id=chat_id,
            message_id=message_id,
            text=text,
            sent_at=sent_at,
        )
    )
    await session.flush()


async def get_unread(*, session: AsyncSession, chat_id: int, message_id: int) -> UnreadMessage | None:
    query = select(UnreadMessage).where(
        col(UnreadMessage.chat_id) == chat_id, col(UnreadMessage.message_id) == message_id
    )
    return (await session.execute(query)).scalar_one_or_none()


def _no_records() -> ColumnElement[bool]:
    """UnreadMessage rows whose message has no record (nobody filed it, no rule read it)."""
    return ~(
        select(col(DutyRecord.id))
        .where(
            and_(
                col(DutyRecord.chat_id) == col(UnreadMessage.chat_id),
                col(DutyRecord.message_id) == col(UnreadMessage.message_id),
            )
        )
        .exists()
    )


async def unread_without_records(
    *, session: AsyncSession, since: dt.datetime, org_ids: list[int] | None = None, limit: int = 20000
) -> list[UnreadMessage]:
    """Unread messages sent since `since` that still have no record, oldest first."""
    query = select(UnreadMessage).where(col(UnreadMessage.sent_at) >= since, _no_records())
    if org_ids is not None:
        query = query.where(col(UnreadMessage.org_id).in_(org_ids))
    query = query.order_by(col(UnreadMessage.sent_at), col(UnreadMessage.id)).limit(limit)
    return list((await session.execute(query)).scalars())


# --- labelled examples ---------------------------------------------------------------------------
async def keep_example(
    *,
    session: AsyncSession,
    org_id: int,
    chosen_by: int,
    record_id: int | None,
    chat_id: int,
    message_id: int,
    activity_index: int,
    text: str,
    sent_at: dt.datetime,
    category: str,
    parsed_as: str | None,
) -> LabelledExample:
    """Keep a manual categorisation; a later choice for the same activity replaces the earlier
    one (what the rules first said is kept)."""
    query = select(LabelledExample).where(
        col(LabelledExample.chat_id) == chat_id,
        col(LabelledExample.message_id) == message_id,
        col(LabelledExample.activity_index) == activity_index,
    )
    example = (await session.execute(query)).scalar_one_or_none()
    if example is None:
        example = LabelledExample(
            org_id=org_id,
            chosen_by=chosen_by,
            record_id=record_id,
            chat_id=chat_id,
            message_id=message_id,
            activity_index=activity_index,
            text=text,
            sent_at=sent_at,
            category=category,
            parsed_as=parsed_as,
        )
        session.add(example)
    else:
        example.category, example.chosen_by, example.created_at = category, chosen_by, utcnow()
        example.record_id = record_id
    await session.flush()
    return example


async def list_examples(*, session: AsyncSession, limit: int = 5000) -> list[LabelledExample]:
    """The newest examples (whose record, if any, is still live), newest first."""
    live = (
        select(col(DutyRecord.id))
        .where(col(DutyRecord.id) == col(LabelledExample.record_id), col(DutyRecord.deleted_at).is_(None))
        .exists()
    )
    query = (
        select(LabelledExample)
        .where(col(LabelledExample.record_id).is_(None) | live)
        .order_by(col(LabelledExample.id).desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def live_records_since(*, session: AsyncSession, since: dt.datetime, limit: int) -> list[DutyRecord]:
    """Live records stored since `since`, newest messages first (a message's records together)."""
    query = (
        select(DutyRecord)
        .where(col(DutyRecord.created_at) >= since, col(DutyRecord.deleted_at).is_(None))
        .order_by(col(DutyRecord.id).desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def get_records(*, session: AsyncSession, ids: list[int]) -> dict[int, DutyRecord]:
    if not ids:
        return {}
    query = select(DutyRecord).where(col(DutyRecord.id).in_(ids))
    return {r.id: r for r in (await session.execute(query)).scalars() if r.id is not None}


async def get_examples(*, session: AsyncSession, ids: list[int]) -> dict[int, LabelledExample]:
    if not ids:
        return {}
    query = select(LabelledExample).where(col(LabelledExample.id).in_(ids))
    return {e.id: e for e in (await session.execute(query)).scalars() if e.id is not None}


# --- suggestions ---------------------------------------------------------------------------------
async def suggestions(*, session: AsyncSession, status: str | None = None) -> list[RuleSuggestion]:
    query = select(RuleSuggestion).order_by(col(RuleSuggestion.id))
    if status is not None:
        query = query.where(col(RuleSuggestion.status) == status)
    return list((await session.execute(query)).scalars())


async def get_suggestion(*, session: AsyncSession, suggestion_id: int) -> RuleSuggestion | None:
    return await session.get(RuleSuggestion, suggestion_id)


async def find_suggestion(*, session: AsyncSession, word: str, category: str) -> RuleSuggestion | None:
    query = select(RuleSuggestion).where(
        col(RuleSuggestion.word) == word, col(RuleSuggestion.category) == category
    )
    return (await session.execute(query)).scalar_one_or_none()


async def delete_suggestion(*, session: AsyncSession, suggestion: RuleSuggestion) -> None:
    await session.delete(suggestion)
    await session.flush()


# --- the rule overlay ----------------------------------------------------------------------------
async def overlay_version(*, session: AsyncSession) -> int:
    """The overlay's version: the id of its latest change (0: none)."""
    latest = (await session.execute(select(func.max(col(RuleChange.id))))).scalar_one()
    return int(latest or 0)


async def rule_changes(*, session: AsyncSession) -> list[RuleChange]:
    return list((await session.execute(select(RuleChange).order_by(col(RuleChange.id)))).scalars())


async def add_rule_change(*, session: AsyncSession, change: RuleChange) -> RuleChange:
    session.add(change)
    await session.flush()
    return change
