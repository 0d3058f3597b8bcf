"""Binding: admins build the tree and issue codes; new users join with them; strangers store nothing."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from bot import admin, invites
from bot.errors import NEED_ROLE, NOT_BOUND, Refused
from bot.roles import Role
from helpers import TgUser
from storage.models import AuditLog, DutyRecord, InviteCode, Member

ADMIN = TgUser(1, "王管理员")
NEWCOMER = TgUser(200, "张三", username="zhangsan")
STRANGER = TgUser(300, "路人")


def _code(text: str) -> str:
    found = re.search(r"start=([A-Z0-9]+)", text)
    assert found, text
    return found.group(1)


def _scope_chat(params: dict) -> int | None:
    scope = params.get("scope")
    if isinstance(scope, str):
        scope = json.loads(scope)
    return (scope or {}).get("chat_id")


async def _count(harness, model) -> int:  # type: ignore[no-untyped-def]
    async with harness.session() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_admin_builds_the_tree_and_a_newcomer_joins_with_the_deep_link(harness) -> None:
    reply = harness.replies(await harness.send(ADMIN, "/org add 第一党委"))
    assert "已建立「第一党委」" in reply[0].text and "管理员" in reply[0].text
    reply = harness.replies(await harness.send(ADMIN, "/org add 第一支部 第一党委"))
    assert "上级：第一党委" in reply[0].text

    reply = harness.replies(await harness.send(ADMIN, "/invite 第一支部 cadre 2"))
    code = _code(reply[0].text)
    assert "可用 2 次" in reply[0].text

    reply = harness.replies(await harness.send(NEWCOMER, f"/start {code}"))
    assert reply[0].text.startswith("欢迎加入「第一支部」，您的身份是：党员。")
    async with harness.session() as session:
        member = (await session.execute(select(Member).where(Member.telegram_id == NEWCOMER.id))).scalar_one()
        invite = (await session.execute(select(InviteCode).where(InviteCode.code == code))).scalar_one()
    assert member.role == "cadre" and member.username == "zhangsan"
    assert invite.uses_left == 1

    tree = harness.replies(await harness.send(ADMIN, "/org list"))[0].text
    assert "第一党委（党委）" in tree and "└ 第一支部（党支部）· 1人" in tree
    listing = harness.replies(await harness.send(ADMIN, "/members 第一支部"))[0].text
    assert "张三 党员" in listing


async def test_join_with_a_code_and_the_code_runs_out(harness) -> None:
    await harness.add_org("第一党委")
    await harness.send(ADMIN, "/org add 第二支部 第一党委")
    code = _code(harness.replies(await harness.send(ADMIN, "/invite 第二支部 书记"))[0].text)
    reply = harness.replies(await harness.send(NEWCOMER, f"/join {code.lower()}"))
    assert "身份是：书记" in reply[0].text
    # A secretary gets their own command menu in their private chat.
    menus = [c for c in harness.api.sent("setMyCommands") if _scope_chat(c.params) == NEWCOMER.id]
    assert menus and "members" in str(menus[-1].params["commands"])

    reply = harness.replies(await harness.send(STRANGER, f"/join {code}"))
    assert "已经用完" in reply[0].text
    reply = harness.replies(await harness.send(STRANGER, "/join WRONGCODE"))
    assert "邀请码不对" in reply[0].text
    assert await _count(harness, Member) == 2  # the bootstrap admin and the secretary


async def test_a_stranger_is_told_how_to_join_and_nothing_is_stored(harness) -> None:
    await harness.add_org("第一党委")
    for text in ("今天组织主题党日，参加18人", "/my", "/undo", "/start", "/help"):
        reply = harness.replies(await harness.send(STRANGER, text))
        assert reply[0].text == (
            "您还没有加入组织。请向本单位党务管理员索取邀请链接或邀请码，然后发送 /join 邀请码。"
        ), text
    reply = harness.replies(await harness.photo(STRANGER, "今天开展志愿服务"))
    assert "还没有加入组织" in reply[0].text
    assert await _count(harness, DutyRecord) == 0
    assert await _count(harness, Member) == 0


async def test_a_cadre_cannot_run_admin_commands(harness) -> None:
    await harness.add_org("第一党委")
    await harness.add_member(NEWCOMER, "第一党委")
    for text in ("/org add 黑支部 第一党委", "/org list"):
        reply = harness.replies(await harness.send(NEWCOMER, text))
        assert reply[0].text == "这个命令需要管理员权限。", text
    for text in ("/members", "/invite 第一党委 admin"):  # secretaries may invite cadres
        reply = harness.replies(await harness.send(NEWCOMER, text))
        assert reply[0].text == "这个命令需要书记或管理员权限。", text
    assert await _count(harness, InviteCode) == 0
    async with harness.session() as session:
        actions = (await session.execute(select(AuditLog.action))).scalars().all()
    assert "org.add" not in actions


async def test_bootstrap_admin_is_bound_to_the_existing_root_on_first_use(harness) -> None:
    await harness.add_org("第一党委")
    reply = harness.replies(await harness.send(ADMIN, "/start"))
    assert "您已在「第一党委」，您的身份是：管理员" in reply[0].text
    help_text = harness.replies(await harness.send(ADMIN, "/help"))[0].text
    assert "/invite" in help_text and "/my" in help_text
    cadre_help = None
    await harness.add_member(NEWCOMER, "第一党委")
    cadre_help = harness.replies(await harness.send(NEWCOMER, "/help"))[0].text
    assert "/my" in cadre_help and "/invite" not in cadre_help


async def test_taken_off_admin_telegram_ids_an_admin_is_demoted_at_the_next_start(harness) -> None:
    """The setting is the source of truth: removing an id once left that person admin for ever."""
    from bot.services import Services

    await harness.add_org("第一党委")
    await harness.add_member(NEWCOMER, "第一党委")  # a member first, then named in the setting
    harness.services.settings.admin_telegram_ids.append(NEWCOMER.id)
    await harness.send(ADMIN, "/start")
    assert "管理员" in harness.replies(await harness.send(NEWCOMER, "/start"))[0].text
    code = _code(harness.replies(await harness.send(ADMIN, "/invite 第一党委 admin 1"))[0].text)
    invited = STRANGER
    await harness.send(invited, f"/join {code}")  # an admin by invite, not by the setting

    settings = harness.services.settings.model_copy(update={"admin_telegram_ids": []})
    restarted = Services(settings, harness.clock)
    await restarted.open(migrate=False)
    try:
        await restarted.sync_admins()
        async with restarted.session() as session:
            roles = dict((await session.execute(select(Member.telegram_id, Member.role))).all())
            audit = (
                (
                    await session.execute(
                        select(AuditLog).where(AuditLog.action == "member.bootstrap_admin_removed")
                    )
                )
                .scalars()
                .all()
            )
    finally:
        await restarted.close()
    assert roles[NEWCOMER.id] == "cadre", "back to the role they had"
    assert roles[ADMIN.id] == "cadre", "an admin only by the setting becomes a 党员"
    assert roles[invited.id] == "admin", "an invite's admin stays"
    assert {a.object_id for a in audit} and len(audit) == 2


# --- the same services without Telegram (bot.admin): what a second adapter would call ----------


@dataclass(frozen=True)
class Person:
    """A sender as any messenger names them (bot.members.Sender)."""

    id: int
    full_name: str
    username: str | None = None


async def test_admin_services_build_bind_and_list_without_an_adapter(harness) -> None:
    services = harness.services
    boss, secretary = Person(ADMIN.id, "王管理员"), Person(400, "李书记")
    added = await admin.add_org(services, boss, "第一党委", None)
    assert added.bound and added.parent is None and added.org.kind == "committee"
    branch = (await admin.add_org(services, boss, "第一支部", "第一党委")).org
    with pytest.raises(admin.OrgExists):  # names are unique among siblings
        await admin.add_org(services, boss, "第一支部", "第一党委")
    with pytest.raises(admin.UnknownOrg) as unknown:
        await admin.add_org(services, boss, "第二支部", "没有的党委")
    assert unknown.value.parent and unknown.value.name == "没有的党委"

    invitation = await admin.issue_invite(services, boss, ["第一支部", "书记"])
    assert (invitation.org.name, invitation.role, invitation.uses) == ("第一支部", "secretary", 1)
    joined = await admin.join(services, secretary, invitation.code.lower())
    assert joined.outcome == invites.Redeem.joined and joined.member is not None
    assert (await admin.join(services, secretary, "X" * 33)).outcome == invites.Redeem.unknown

    me = await admin.standing(services, secretary)
    assert me.member is not None and me.org is not None and me.org.name == "第一支部"
    assert not me.bootstrap_admin
    with pytest.raises(Refused) as refused:
        await admin.list_members(services, secretary, "第一党委")
    assert refused.value.text == "只能查看本组织及下级组织的成员。"
    listing = await admin.list_members(services, secretary, None)
    assert listing.total == 1 and [(o.name, [m.name for m in ms]) for o, ms in listing.groups] == [
        ("第一支部", ["李书记"])
    ]
    with pytest.raises(Refused, match="书记只能把群绑定到本组织"):
        await admin.bind_group(services, secretary, -100, "第一党委")
    assert (await admin.bind_group(services, boss, -100, "第一党委")).org.name == "第一党委"
    with pytest.raises(admin.GroupTaken):  # the branch's secretary cannot take the 党委's group
        await admin.bind_group(services, secretary, -100, None)
    moved = await admin.bind_group(services, boss, -100, "第一支部")  # an admin moves it
    assert moved.org.id == branch.id and moved.previous is not None and moved.previous.name == "第一党委"
    tree = await admin.org_tree(services, boss)
    assert tree.groups == {branch.id: 1} and tree.counts == {1: 1, 2: 1}


async def test_admin_services_refuse_strangers_and_cadres(harness) -> None:
    services = harness.services
    with pytest.raises(Refused) as refused:
        await admin.list_members(services, Person(ADMIN.id, "王管理员"), None)
    assert refused.value.text == admin.NO_ORG_YET  # a bootstrap admin before any organisation
    await harness.add_org("第一党委")
    await harness.add_member(NEWCOMER, "第一党委")
    cadre, stranger = Person(NEWCOMER.id, "张三"), Person(STRANGER.id, "路人")
    for call in (
        admin.authorize(services, cadre, Role.admin),
        admin.org_tree(services, cadre),
    ):
        with pytest.raises(Refused) as refused:
            await call
        assert refused.value.text == NEED_ROLE[Role.admin]
    with pytest.raises(Refused) as refused:  # the role is checked before the arguments
        await admin.issue_invite(services, cadre, [])
    assert refused.value.text == NEED_ROLE[Role.secretary]
    with pytest.raises(Refused) as refused:
        await admin.bind_group(services, stranger, -100, None)
    assert refused.value.text == NOT_BOUND
    with pytest.raises(Refused) as refused:
        await admin.issue_invite(services, Person(ADMIN.id, "王管理员"), ["第一党委", "cadre", "0"])
    assert refused.value.text.startswith("次数请写 1 到 500 之间的数字。")
