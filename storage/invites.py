"""Repository functions for invite codes (keyword-only, over a session)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import InviteCode


async def create_invite(
    *,
    session: AsyncSession,
    code: str,
    org_id: int,
    role: str,
    uses: int,
    created_by: int | None,
    expires_at: dt.datetime | None = None,
) -> InviteCode:
    invite = InviteCode(
        code=code, org_id=org_id, role=role, uses_left=uses, created_by=created_by, expires_at=expires_at
    )
    session.add(invite)
    await session.flush()
    return invite


async def get_invite(*, session: AsyncSession, code: str) -> InviteCode | None:
    return (
        await session.execute(select(InviteCode).where(col(InviteCode.code) == code))
    ).scalar_one_or_none()


async def take_use(*, session: AsyncSession, invite_id: int) -> bool:
    """Spend one use of a code atomically; False when none is left (a concurrent redeemer won)."""
    result = await session.execute(
        update(InviteCode)
        .where(col(InviteCode.id) == invite_id, col(InviteCode.uses_left) > 0)
        .values(uses_left=col(InviteCode.uses_left) - 1)
    )
    return bool(cast("CursorResult[Any]", result).rowcount)
