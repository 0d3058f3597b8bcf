"""Repository functions for invite codes (keyword-only, over a session)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, or_, select, update
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


def _live(now: dt.datetime) -> list[ColumnElement[bool]]:
    return [
        col(InviteCode.revoked_at).is_(None),
        col(InviteCode.uses_left) > 0,
        or_(col(InviteCode.expires_at).is_(None), col(InviteCode.expires_at) > now),
    ]


async def live_invites(
    *, session: AsyncSession, org_ids: Sequence[int], now: dt.datetime, personal: bool = False
) -> list[InviteCode]:
    """Codes of these orgs that can still be used (personal roster invites only with `personal`)."""
    query = (
        select(InviteCode)
        .where(col(InviteCode.org_id).in_(org_ids), *_live(now))
        .where(col(InviteCode.person_key).is_not(None) if personal else col(InviteCode.person_key).is_(None))
        .order_by(col(InviteCode.id))
    )
    return list((await session.execute(query)).scalars())


async def revoke_org_invites(*, session: AsyncSession, org_ids: Sequence[int], now: dt.datetime) -> int:
    """Revoke every live code of these orgs (an org archived or merged away); how many."""
    result = await session.execute(
        update(InviteCode).where(col(InviteCode.org_id).in_(org_ids), *_live(now)).values(revoked_at=now)
    )
    return int(cast("CursorResult[Any]", result).rowcount)
