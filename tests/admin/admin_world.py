"""A small tree with namesakes: two committees, each with a 第一支部."""

from __future__ import annotations

import re

from sqlalchemy import select

from helpers import Harness, TgUser
from storage.models import AuditLog, Member

ADMIN = TgUser(1, "王管理员")
SECRETARY = TgUser(20, "李书记")
CADRE = TgUser(30, "张党员")
OTHER = TgUser(40, "赵党员")


async def two_committees(harness: Harness) -> None:
    """第一党委/第一支部 and 第二党委/第一支部; the admin in 第一党委, a secretary and a cadre in
    第一党委/第一支部, another cadre in 第二党委/第一支部."""
    first = await harness.add_org("第一党委")
    second = await harness.add_org("第二党委")
    async with harness.session() as session:
        from storage import orgs

        a = await orgs.create_org(session=session, name="第一支部", parent=first)
        b = await orgs.create_org(session=session, name="第一支部", parent=second)
        await orgs.create_member(
            session=session, telegram_id=ADMIN.id, name=ADMIN.first_name, org=first, role="admin"
        )
        await orgs.create_member(
            session=session, telegram_id=SECRETARY.id, name=SECRETARY.first_name, org=a, role="secretary"
        )
        await orgs.create_member(session=session, telegram_id=CADRE.id, name=CADRE.first_name, org=a)
        await orgs.create_member(session=session, telegram_id=OTHER.id, name=OTHER.first_name, org=b)


def invite_code(text: str) -> str:
    """The code in an invite's reply (its deep link)."""
    found = re.search(r"start=([A-Z0-9]+)", text)
    assert found, text
    return found.group(1)


async def audit_rows(harness: Harness, action: str) -> list[AuditLog]:
    async with harness.session() as session:
        query = select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
        return list((await session.execute(query)).scalars())


async def member_row(harness: Harness, telegram_id: int) -> Member:
    async with harness.session() as session:
        return (await session.execute(select(Member).where(Member.telegram_id == telegram_id))).scalar_one()
