"""Building the organisation: the org tree, invite codes, the member list and group binding.

Every function here is one unit of work for one sender (anything with an id, a name and a
username: `bot.members.Sender`). It refuses with `bot.errors.Refused` (role, scope), or with
`UnknownOrg` / `OrgExists` when an organisation the user named is missing or taken: the adapter
words those, with the name escaped for its markup.

The first `add_org` by a bootstrap admin (ADMIN_TELEGRAM_IDS) with no organisation yet creates the
root organisation and binds that admin to it.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot import invites
from bot.errors import NEED_ROLE, NOT_BOUND, Refused
from bot.members import Sender, bind_admin, display_name, is_bootstrap_admin, resolve
from bot.roles import Role, has_role
from bot.services import Services
from storage import invites as invite_repo
from storage import orgs
from storage.models import InviteCode, Member, Org, OrgKind

NO_ORG_YET = "还没有组织。发送 /org add 组织名称 建立第一个组织。"
MAX_ORG_NAME = 100


class UnknownOrg(LookupError):
    """No organisation has the name the user wrote (`parent`: they named it as the parent)."""

    def __init__(self, name: str, *, parent: bool = False) -> None:
        super().__init__(name)
        self.name, self.parent = name, parent


class AmbiguousOrg(LookupError):
    """Several live organisations have the name the user wrote: `choices` are (id, path) pairs."""

    def __init__(self, name: str, choices: list[tuple[int, str]]) -> None:
        super().__init__(name)
        self.name, self.choices = name, choices


class OrgExists(ValueError):
    """An organisation with this name exists already."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class GroupTaken(PermissionError):
    """The group is bound to another organisation, whose secretary (or an admin) must move it."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class Binding:
    """A group bound by `by` (a member's name): to `org`, moved from `previous` (None: new, or
    bound there already), whose secretaries `told` (Telegram ids) are to hear of it."""

    org: Org
    previous: Org | None
    told: tuple[int, ...]
    by: str = ""


@dataclass(frozen=True)
class AddedOrg:
    org: Org
    parent: Org | None
    bound: bool  # the bootstrap admin who created it was bound to it as its admin


@dataclass(frozen=True)
class OrgTree:
    orgs: list[Org]  # every organisation, by id
    counts: dict[int, int]  # active members per org id
    groups: dict[int, int]  # bound group chats per org id

    @property
    def root_ids(self) -> list[int]:
        return [_id(o) for o in self.orgs if o.parent_id is None]


@dataclass(frozen=True)
class Invitation:
    code: str
    org: Org
    role: str
    uses: int
    expires_on: dt.date | None = None


@dataclass(frozen=True)
class MemberList:
    total: int
    groups: list[tuple[Org, list[Member]]]  # organisations with members, in tree order


def kind_from_name(name: str, *, root: bool) -> str:
    if name.endswith("党委") or root:
        return OrgKind.committee
    if name.endswith("总支"):
        return OrgKind.general_branch
    return OrgKind.branch


def pick_org(all_orgs: list[Org], name: str, *, parent: bool = False) -> Org:
    """The one org among `all_orgs` that `name` (a name, a path `第二党委/第一支部`, `#id`) means;
    raises UnknownOrg or AmbiguousOrg."""
    found = orgs.match_orgs(all_orgs, name)
    if not found:
        raise UnknownOrg(name, parent=parent)
    if len(found) > 1:
        raise AmbiguousOrg(name, [(_id(o), orgs.org_path(all_orgs, o)) for o in found])
    return found[0]


def check_org_name(name: str) -> None:
    """Refuse a name that cannot be an org's: too long, or read as a path or an id."""
    if len(name) > MAX_ORG_NAME:
        raise Refused(f"组织名称太长了，请控制在{MAX_ORG_NAME}字以内。")
    if orgs.PATH_SEPARATOR in name or name.startswith("#"):
        raise Refused(f"组织名称里不能有“{orgs.PATH_SEPARATOR}”，也不能以“#”开头。")


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


async def admin_actor(*, session: AsyncSession, services: Services, sender: Sender) -> Member | None:
    """The admin running a command (None: a bootstrap admin not bound yet); raises Refused."""
    return await _actor(session, services, sender, Role.admin)


async def acting_member(session: AsyncSession, services: Services, sender: Sender, needed: Role) -> Member:
    """The sender as a member allowed to run a command of role `needed`; raises Refused otherwise."""
    return await _member_actor(session, services, sender, needed)


def scope_ids(actor: Member | None, all_orgs: list[Org]) -> set[int]:
    """The orgs an actor may administer: an admin (or the bootstrap admin, None) all, a secretary
    their own org and below."""
    if actor is None or has_role(actor, Role.admin):
        return {_id(o) for o in all_orgs}
    return set(orgs.subtree_ids(all_orgs, actor.org_id))


async def authorize(services: Services, sender: Sender, needed: Role) -> None:
    """Refuse unless the sender may run a command of role `needed` (resolving them is kept)."""
    async with services.session() as session:
        await _actor(session, services, sender, needed)


async def add_org(services: Services, sender: Sender, name: str, parent_name: str | None) -> AddedOrg:
    """Create an organisation (under `parent_name` when given); admins only."""
    async with services.session() as session:
        actor = await _actor(session, services, sender, Role.admin)
        check_org_name(name)
        all_orgs = await orgs.list_orgs(session=session)
        parent = pick_org(all_orgs, parent_name, parent=True) if parent_name is not None else None
        if orgs.sibling_named(all_orgs, parent.id if parent else None, name) is not None:
            raise OrgExists(name)
        created = await orgs.create_org(
            session=session,
            name=name,
            parent=parent,
            kind=kind_from_name(name, root=parent is None),
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
            after=orgs.org_path([*all_orgs, created], created),
        )
    return AddedOrg(created, parent, bound)


async def org_tree(services: Services, sender: Sender) -> OrgTree:
    """Every organisation with its member count; admins only."""
    async with services.session() as session:
        await _actor(session, services, sender, Role.admin)
        all_orgs = await orgs.list_orgs(session=session)
        counts = await orgs.member_counts(session=session)
        groups = await orgs.group_counts(session=session)
    return OrgTree(all_orgs, counts, groups)


async def issue_invite(services: Services, sender: Sender, args: Sequence[str]) -> Invitation:
    """/invite's arguments (组织 角色 [次数] [有效期]) read after the sender's role is checked.
    Admins invite anyone anywhere; a secretary invites cadres into their own org and below."""
    async with services.session() as session:
        actor = await _actor(session, services, sender, Role.secretary)
        request = invites.read_invite_args(args, services.clock.now().date())
        all_orgs = await orgs.list_orgs(session=session)
        org = pick_org(all_orgs, request.org_name)
        if actor is not None and not has_role(actor, Role.admin):
            if _id(org) not in scope_ids(actor, all_orgs):
                raise Refused("书记只能邀请成员加入本组织及下级组织。")
            if request.role != Role.cadre:
                raise Refused("书记只能邀请党员；书记和管理员由管理员邀请。")
        expires = (
            invites.expiry_moment(request.expires_on, services.settings.tz) if request.expires_on else None
        )
        code = await invites.issue(
            session=session, org=org, role=request.role, uses=request.uses, actor=actor, expires_at=expires
        )
    return Invitation(code, org, request.role, request.uses, request.expires_on)


@dataclass(frozen=True)
class LiveInvite:
    code: InviteCode
    org_path: str


@dataclass(frozen=True)
class InviteList:
    scope_path: str  # "" for the whole tree
    codes: list[LiveInvite]
    personal: int  # live personal roster invites (not listed one by one)


async def _invite_scope(
    session: AsyncSession, services: Services, sender: Sender, org_name: str | None
) -> tuple[Member | None, list[Org], set[int], Org | None]:
    actor = await _actor(session, services, sender, Role.secretary)
    all_orgs = await orgs.list_orgs(session=session)
    allowed = scope_ids(actor, all_orgs)
    if org_name is None:
        return actor, all_orgs, allowed, None
    org = pick_org(all_orgs, org_name)
    if _id(org) not in allowed:
        raise Refused("书记只能管理本组织及下级组织的邀请码。")
    return actor, all_orgs, set(orgs.subtree_ids(all_orgs, _id(org))), org


async def list_invites(services: Services, sender: Sender, org_name: str | None) -> InviteList:
    """The live codes of an org and below (default: the sender's scope)."""
    async with services.session() as session:
        _, all_orgs, ids, org = await _invite_scope(session, services, sender, org_name)
        now = services.clock.now()
        codes = await invite_repo.live_invites(session=session, org_ids=sorted(ids), now=now)
        personal = await invite_repo.live_invites(
            session=session, org_ids=sorted(ids), now=now, personal=True
        )
    by_id = {_id(o): o for o in all_orgs}
    return InviteList(
        orgs.org_path(all_orgs, org) if org else "",
        [LiveInvite(c, orgs.org_path(all_orgs, by_id[c.org_id])) for c in codes],
        len(personal),
    )


async def _own_invite(
    session: AsyncSession, services: Services, sender: Sender, code: str
) -> tuple[Member | None, InviteCode]:
    actor = await _actor(session, services, sender, Role.secretary)
    invite = await invite_repo.get_invite(session=session, code=invites.normalise_code(code)[:32])
    all_orgs = await orgs.list_orgs(session=session)
    if invite is None or invite.org_id not in scope_ids(actor, all_orgs):
        raise Refused(
            f"没有找到邀请码 {html.escape(code[:32])}（或不在您管理的组织内）。发送 /invite list 查看。"
        )
    return actor, invite


async def revoke_invite(services: Services, sender: Sender, code: str) -> InviteCode:
    """Revoke a code in the sender's scope: nobody can join with it any more."""
    async with services.session() as session:
        actor, invite = await _own_invite(session, services, sender, code)
        if invite.revoked_at is not None:
            raise Refused(f"邀请码 {invite.code} 已经作废了。")
        invite.revoked_at = services.clock.now()
        await orgs.audit(
            session=session,
            actor=actor,
            action="invite.revoke",
            object_type="invite",
            object_id=invite.id,
            detail=invite.code,
            before=f"剩 {invite.uses_left} 次",
            after="作废",
        )
    return invite


async def expire_invite(
    services: Services, sender: Sender, code: str, word: str
) -> tuple[InviteCode, dt.date]:
    """Set the last day a code in the sender's scope can be used."""
    today = services.clock.now().date()
    day = invites.parse_expiry(word, today)
    if day is None:
        raise Refused("有效期请写 7天 或 2026-12-31 这样的日期。")
    async with services.session() as session:
        actor, invite = await _own_invite(session, services, sender, code)
        if invite.revoked_at is not None:
            raise Refused(f"邀请码 {invite.code} 已经作废了。")
        before = f"{invite.expires_at:%Y-%m-%d %H:%M}Z" if invite.expires_at else "长期有效"
        invite.expires_at = invites.expiry_moment(day, services.settings.tz)
        await orgs.audit(
            session=session,
            actor=actor,
            action="invite.expire",
            object_type="invite",
            object_id=invite.id,
            detail=invite.code,
            before=before,
            after=f"{day.isoformat()} 止",
        )
    return invite, day


async def list_members(services: Services, sender: Sender, org_name: str | None) -> MemberList:
    """Active members of `org_name` and below (default: the sender's scope). Secretaries see their
    own organisation and below; admins any."""
    async with services.session() as session:
        actor = await _member_actor(session, services, sender, Role.secretary)
        admin = has_role(actor, Role.admin)
        all_orgs = await orgs.list_orgs(session=session)
        own = orgs.subtree_ids(all_orgs, actor.org_id)
        if org_name is not None:
            target = pick_org(all_orgs, org_name)
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


async def bind_group(services: Services, sender: Sender, chat_id: int, org_name: str | None) -> Binding:
    """Bind a group chat to `org_name` (default: the sender's organisation). Secretaries bind
    their own organisation only; a group bound to another organisation moves only when its
    secretary (or one above it) or an admin asks (else GroupTaken). An org keeps its other groups.
    The audit row names both organisations; the previous one's secretaries are to be told."""
    async with services.session() as session:
        actor = await _member_actor(session, services, sender, Role.secretary)
        admin = has_role(actor, Role.admin)
        if org_name is not None:
            target = await orgs.get_org_by_name(session=session, name=org_name)
            if target is None:
                raise UnknownOrg(org_name)
            if not admin and target.id != actor.org_id:
                raise Refused("书记只能把群绑定到本组织。")
        else:
            target = await orgs.get_org(session=session, org_id=actor.org_id)
        assert target is not None, "a member's organisation exists"
        previous = await orgs.get_org_by_group_chat(session=session, chat_id=chat_id)
        if previous is not None and previous.id == target.id:
            return Binding(target, None, (), actor.name)
        if previous is not None and not admin:
            above = orgs.subtree_ids(await orgs.list_orgs(session=session), actor.org_id)
            if previous.id not in above:
                raise GroupTaken(previous.name)
        await orgs.bind_group_chat(
            session=session, chat_id=chat_id, org=target, by=actor, now=services.clock.now()
        )
        moved = f" from={previous.id}:{previous.name}" if previous is not None else ""
        await orgs.audit(
            session=session,
            actor=actor,
            action="org.bind_group",
            object_type="org",
            object_id=target.id,
            detail=f"chat={chat_id} to={target.id}:{target.name}{moved}",
        )
        told: tuple[int, ...] = ()
        if previous is not None:
            secretaries = await orgs.secretaries_of(session=session, org_id=_id(previous))
            told = tuple(m.telegram_id for m in secretaries if m.id != actor.id and not m.unreachable)
    return Binding(target, previous, told, actor.name)


# --- joining, and who the sender is -----------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """Who the sender is here: their Member and organisation, and whether they are a bootstrap
    admin (an admin before any organisation or Member row exists)."""

    member: Member | None
    org: Org | None
    bootstrap_admin: bool
    org_path: str = ""  # 第一党委/第一支部


async def standing(services: Services, sender: Sender) -> Standing:
    """The sender, resolved (a bootstrap admin is bound to the root organisation on first use)."""
    async with services.session() as session:
        member = await resolve(session=session, services=services, user=sender)
        org = await orgs.get_org(session=session, org_id=member.org_id) if member else None
        path = orgs.org_path(await orgs.list_orgs(session=session, archived=True), org) if org else ""
    return Standing(member, org, is_bootstrap_admin(services, sender.id), path)


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
