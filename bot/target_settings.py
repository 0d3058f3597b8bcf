"""Setting the quantified targets (量化指标): list, set, remove, and the defaults seeded on start.

Admins (members with the admin role, or bootstrap admins even before they are bound) configure;
secretaries may list. Each function is one unit of work; it refuses with `bot.errors.Refused`, and
`set_target` raises `TargetSpecError` (a Chinese message to show) for arguments it cannot read.
How a target is evaluated is `bot.targets`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bot import targets
from bot.admin import find_member
from bot.errors import NEED_ROLE, NOT_BOUND, Refused
from bot.members import is_bootstrap_admin
from bot.roles import Role, has_role
from bot.services import Services
from storage import targets as repo
from storage.models import Member

REMOVE_HINT = "请写要删除的指标编号，例如：/target remove 3（编号见 /target list）"


@dataclass(frozen=True)
class TargetAccess:
    """The sender's active Member (None for a bootstrap admin not bound yet) and whether they
    may configure targets."""

    member: Member | None
    admin: bool


@dataclass(frozen=True)
class TargetList:
    summaries: list[str]  # one `target_summary` line per active target, by id
    admin: bool  # the reader may change them (show how)
    composites: list[str] = field(default_factory=list)  # composite forms and their member norms


@dataclass(frozen=True)
class TargetChange:
    summary: str  # the target's `target_summary` after the change
    created: bool = False


async def _access(session: AsyncSession, services: Services, telegram_id: int) -> TargetAccess:
    member = await find_member(session=session, telegram_id=telegram_id)
    admin = has_role(member, Role.admin) or is_bootstrap_admin(services, telegram_id)
    if member is None and not admin:
        raise Refused(NOT_BOUND)
    return TargetAccess(member, admin)


async def _admin(session: AsyncSession, services: Services, telegram_id: int) -> Member | None:
    """The admin configuring targets (None: a bootstrap admin not bound yet); refuses others."""
    access = await _access(session, services, telegram_id)
    if not access.admin:
        raise Refused(NEED_ROLE[Role.admin])
    return access.member


async def target_access(services: Services, telegram_id: int) -> TargetAccess:
    """Who the sender is for /target; refuses strangers (NOT_BOUND)."""
    async with services.session(read_only=True) as session:
        return await _access(session, services, telegram_id)


async def target_list(services: Services, telegram_id: int) -> TargetList:
    """The active targets; secretaries and admins."""
    categories = services.rules.categories
    async with services.session(read_only=True) as session:
        access = await _access(session, services, telegram_id)
        if not access.admin and not has_role(access.member, Role.secretary):
            raise Refused(NEED_ROLE[Role.secretary])
        rows = await repo.list_targets(session=session)
    return TargetList(
        [targets.target_summary(t, categories) for t in rows], access.admin, targets.composite_summaries(rows)
    )


async def set_target(services: Services, telegram_id: int, text: str) -> TargetChange:
    """Add a target from `/target set` words, or update the one with the same subject; admins."""
    rules = services.rules
    keywords = {word: kw.category for word, kw in rules.keywords.items()}
    async with services.session() as session:
        actor = await _admin(session, services, telegram_id)
        spec = targets.parse_target_spec(text, categories=rules.categories, keywords=keywords)
        row, created = await repo.set_target(session=session, actor=actor, **spec.fields())
        return TargetChange(targets.target_summary(row, rules.categories), created)


async def remove_target(services: Services, telegram_id: int, target_id: int | None) -> TargetChange | None:
    """Deactivate target `target_id` (None: the user wrote no number); None when there is no such
    active target. Admins."""
    async with services.session() as session:
        actor = await _admin(session, services, telegram_id)
        if target_id is None:
            raise Refused(REMOVE_HINT)
        row = await repo.remove_target(session=session, target_id=target_id, actor=actor)
        return TargetChange(targets.target_summary(row, services.rules.categories)) if row else None


async def seed_default_targets(services: Services) -> int:
    """Seed the default targets on first start (never again once seeded); how many were added."""
    async with services.session() as session:
        return await targets.seed_defaults(session=session)
