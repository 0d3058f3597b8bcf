"""Building the organisation: the org tree, invite codes, the member list and group binding.

Every function here is one unit of work for one sender (anything with an id, a name and a
username: `bot.members.Sender`). It refuses with `bot.errors.Refused` (role, scope), or with
`UnknownOrg` / `OrgExists` when an organisation the user named is missing or taken: the adapter
words those, with the name escaped for its markup.

The first `add_org` by a bootstrap admin (ADMIN_TELEGRAM_IDS) with no organisation yet creates the
root organisation and binds that admin to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot import invites
from bot.errors import NEED_ROLE, NOT_BOUND, Refused
from bot.members import Sender, bind_admin, display_name, is_bootstrap_admin, resolve
from bot.roles import Role, has_role
from bot.services import Services
from storage import orgs
from storage.models import Member, Org, OrgKind

NO_ORG_YET = "还没有组织。发送 /org add 组织名称 建立第一个组织。"
MAX_ORG_NAME = 100


class UnknownOrg(LookupError):
    """No organisation has the name the user wrote (`parent`: they named it as the parent)."""

    def __init__(self, name: str, *, parent: bool = False) -> None:
        super().__init__(name)
        self.name, self.parent = name, parent


class OrgExists(ValueError):
    """An organisation with this name exists already."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class AddedOrg:
    org: Org
    parent: Org | None
    bound: bool  # the bootstrap admin who created it was bound to it as its admin


@dataclass(frozen=True)
class OrgTree:
    orgs: list[Org]  # every organisation, by id
    counts: dict[int, int]  # active members per org id

    @property
    def root_ids(self) -> list[int]:
        return [_id(o) for o in self.orgs if o.parent_id is None]


@dataclass(frozen=True)
class Invitation:
    code: str
    org: Org
    role: str
    uses: int


@dataclass(frozen=True)
class MemberList:
    total: int
    groups: list[tuple[Org, list[Member]]]  # organisations with members, in tree order


def kind_from_name(name: str, parent: Org | None) -> str:
    if name.endswith("党委") or parent is None:
        return OrgKind.committee
    if name.endswith("总支"):
        return OrgKind.general_branch
    return OrgKind.branch


def _id(row: Org | Member) -> int:
    assert row.id is not None, "a stored row has an id"
    return row.id


async def find_member(*, session: AsyncSession, telegram_id: int) -> Member | None:
    """The active Member with this id, as stored: unlike `resolve`, it binds no bootstrap admin."""
    member = await orgs.get_member(session=session, telegram_id=telegram_id)
    return member if member is not None and member.active else None


async def _actor(session: AsyncSession, services: Services, sender: Sender, needed: Role) -> Member | None:
    """The member allowed to run a command of role `needed`, or None for a bootstrap admin not bound
    yet (admin commands only); raises Refused otherwise."""
    member = await resolve(session=session, services=services, user=sender)
    if has_role(member, needed):
        return member
    if member is None and is_bootstrap_admin(services, sender.id):
        if needed == Role.admin:
            return None
        raise Refused(NO_ORG_YET)
    raise Refused(NOT_BOUND if member is None else NEED_ROLE[needed])


async def _member_actor(session: AsyncSession, services: Services, sender: Sender, needed: Role) -> Member:
    """As `_actor`, for commands below admin (a bootstrap admin not bound yet is refused)."""
    actor = await _actor(session, services, sender, needed)
    assert actor is not None, "only admin commands run without a member"
    return actor


async def authorize(services: Services, sender: Sender, needed: Role) -> None:
    """Refuse unless the sender may run a command of role `needed` (resolving them is kept)."""
    async with services.session() as session:
        await _actor(session, services, sender, needed)


async def add_org(services: Services, sender: Sender, name: str, parent_name: str | None) -> AddedOrg:
    """Create an organisation (under `parent_name` when given); admins only."""
    async with services.session() as session:
        actor = await _actor(session, services, sender, Role.admin)
        if len(name) > MAX_ORG_NAME:
            raise Refused(f"组织名称太长了，请控制在{MAX_ORG_NAME}字以内。")
        if await orgs.get_org_by_name(session=session, name=name) is not None:
            raise OrgExists(name)
        parent = None
        if parent_name is not None:
            parent = await orgs.get_org_by_name(session=session, name=parent_name)
            if parent is None:
                raise UnknownOrg(parent_name, parent=True)
        created = await orgs.create_org(
            session=session,
            name=name,
            parent=parent,
            kind=kind_from_name(name, parent),
            counting_start=services.clock.now().date(),
        )
        bound = actor is None
        if actor is None:
            # A bootstrap admin's first organisation: bind them to it.
            actor = await bind_admin(session=session, user=sender, org=created)
        await orgs.audit(
            session=session,
            actor=actor,
            action="org.add",
            object_type="org",
            object_id=created.id,
            detail=f"parent={created.parent_id}",
        )
    return AddedOrg(created, parent, bound)


async def org_tree(services: Services, sender: Sender) -> OrgTree:
    """Every organisation with its member count; admins only."""
    async with services.session() as session:
        await _actor(session, services, sender, Role.admin)
        all_orgs = await orgs.list_orgs(session=session)
        counts = await orgs.member_counts(session=session)
    return OrgTree(all_orgs, counts)


async def issue_invite(services: Services, sender: Sender, args: Sequence[str]) -> Invitation:
    """/invite's arguments (组织 角色 [次数]) read after the sender's role is checked; admins only."""
    async with services.session() as session:
        actor = await _actor(session, services, sender, Role.admin)
        request = invites.read_invite_args(args)
        org = await orgs.get_org_by_name(session=session, name=request.org_name)
        if org is None:
            raise UnknownOrg(request.org_name)
        code = await invites.issue(
            session=session, org=org, role=request.role, uses=request.uses, actor=actor
        )
    return Invitation(code, org, request.role, request.uses)


async def list_members(services: Services, sender: Sender, org_name: str | None) -> MemberList:
    """Active members of `org_name` and below (default: the sender's scope). Secretaries see their
    own organisation and below; admins any."""
    async with services.session() as session:
        actor = await _member_actor(session, services, sender, Role.secretary)
        admin = has_role(actor, Role.admin)
        all_orgs = await orgs.list_orgs(session=session)
        own = orgs.subtree_ids(all_orgs, actor.org_id)
        if org_name is not None:
            target = next((o for o in all_orgs if o.name == org_name), None)
            if target is None:
                raise UnknownOrg(org_name)
            if not admin and target.id not in own:
                raise Refused("只能查看本组织及下级组织的成员。")
            scope = orgs.subtree_ids(all_orgs, _id(target))
        elif admin:
            scope = [_id(o) for o in all_orgs]
        else:
            scope = own
        people = await orgs.list_members(session=session, org_ids=scope)
    by_org: dict[int, list[Member]] = {}
    for m in people:
        by_org.setdefault(m.org_id, []).append(m)
    by_id = {_id(o): o for o in all_orgs}
    return MemberList(len(people), [(by_id[i], by_org[i]) for i in scope if by_org.get(i)])


async def bind_group(services: Services, sender: Sender, chat_id: int, org_name: str | None) -> Org:
    """Bind a group chat to `org_name` (default: the sender's organisation); a group bound to
    another organisation before is moved. Secretaries bind their own organisation only."""
    async with services.session() as session:
        actor = await _member_actor(session, services, sender, Role.secretary)
        if org_name is not None:
            target = await orgs.get_org_by_name(session=session, name=org_name)
            if target is None:
                raise UnknownOrg(org_name)
            if not has_role(actor, Role.admin) and target.id != actor.org_id:
                raise Refused("书记只能把群绑定到本组织。")
        else:
            target = await orgs.get_org(session=session, org_id=actor.org_id)
        assert target is not None, "a member's organisation exists"
        previous = await orgs.get_org_by_group_chat(session=session, chat_id=chat_id)
        if previous is not None and previous.id != target.id:
            previous.group_chat_id = None
        target.group_chat_id = chat_id
        await orgs.audit(
            session=session,
            actor=actor,
            action="org.bind_group",
            object_type="org",
            object_id=target.id,
            detail=f"chat={chat_id}",
        )
    return target


# --- joining, and who the sender is -----------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """Who the sender is here: their Member and organisation, and whether they are a bootstrap
    admin (an admin before any organisation or Member row exists)."""

    member: Member | None
    org: Org | None
    bootstrap_admin: bool


async def standing(services: Services, sender: Sender) -> Standing:
    """The sender, resolved (a bootstrap admin is bound to the root organisation on first use)."""
    async with services.session() as session:
        member = await resolve(session=session, services=services, user=sender)
        org = await orgs.get_org(session=session, org_id=member.org_id) if member else None
    return Standing(member, org, is_bootstrap_admin(services, sender.id))


async def join(services: Services, sender: Sender, code: str) -> invites.RedeemResult:
    """Bind the sender with an invite code (a member moves to the code's organisation and role)."""
    if len(code) > invites.MAX_CODE_LENGTH:
        return invites.RedeemResult(invites.Redeem.unknown)
    async with services.session() as session:
        return await invites.redeem(
            session=session,
            code=code,
            telegram_id=sender.id,
            name=display_name(sender),
            username=sender.username,
            now=services.clock.now(),
        )
