"""Invites: list an org's live codes, revoke one, set an expiry; secretaries invite cadres into
their own subtree only."""

from __future__ import annotations

import datetime as dt

from admin_world import ADMIN, CADRE, SECRETARY, audit_rows, invite_code, two_committees
from sqlalchemy import select

from helpers import TgUser
from storage.models import InviteCode

NEWCOMER = TgUser(600, "新同志")


async def test_list_revoke_and_a_revoked_code_no_longer_binds(harness) -> None:
    await two_committees(harness)
    first = invite_code(
        harness.replies(await harness.send(ADMIN, "/invite 第一党委/第一支部 cadre 3"))[0].text
    )
    second = invite_code(harness.replies(await harness.send(ADMIN, "/invite 第二党委/第一支部 书记"))[0].text)

    listing = harness.replies(await harness.send(ADMIN, "/invite list 第一党委"))[0].text
    assert first in listing and second not in listing
    assert "第一党委/第一支部 · 党员 · 剩 3 次" in listing
    everything = harness.replies(await harness.send(ADMIN, "/invite list"))[0].text
    assert first in everything and second in everything

    reply = harness.replies(await harness.send(ADMIN, f"/invite revoke {first.lower()}"))[0].text
    assert "已作废" in reply
    assert first not in harness.replies(await harness.send(ADMIN, "/invite list"))[0].text
    reply = harness.replies(await harness.send(NEWCOMER, f"/start {first}"))[0].text
    assert "已作废" in reply
    reply = harness.replies(await harness.send(ADMIN, f"/invite revoke {first}"))[0].text
    assert "已经作废" in reply
    (row,) = await audit_rows(harness, "invite.revoke")
    assert first in row.detail and "剩 3 次 → 作废" in row.detail


async def test_an_expiry_set_at_issue_or_later_ends_the_code_after_that_day(harness) -> None:
    await two_committees(harness)
    reply = harness.replies(await harness.send(ADMIN, "/invite 第二党委/第一支部 cadre 5 3天"))[0].text
    assert "2026年11月30日前有效" in reply
    code = invite_code(reply)
    async with harness.session() as session:
        invite = (await session.execute(select(InviteCode))).scalar_one()
    # Good through 30 November in Beijing: the moment is midnight at the start of 1 December there.
    assert invite.expires_at == dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)
    listing = harness.replies(await harness.send(ADMIN, "/invite list"))[0].text
    assert "2026年11月30日止" in listing

    reply = harness.replies(await harness.send(ADMIN, f"/invite expire {code} 2026-11-28"))[0].text
    assert "有效期至 2026年11月28日" in reply
    harness.clock.set(dt.datetime(2026, 11, 28, 23, 59, tzinfo=harness.clock.now().tzinfo))
    assert "欢迎加入" in harness.replies(await harness.send(NEWCOMER, f"/start {code}"))[0].text
    harness.clock.set(dt.datetime(2026, 11, 29, 0, 1, tzinfo=harness.clock.now().tzinfo))
    late = TgUser(601, "晚到")
    assert "已过期" in harness.replies(await harness.send(late, f"/start {code}"))[0].text
    assert code not in harness.replies(await harness.send(ADMIN, "/invite list"))[0].text
    (row,) = await audit_rows(harness, "invite.expire")
    assert "2026-11-28" in row.detail

    for bad, answer in (("0天", "1 到 366 天"), ("明年", "有效期请写"), ("2020-01-01", "今天到")):
        reply = harness.replies(await harness.send(ADMIN, f"/invite expire {code} {bad}"))[0].text
        assert answer in reply
    reply = harness.replies(await harness.send(ADMIN, "/invite 第一党委 cadre 5 下周"))[0].text
    assert "没看懂“下周”" in reply


async def test_a_secretary_invites_cadres_into_their_own_branch_only(harness) -> None:
    await two_committees(harness)
    reply = harness.replies(await harness.send(SECRETARY, "/invite 第一党委/第一支部 党员 2"))[0].text
    code = invite_code(reply)
    assert "身份 党员" in reply
    reply = harness.replies(await harness.send(SECRETARY, "/invite 第一党委/第一支部 书记"))[0].text
    assert "书记只能邀请党员" in reply
    reply = harness.replies(await harness.send(SECRETARY, "/invite 第二党委/第一支部 党员"))[0].text
    assert "书记只能邀请成员加入本组织及下级组织" in reply
    # An ambiguous name: the choice offered, and the other branch refused when chosen.
    choice = harness.replies(await harness.send(SECRETARY, "/invite 第一支部 党员"))[0]
    assert len(choice.buttons) == 2

    listing = harness.replies(await harness.send(SECRETARY, "/invite list"))[0].text
    assert code in listing
    admin_code = invite_code(
        harness.replies(await harness.send(ADMIN, "/invite 第二党委/第一支部 cadre"))[0].text
    )
    assert admin_code not in harness.replies(await harness.send(SECRETARY, "/invite list"))[0].text
    reply = harness.replies(await harness.send(SECRETARY, f"/invite revoke {admin_code}"))[0].text
    assert "没有找到邀请码" in reply
    reply = harness.replies(await harness.send(SECRETARY, "/invite list 第二党委"))[0].text
    assert "书记只能管理本组织及下级组织的邀请码" in reply
    reply = harness.replies(await harness.send(CADRE, "/invite list"))[0].text
    assert "需要书记或管理员权限" in reply
