"""The console's demo organisation: a root, one branch and a few people, created once."""

from __future__ import annotations

from collections.abc import Iterable

from bot.services import Services
from storage import orgs


async def seed_demo(
    services: Services, *, root: str, branch: str, people: Iterable[tuple[int, str, bool, str]]
) -> None:
    """Create the root org, its branch and each (telegram id, name, in the root?, role) once."""
    async with services.session() as session:
        root_org = await orgs.get_org_by_name(session=session, name=root)
        if root_org is None:
            root_org = await orgs.create_org(session=session, name=root)
        branch_org = await orgs.get_org_by_name(session=session, name=branch)
        if branch_org is None:
            branch_org = await orgs.create_org(session=session, name=branch, parent=root_org)
        for telegram_id, name, in_root, role in people:
            if await orgs.get_member(session=session, telegram_id=telegram_id) is None:
                org = root_org if in_root else branch_org
                await orgs.create_member(
                    session=session, telegram_id=telegram_id, name=name, org=org, role=role
                )
