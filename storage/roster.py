"""Repository functions for roster imports (keyword-only, over a session): the people a roster
names, their personal invites, bulk writes, and uploads waiting for their apply."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import InviteCode, Member, RosterUpload


async def members_by_person_key(*, session: AsyncSession) -> dict[str, Member]:
    query = select(Member).where(col(Member.person_key).is_not(None))
    return {m.person_key: m for m in (await session.execute(query)).scalars() if m.person_key}


async def personal_invites(*, session: AsyncSession) -> dict[str, InviteCode]:
    """The newest unrevoked personal invite of each roster key (used ones included: the member
    they bound is found by `members_by_person_key`)."""
    query = (
        select(InviteCode)
        .where(col(InviteCode.person_key).is_not(None), col(InviteCode.revoked_at).is_(None))
        .order_by(col(InviteCode.id))
    )
    return {i.person_key: i for i in (await session.execute(query)).scalars() if i.person_key}


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
