"""Repository functions for duty records and their evidence (keyword-only, over a session)."""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, func, insert, inspect, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.dml import ReturningInsert
from sqlmodel import col

from storage.models import DutyRecord, Evidence, Member, utcnow
from storage.sqlite_driver import FewTripsConnection


async def records_of_message(*, session: AsyncSession, chat_id: int, message_id: int) -> list[DutyRecord]:
    """Every record (live or deleted) made from one message, in the order the text names them."""
    query = (
        select(DutyRecord)
        .where(col(DutyRecord.chat_id) == chat_id, col(DutyRecord.message_id) == message_id)
        .order_by(col(DutyRecord.activity_index))
    )
    return list((await session.execute(query)).scalars())


async def records_of_card(*, session: AsyncSession, chat_id: int, card_message_id: int) -> list[DutyRecord]:
    """The records a confirmation card shows."""
    query = (
        select(DutyRecord)
        .where(col(DutyRecord.card_chat_id) == chat_id, col(DutyRecord.card_message_id) == card_message_id)
        .order_by(col(DutyRecord.activity_index))
    )
    return list((await session.execute(query)).scalars())


_VALUE_COLUMNS = (
    "category",
    "keyword",
    "date",
    "participants",
    "duration_min",
    "issues_found",
    "issues_fixed",
    "topic",
    "host",
    "recorder",
    "expected_count",
    "absent_count",
    "absent_reasons",
    "place",
    "source_text",
    "chat_id",
    "message_id",
    "activity_index",
    "created_at",
    "updated_at",
)


@functools.cache
def _insert_for_member_statement() -> ReturningInsert[Any]:
    """Built once: INSERT … SELECT over bound parameters, so every call hits the compiled cache."""
    table = cast(Table, inspect(DutyRecord).local_table)
    values = [bindparam(f"v_{name}", type_=table.c[name].type) for name in _VALUE_COLUMNS]
    source = select(col(Member.id), col(Member.org_id), *values).where(
        col(Member.telegram_id) == bindparam("v_telegram_id"),
        col(Member.active).is_(True),
        col(Member.unreachable).is_(False),
    )
    return (
        insert(table)  # the Core table: with parameters, an ORM insert would turn into a bulk insert
        .from_select(["member_id", "org_id", *_VALUE_COLUMNS], source)
        .returning(table.c.id, table.c.member_id, table.c.org_id)
    )


async def insert_for_member(
    *, engine: AsyncEngine, telegram_id: int, rows: Sequence[dict[str, Any]]
) -> list[DutyRecord]:
    """Insert records for the active, reachable member with this Telegram id, in a transaction of
    their own, finding the member in the INSERT itself (INSERT … SELECT FROM member … RETURNING):
    the ingest hot path, one statement per record and no read first.

    On SQLite the whole transaction (BEGIN IMMEDIATE, the INSERTs, COMMIT) is one trip to the
    driver's thread. `rows` hold the value columns but the times. Returns the records (detached,
    ids set), or [] when no such member exists. A source stored before raises IntegrityError.
    """
    now = utcnow()
    values = [{**row, "created_at": now, "updated_at": now} for row in rows]
    if not values:
        return []
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        if isinstance(driver, FewTripsConnection):
            got = await _insert_in_one_trip(driver, connection.dialect, telegram_id, values)
        else:
            statement = _insert_for_member_statement()
            got = []
            async with connection.begin():
                for value in values:
                    row = (await connection.execute(statement, _params(value, telegram_id))).first()
                    if row is None:
                        break
                    got.append(row)
    return [
        DutyRecord(id=g[0], member_id=g[1], org_id=g[2], **value)
        for g, value in zip(got, values, strict=False)
    ]


def _params(value: dict[str, Any], telegram_id: int) -> dict[str, Any]:
    """The hot-path INSERT's parameters for one record."""
    return {**{f"v_{name}": value.get(name) for name in _VALUE_COLUMNS}, "v_telegram_id": telegram_id}


@functools.cache
def _sqlite_insert(dialect: Dialect) -> tuple[str, list[tuple[str, Any]]]:
    """The hot-path INSERT compiled for SQLite, with each positional parameter's name and its type's
    bind processor (what SQLAlchemy itself would apply: dates and times become SQLite's text)."""
    compiled = _insert_for_member_statement().compile(dialect=dialect)
    params = [
        (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
        for name in compiled.positiontup or ()
    ]
    return compiled.string, params


async def _insert_in_one_trip(
    driver: FewTripsConnection, dialect: Dialect, telegram_id: int, values: list[dict[str, Any]]
) -> list[Any]:
    sql, params = _sqlite_insert(dialect)
    rows = []
    for value in values:
        named = _params(value, telegram_id)
        rows.append([process(named[name]) if process else named[name] for name, process in params])

    def insert_all(conn: sqlite3.Connection) -> list[Any]:
        got = []
        for row in rows:
            inserted = conn.execute(sql, row).fetchone()
            if inserted is None:  # no such member: nothing was inserted
                break
            got.append(inserted)
        return got

    try:
        return await driver.transaction(insert_all)
    except sqlite3.IntegrityError as error:
        raise IntegrityError(sql, rows, error) from error


async def get_record(*, session: AsyncSession, record_id: int) -> DutyRecord | None:
    return await session.get(DutyRecord, record_id)


async def set_cards(*, session: AsyncSession, cards: Sequence[tuple[Sequence[int], int, int]]) -> None:
    """Remember which bot messages show which records, in one UPDATE: (record ids, card chat id,
    card message id) per card."""
    chats = {rid: chat for ids, chat, _ in cards for rid in ids}
    messages = {rid: message for ids, _, message in cards for rid in ids}
    if chats:
        await session.execute(
            update(DutyRecord)
            .where(col(DutyRecord.id).in_(list(chats)))
            .values(
                card_chat_id=case(chats, value=col(DutyRecord.id)),
                card_message_id=case(messages, value=col(DutyRecord.id)),
            )
            .execution_options(synchronize_session=False)
        )


async def last_live_record(*, session: AsyncSession, member_id: int) -> DutyRecord | None:
    query = (
        select(DutyRecord)
        .where(col(DutyRecord.member_id) == member_id, col(DutyRecord.deleted_at).is_(None))
        .order_by(col(DutyRecord.created_at).desc(), col(DutyRecord.id).desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def recent_records(*, session: AsyncSession, member_id: int, limit: int = 5) -> list[DutyRecord]:
    query = (
        select(DutyRecord)
        .where(col(DutyRecord.member_id) == member_id, col(DutyRecord.deleted_at).is_(None))
        .order_by(col(DutyRecord.date).desc(), col(DutyRecord.id).desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def category_counts(
    *, session: AsyncSession, member_id: int, start: dt.date, end: dt.date
) -> dict[str, int]:
    """Live records of a member per category with start <= date <= end."""
    query = (
        select(col(DutyRecord.category), func.count())
        .where(
            col(DutyRecord.member_id) == member_id,
            col(DutyRecord.deleted_at).is_(None),
            col(DutyRecord.date) >= start,
            col(DutyRecord.date) <= end,
        )
        .group_by(col(DutyRecord.category))
    )
    return {category: int(count) for category, count in (await session.execute(query)).all()}


async def evidence_counts(*, session: AsyncSession, record_ids: Sequence[int]) -> dict[int, int]:
    if not record_ids:
        return {}
    query = (
        select(col(Evidence.record_id), func.count())
        .where(col(Evidence.record_id).in_(list(record_ids)))
        .group_by(col(Evidence.record_id))
    )
    return {rid: int(n) for rid, n in (await session.execute(query)).all()}


FILE_ID_MAX, FILE_UNIQUE_ID_MAX = 300, 100  # Evidence's columns


async def add_evidence(
    *, session: AsyncSession, record_id: int, file_id: str, file_unique_id: str | None, kind: str = "photo"
) -> bool:
    """Attach a file to a record; False when that very file is already attached, or its ids are
    longer than any Telegram gives (a forged update: such a file could not be fetched, and the
    record it came with is kept without it)."""
    if len(file_id) > FILE_ID_MAX or len(file_unique_id or "") > FILE_UNIQUE_ID_MAX:
        return False
    if file_unique_id:
        existing = await session.execute(
            select(col(Evidence.id)).where(
                col(Evidence.record_id) == record_id, col(Evidence.file_unique_id) == file_unique_id
            )
        )
        if existing.first() is not None:
            return False
    session.add(Evidence(record_id=record_id, file_id=file_id, file_unique_id=file_unique_id, kind=kind))
    return True
