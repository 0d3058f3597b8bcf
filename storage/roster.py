"""Repository functions for roster imports (keyword-only, over a session): the people a roster
names, their personal invites, bulk writes, and uploads waiting for their apply."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import InviteCode, Member, RosterUpload, id_col


class Person(NamedTuple):
    """A member or a personal invite a roster key names, as plain values (10,000 ORM rows would
    cost tens of megabytes)."""

    id: int
    org_id: int
    role: str
    name: str | None
    joined: dt.date | None
    uses_left: int  # 1 for members
    code: str  # "" for members


async def members_by_person_key(*, session: AsyncSession) -> dict[str, Person]:
    m = Member
    query = select(
        col(m.person_key), id_col(m.id), col(m.org_id), col(m.role), col(m.name), col(m.party_joined_on)
    ).where(col(m.person_key).is_not(None))
    return {
        str(key): Person(i, o, r, n, j, 1, "") for key, i, o, r, n, j in (await session.execute(query)).all()
    }


async def personal_invites(*, session: AsyncSession) -> dict[str, Person]:
    """The newest unrevoked personal invite of each roster key (used ones included: the member
    they bound is found by `members_by_person_key`)."""
    i = InviteCode
    query = (
        select(
            col(i.person_key),
            id_col(i.id),
            col(i.org_id),
            col(i.role),
            col(i.person_name),
            col(i.party_joined_on),
            col(i.uses_left),
            col(i.code),
        )
        .where(col(i.person_key).is_not(None), col(i.revoked_at).is_(None))
        .order_by(col(i.id))
    )
    return {str(row[0]): Person(*row[1:]) for row in (await session.execute(query)).all()}


async def update_rows(
    *, session: AsyncSession, model: type[Member] | type[InviteCode], rows: list[dict[str, Any]]
) -> None:
    """Bulk UPDATE by primary key (each dict holds `id` and the new values)."""
    for start in range(0, len(rows), 1000):
        await session.execute(update(model), rows[start : start + 1000])


async def all_codes(*, session: AsyncSession) -> set[str]:
    return set((await session.execute(select(col(InviteCode.code)))).scalars())


async def insert_invites(*, session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Many invite rows in one statement per thousand (executemany)."""
    for start in range(0, len(rows), 1000):
        await session.execute(insert(InviteCode), list(rows[start : start + 1000]))


async def add_upload(*, session: AsyncSession, actor_id: int | None, filename: str, content: bytes) -> int:
    upload = RosterUpload(actor_id=actor_id, filename=filename, content=content)
    session.add(upload)
    await session.flush()
    assert upload.id is not None
    return upload.id


async def get_upload(*, session: AsyncSession, upload_id: int) -> RosterUpload | None:
    return await session.get(RosterUpload, upload_id)


async def delete_uploads(
    *, session: AsyncSession, upload_id: int | None = None, before: dt.datetime | None = None
) -> None:
    """Delete one upload (applied or cancelled), or every upload older than `before`."""
    query = delete(RosterUpload)
    if upload_id is not None:
        query = query.where(col(RosterUpload.id) == upload_id)
    if before is not None:
        query = query.where(col(RosterUpload.created_at) < before)
    await session.execute(query)
