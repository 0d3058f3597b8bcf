"""Who is writing: the sender's Member, and bootstrap admins (ADMIN_TELEGRAM_IDS).

Bootstrap admins who are not members yet are bound to the first root organisation as admins the
first time they write; while no organisation exists they are admins without a Member row and
`/org add` binds them to the first one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.roles import Role
from bot.storable import storable
from storage import orgs
from storage.models import Member, Org

if TYPE_CHECKING:  # only a type here: bot.services builds services that resolve members
    from bot.services import Services


class Sender(Protocol):
    """Who sent an update, as any messenger names them."""

    @property
    def id(self) -> int: ...
    @property
    def full_name(self) -> str: ...
    @property
    def username(self) -> str | None: ...


def display_name(user: Sender) -> str:
    return storable(user.full_name or user.username or str(user.id))[:200]


def is_bootstrap_admin(services: Services, telegram_id: int) -> bool:
    return telegram_id in services.settings.admin_telegram_ids


async def bind_admin(*, session: AsyncSession, user: Sender, org: Org) -> Member:
    """A bootstrap admin's Member row, bound to `org`."""
    member = await orgs.create_member(
        session=session,
        telegram_id=user.id,
        name=display_name(user),
        org=org,
        role=Role.admin,
        username=user.username,
    )
    member.admin_by_setting = True
    return member


def _promote(member: Member) -> None:
    """Admin because the setting names them; the role they had is kept for a later demotion."""
    if member.role != Role.admin:
        member.role_before_admin = member.role
        member.role = Role.admin
        member.admin_by_setting = True


async def sync_bootstrap_admins(*, session: AsyncSession, services: Services) -> list[Member]:
    """The setting is the source of truth for bootstrap admins: one taken off ADMIN_TELEGRAM_IDS
    goes back to the role they had (党员 if they had none), audited. Admins made by an invite
    are not touched."""
    demoted = []
    for member in await orgs.admins_by_setting(session=session):
        if is_bootstrap_admin(services, member.telegram_id):
            continue
        before = member.role_before_admin or Role.cadre
        member.role, member.admin_by_setting, member.role_before_admin = before, False, None
        await orgs.audit(
            session=session,
            actor=None,
            action="member.bootstrap_admin_removed",
            object_type="member",
            object_id=member.id,
            detail=f"no longer in ADMIN_TELEGRAM_IDS; role={before}",
        )
        demoted.append(member)
    return demoted


async def resolve(*, session: AsyncSession, services: Services, user: Sender) -> Member | None:
    """The sender's active Member, binding a bootstrap admin to the root organisation on first use."""
    member = await orgs.get_member(session=session, telegram_id=user.id)
    if member is not None and member.active:
        if member.unreachable:
            member.unreachable = False  # they wrote to us, so we can reach them again
        if member.role != Role.admin and is_bootstrap_admin(services, user.id):
            _promote(member)
            await orgs.audit(
                session=session,
                actor=member,
                action="member.bootstrap_admin",
                object_type="member",
                object_id=member.id,
            )
        return member
    if not is_bootstrap_admin(services, user.id):
        return None
    root = await orgs.first_root_org(session=session)
    if root is None:
        return None
    if member is None:
        member = await bind_admin(session=session, user=user, org=root)
    else:
        assert root.id is not None
        member.active, member.org_id = True, root.id
        _promote(member)
    await orgs.audit(
        session=session,
        actor=member,
        action="member.bootstrap_admin",
        object_type="member",
        object_id=member.id,
    )
    return member


async def secretaries_of(session: AsyncSession, member: Member) -> tuple[int, ...]:
    """Telegram ids of the secretaries of the member's org, or of the nearest org above with one."""
    by_id = {o.id: o for o in await orgs.list_orgs(session=session)}
    org_id: int | None = member.org_id
    while org_id is not None:
        people = await orgs.list_members(session=session, org_ids=[org_id])
        found = tuple(m.telegram_id for m in people if m.role == Role.secretary and m.id != member.id)
        if found:
            return found
        org = by_id.get(org_id)
        org_id = org.parent_id if org is not None else None
    return ()
