"""The record service: turn a parsed message into duty records, and change them afterwards.

A record is keyed by its source (chat, message id, activity index), so a redelivered update finds
the records it already made. Deletion is soft (deleted_at) and every change is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.parsing.ledger import LEDGER_KEYS, MEETINGS, ledger_fields
from storage import orgs
from storage import records as repo
from storage.models import DutyRecord, Member, Role, utcnow

# A message can name many activities; beyond this the rest is most likely not a check-in list.
MAX_RECORDS_PER_MESSAGE = 30
_FIELDS = ("category", "keyword", "date", "participants", "duration_min", "issues_found", "issues_fixed")


@dataclass(frozen=True)
class Source:
    """Where a check-in came from: the chat, the message id and its text."""

    chat_id: int
    message_id: int
    text: str


def live(records: Iterable[DutyRecord]) -> list[DutyRecord]:
    return [r for r in records if r.deleted_at is None]


def may_change(member: Member, record: DutyRecord) -> bool:
    """Only the record's owner or an admin may change it."""
    return record.member_id == member.id or member.role == Role.admin


def _values(parsed: Any, text: str = "", *, stated_only: bool = False) -> dict[str, Any]:
    """A parsed record's columns; a meeting's also the ledger (台账) fields its text states."""
    values = {name: getattr(parsed, name) for name in _FIELDS}
    if values["category"] not in MEETINGS:
        return values if stated_only else {**values, **dict.fromkeys(LEDGER_KEYS)}
    fields = ledger_fields(text)
    return {**values, **(fields.stated() if stated_only else fields.as_dict())}


def _member_id(member: Member) -> int:
    """A stored member's id (members reach services only once stored)."""
    assert member.id is not None
    return member.id


def _new_record(member: Member, source: Source, index: int, values: dict[str, Any]) -> DutyRecord:
    return DutyRecord(
        member_id=_member_id(member),
        org_id=member.org_id,
        source_text=source.text,
        chat_id=source.chat_id,
        message_id=source.message_id,
        activity_index=index,
        **values,
    )


def new_records(member: Member, source: Source, parsed: Sequence[Any]) -> list[DutyRecord]:
    """The records a message's parsed activities make, not yet added to a session (the demo's
    history is written this way, with the same columns as a check-in)."""
    return [_new_record(member, source, i, _values(p, source.text)) for i, p in enumerate(parsed)]


async def store(
    *, session: AsyncSession, member: Member, source: Source, parsed: Sequence[Any]
) -> list[DutyRecord]:
    """Store the parsed records of a new message.

    The hot path does not look first: a message stored before (a redelivered update) violates the
    unique source key and raises IntegrityError; the caller then reads `stored_before` in a new
    transaction. That keeps a check-in to one read and one insert.
    """
    return await _store_values(
        session=session, member=member, source=source, values=[_values(p, source.text) for p in parsed]
    )


async def store_for_sender(
    *, engine: AsyncEngine, telegram_id: int, source: Source, parsed: Sequence[Any]
) -> list[DutyRecord]:
    """`store` for the active, reachable member with this Telegram id, in a transaction of its
    own and without reading the member first (the ingest hot path); [] when there is no such
    member: take the slow path then."""
    rows = [
        {
            **_values(p, source.text),
            "source_text": source.text,
            "chat_id": source.chat_id,
            "message_id": source.message_id,
            "activity_index": index,
        }
        for index, p in enumerate(parsed[:MAX_RECORDS_PER_MESSAGE])
    ]
    return await repo.insert_for_member(engine=engine, telegram_id=telegram_id, rows=rows)


async def stored_before(*, session: AsyncSession, source: Source) -> list[DutyRecord]:
    return await repo.records_of_message(
        session=session, chat_id=source.chat_id, message_id=source.message_id
    )


async def _store_values(
    *, session: AsyncSession, member: Member, source: Source, values: list[dict[str, Any]]
) -> list[DutyRecord]:
    records = [
        _new_record(member, source, index, v) for index, v in enumerate(values[:MAX_RECORDS_PER_MESSAGE])
    ]
    session.add_all(records)
    await session.flush()
    return records


async def file_as(
    *, session: AsyncSession, member: Member, source: Source, category: str, date: dt.date
) -> list[DutyRecord]:
    """File a message the parser could not read under a category the cadre picked (no keyword).

    Raises IntegrityError when the message already has records, like `store`.
    """
    values: dict[str, Any] = {**dict.fromkeys(_FIELDS), "category": category, "date": date}
    if category in MEETINGS:
        values.update(ledger_fields(source.text).stated())
    return await _store_values(session=session, member=member, source=source, values=[values])


async def apply_edit(
    *, session: AsyncSession, member: Member, source: Source, parsed: Sequence[Any]
) -> tuple[list[DutyRecord], bool]:
    """Bring a message's records in line with its edited text.

    Records are matched by activity index: changed fields are updated, new activities added, and
    activities the edited text no longer names are soft-deleted. Records the cadre undid stay undone.
    Returns every record of the message and whether anything changed.
    """
    records = await repo.records_of_message(
        session=session, chat_id=source.chat_id, message_id=source.message_id
    )
    by_index = {r.activity_index: r for r in records}
    now = utcnow()
    changed = False
    wanted = list(parsed[:MAX_RECORDS_PER_MESSAGE])
    for index, p in enumerate(wanted):
        values = _values(p, source.text, stated_only=True)
        record = by_index.get(index)
        if record is None:
            record = _new_record(member, source, index, values)
            session.add(record)
            records.append(record)
            changed = True
            continue
        if any(getattr(record, k) != v for k, v in values.items()) or record.source_text != source.text:
            for key, value in values.items():
                setattr(record, key, value)
            record.source_text = source.text
            record.updated_at = now
            await revised(session=session, actor=member, record=record)
            changed = True
    for record in records:
        if record.activity_index >= len(wanted) and record.deleted_at is None:
            record.deleted_at = record.updated_at = now
            changed = True
    await session.flush()
    if changed:
        await orgs.audit(
            session=session,
            actor=member,
            action="record.edit",
            object_type="message",
            object_id=source.message_id,
            detail=f"chat={source.chat_id} records={len(wanted)}",
        )
    records.sort(key=lambda r: r.activity_index)
    return records, changed


async def siblings(*, session: AsyncSession, record: DutyRecord) -> list[DutyRecord]:
    """Every record made from the same message as `record`."""
    return await repo.records_of_message(
        session=session, chat_id=record.chat_id, message_id=record.message_id
    )


async def delete(*, session: AsyncSession, actor: Member, records: Sequence[DutyRecord]) -> list[DutyRecord]:
    """Soft-delete the live ones of `records` as one batch (restored together)."""
    now = utcnow()
    done = []
    for record in live(records):
        record.deleted_at = record.updated_at = now
        done.append(record)
        await orgs.audit(
            session=session, actor=actor, action="record.delete", object_type="record", object_id=record.id
        )
    await session.flush()
    return done


async def restore(*, session: AsyncSession, actor: Member, record: DutyRecord) -> list[DutyRecord]:
    """Restore `record` and the records of its message deleted in the same batch."""
    if record.deleted_at is None:
        return []
    batch = [r for r in await siblings(session=session, record=record) if r.deleted_at == record.deleted_at]
    now = utcnow()
    for r in batch:
        r.deleted_at = None
        r.updated_at = now
        await orgs.audit(
            session=session, actor=actor, action="record.restore", object_type="record", object_id=r.id
        )
    await session.flush()
    return batch


async def set_category(*, session: AsyncSession, actor: Member, record: DutyRecord, category: str) -> None:
    """A category picked by hand: the rule keyword no longer applies."""
    before = f"{record.category}/{record.keyword}"
    record.category, record.keyword, record.updated_at = category, None, utcnow()
    await revised(session=session, actor=actor, record=record)
    await orgs.audit(
        session=session,
        actor=actor,
        action="record.category",
        object_type="record",
        object_id=record.id,
        detail=f"{before} -> {category}",
    )
    await session.flush()


async def set_date(*, session: AsyncSession, actor: Member, record: DutyRecord, date: dt.date) -> None:
    before = record.date.isoformat()
    record.date, record.updated_at = date, utcnow()
    await revised(session=session, actor=actor, record=record)
    await orgs.audit(
        session=session,
        actor=actor,
        action="record.date",
        object_type="record",
        object_id=record.id,
        detail=f"{before} -> {date.isoformat()}",
    )
    await session.flush()


async def revised(*, session: AsyncSession, actor: Member, record: DutyRecord) -> None:
    """A returned record (退回) its author changed counts again, as revised (已修改), audited."""
    if record.review_status == "returned" and record.member_id == actor.id:
        record.review_status = "revised"
        await orgs.audit(
            session=session, actor=actor, action="record.revise", object_type="record", object_id=record.id
        )


async def undo_last(*, session: AsyncSession, member: Member) -> DutyRecord | None:
    """Soft-delete the member's most recently stored live record."""
    record = await repo.last_live_record(session=session, member_id=_member_id(member))
    if record is not None:
        await delete(session=session, actor=member, records=[record])
    return record


@dataclass(frozen=True)
class Totals:
    week_start: dt.date
    week_end: dt.date
    month_start: dt.date
    month_end: dt.date
    week: dict[str, int]
    month: dict[str, int]
    recent: list[DutyRecord]


def week_bounds(today: dt.date) -> tuple[dt.date, dt.date]:
    start = today - dt.timedelta(days=today.weekday())
    return start, start + dt.timedelta(days=6)


def month_bounds(today: dt.date) -> tuple[dt.date, dt.date]:
    start = today.replace(day=1)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    return start, following - dt.timedelta(days=1)


async def totals(*, session: AsyncSession, member: Member, today: dt.date) -> Totals:
    """The member's live records this week and this month, by category, and the latest few."""
    ws, we = week_bounds(today)
    ms, me = month_bounds(today)
    mid = _member_id(member)
    return Totals(
        ws,
        we,
        ms,
        me,
        week=await repo.category_counts(session=session, member_id=mid, start=ws, end=we),
        month=await repo.category_counts(session=session, member_id=mid, start=ms, end=me),
        recent=await repo.recent_records(session=session, member_id=mid),
    )
