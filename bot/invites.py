"""Invite codes: issue them, and bind a new user to an organisation and role with one."""

from __future__ import annotations

import datetime as dt
import html
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import Refused
from storage import invites as invite_repo
from storage import orgs
from storage.models import Member, Org, Role

# No 0/O, 1/I/L: codes are read aloud and typed by hand.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
MAX_USES = 500
MAX_CODE_LENGTH = 32  # longer words are no code (the column's width)
INVITE_USAGE = (
    "用法：/invite 组织 cadre|secretary|admin [次数] [有效期]\n"
    "例如：/invite 第一支部 cadre 20 7天（有效期可写 7天 或 2026-12-31）\n"
    "/invite list [组织] — 查看有效的邀请码\n"
    "/invite revoke 邀请码 — 作废\n"
    "/invite expire 邀请码 7天 — 设置有效期"
)
MAX_DAYS = 366

ROLE_WORDS: dict[str, str] = {
    "cadre": Role.cadre,
    "党员": Role.cadre,
    "干部": Role.cadre,
    "secretary": Role.secretary,
    "书记": Role.secretary,
    "admin": Role.admin,
    "管理员": Role.admin,
}


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    return text.strip().upper()


def parse_role(word: str) -> str | None:
    return ROLE_WORDS.get(word.strip().lower())


@dataclass(frozen=True)
class InviteRequest:
    org_name: str
    role: str
    uses: int
    expires_on: dt.date | None = None  # usable through this local day


def parse_expiry(word: str, today: dt.date) -> dt.date | None:
    """`7天` (through the 7th day from today) or `2026-12-31`; None when it is neither."""
    word = word.strip()
    if word.endswith("天") and word[:-1].isascii() and word[:-1].isdigit():
        days = int(word[:-1])
        if not 1 <= days <= MAX_DAYS:
            raise Refused(f"有效期请写 1 到 {MAX_DAYS} 天。")
        return today + dt.timedelta(days=days)
    try:
        day = dt.date.fromisoformat(word)
    except ValueError:
        return None
    if not today <= day <= today + dt.timedelta(days=MAX_DAYS):
        raise Refused(f"有效期请写今天到 {MAX_DAYS} 天以内的日期。")
    return day


def expiry_moment(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """The end of a local day: a code set to expire on 12月31日 is good through that day."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(dt.UTC)


def read_invite_args(args: Sequence[str], today: dt.date) -> InviteRequest:
    """`组织 角色 [次数] [有效期]`; raises Refused with the usage when they cannot be read."""
    if len(args) < 2 or (role := parse_role(args[1])) is None or len(args) > 4:
        raise Refused(INVITE_USAGE)
    uses, expires_on = 1, None
    for word in args[2:]:
        if word.isascii() and word.isdigit():
            if not 1 <= int(word) <= MAX_USES:
                raise Refused(f"次数请写 1 到 {MAX_USES} 之间的数字。\n{INVITE_USAGE}")
            uses = int(word)
        elif (day := parse_expiry(word, today)) is not None:
            expires_on = day
        else:
            raise Refused(f"没看懂“{html.escape(word[:20])}”。\n{INVITE_USAGE}")
    return InviteRequest(args[0], role, uses, expires_on)


async def issue(
    *,
    session: AsyncSession,
    org: Org,
    role: str,
    uses: int,
    actor: Member | None,
    expires_at: dt.datetime | None = None,
) -> str:
    """Create a code for `org` and `role` usable `uses` times (until `expires_at`); return the code."""
    assert org.id is not None, "a stored organisation has an id"
    code = new_code()
    while await invite_repo.get_invite(session=session, code=code) is not None:
        code = new_code()
    await invite_repo.create_invite(
        session=session,
        code=code,
        org_id=org.id,
        role=role,
        uses=uses,
        created_by=actor.id if actor else None,
        expires_at=expires_at,
    )
    until = f" expires={expires_at:%Y-%m-%d %H:%M}Z" if expires_at else ""
    await orgs.audit(
        session=session,
        actor=actor,
        action="invite.issue",
        object_type="org",
        object_id=org.id,
        detail=f"{code} role={role} uses={uses}{until}",
    )
    return code


class Redeem(StrEnum):
    joined = "joined"  # a new member
    moved = "moved"  # an existing member got a new org or role
    unchanged = "unchanged"  # already bound exactly so; no use spent
    unknown = "unknown"
    used_up = "used_up"
    expired = "expired"
    revoked = "revoked"  # revoked by hand, or its org archived


@dataclass(frozen=True)
class RedeemResult:
    outcome: Redeem
    member: Member | None = None
    org: Org | None = None


async def redeem(
    *,
    session: AsyncSession,
    code: str,
    telegram_id: int,
    name: str,
    username: str | None,
    now: dt.datetime,
) -> RedeemResult:
    """Bind a Telegram user with a code. A bound member redeeming a code moves to its org and role."""
    invite = await invite_repo.get_invite(session=session, code=normalise_code(code))
    if invite is None:
        return RedeemResult(Redeem.unknown)
    if invite.revoked_at is not None:
        return RedeemResult(Redeem.revoked)
    if invite.expires_at is not None and invite.expires_at <= now:
        return RedeemResult(Redeem.expired)
    org = await orgs.get_org(session=session, org_id=invite.org_id)
    assert org is not None and invite.id is not None, "an invite's organisation exists (foreign key)"
    member = await orgs.get_member(session=session, telegram_id=telegram_id)
    if (
        member is not None
        and member.active
        and member.org_id == invite.org_id
        and member.role == invite.role
        and member.person_key == (invite.person_key or member.person_key)
    ):
        return RedeemResult(Redeem.unchanged, member, org)
    if not await invite_repo.take_use(session=session, invite_id=invite.id):
        return RedeemResult(Redeem.used_up)
    if invite.person_key is not None:
        name = invite.person_name or name  # the roster's name for a personal invite
    if member is None:
        member = await orgs.create_member(
            session=session,
            telegram_id=telegram_id,
            name=name,
            org=org,
            role=invite.role,
            username=username,
            joined_on=now.date(),
        )
        outcome = Redeem.joined
    else:
        before = f"org={member.org_id} role={member.role} active={member.active}"
        member.org_id, member.role, member.active = invite.org_id, invite.role, True
        member.admin_by_setting, member.role_before_admin = False, None  # the invite's role is theirs
        member.name, member.username = name, username
        await session.flush()
        outcome = Redeem.moved
        await orgs.audit(
            session=session,
            actor=member,
            action="member.move",
            object_type="member",
            object_id=member.id,
            detail=before,
        )
    if invite.person_key is not None:
        member.person_key = invite.person_key
        member.party_joined_on = invite.party_joined_on or member.party_joined_on
    await orgs.audit(
        session=session,
        actor=member,
        action="invite.redeem",
        object_type="member",
        object_id=member.id,
        detail=f"code={invite.code} org={invite.org_id} role={invite.role}",
    )
    return RedeemResult(outcome, member, org)
