"""The /target and /leave services without Telegram (bot.target_settings, bot.leave)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import leave, target_settings
from bot.errors import NEED_ROLE, NOT_BOUND, Refused
from bot.leave import LeaveProblem, LeaveRefused, read_leave
from bot.roles import Role
from bot.targets import TargetSpecError
from helpers import TgUser

ADMIN = TgUser(1, "管理员")  # a bootstrap admin (ADMIN_TELEGRAM_IDS), not bound in these tests
SECRETARY = TgUser(11, "王书记")
CADRE = TgUser(12, "李党员")
STRANGER = TgUser(99, "陌生人")
FRIDAY = dt.date(2026, 11, 27)


async def _setup(harness) -> None:  # type: ignore[no-untyped-def]
    await harness.add_org("第一党委")
    await harness.add_org("第一支部", parent="第一党委")
    await harness.add_member(SECRETARY, "第一支部", role="secretary")
    await harness.add_member(CADRE, "第一支部")


async def _refusal(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused) as refused:
        await call
    return refused.value.text


async def test_who_may_list_set_and_remove_targets(harness) -> None:
    await _setup(harness)
    services = harness.services
    assert await _refusal(target_settings.target_list(services, STRANGER.id)) == NOT_BOUND
    assert await _refusal(target_settings.target_access(services, STRANGER.id)) == NOT_BOUND
    assert await _refusal(target_settings.target_list(services, CADRE.id)) == NEED_ROLE[Role.secretary]
    listing = await target_settings.target_list(services, SECRETARY.id)
    assert len(listing.summaries) == 6 and not listing.admin
    for call in (
        target_settings.set_target(services, SECRETARY.id, "党课 每月 1 次"),
        target_settings.remove_target(services, SECRETARY.id, None),  # the role before the number
    ):
        assert await _refusal(call) == NEED_ROLE[Role.admin]
    # A bootstrap admin configures targets before being bound (resolve is not asked to bind them).
    assert (await target_settings.target_access(services, ADMIN.id)).member is None
    change = await target_settings.set_target(services, ADMIN.id, "党课 每月 2 次 支部")
    assert change.summary.startswith("#4 党课 · 每月 2 次") and not change.created
    with pytest.raises(TargetSpecError):
        await target_settings.set_target(services, ADMIN.id, "党课")
    assert (
        await _refusal(target_settings.remove_target(services, ADMIN.id, None)) == target_settings.REMOVE_HINT
    )
    removed = await target_settings.remove_target(services, ADMIN.id, 4)
    assert removed is not None and removed.summary.startswith("#4 党课")
    assert await target_settings.remove_target(services, ADMIN.id, 4) is None
    assert await target_settings.seed_default_targets(services) == 0  # seeded once, at start
    assert len((await target_settings.target_list(services, ADMIN.id)).summaries) == 5


def test_leave_dates_are_read_or_refused_with_the_problem() -> None:
    assert read_leave("11月30日 12月5日 出差", FRIDAY) == (
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 5),
        "出差",
    )
    assert read_leave("明天", FRIDAY) == (dt.date(2026, 11, 28), dt.date(2026, 11, 28), "")
    cases = {
        "下辈子": LeaveProblem.unreadable,
        "2月30日 3月2日": LeaveProblem.no_such_day,
        "12月5日 11月30日": LeaveProblem.backwards,
        "2026-12-01 2027-12-02": LeaveProblem.too_long,
        "2026-11-01 2026-11-03": LeaveProblem.past,
    }
    for text, problem in cases.items():
        with pytest.raises(LeaveRefused) as refused:
            read_leave(text, FRIDAY)
        assert (refused.value.problem, refused.value.text) == (problem, text)


async def test_leave_services_add_list_and_cancel(harness) -> None:
    await _setup(harness)
    services = harness.services
    assert await _refusal(leave.current_leave(services, STRANGER.id)) == NOT_BOUND
    assert await _refusal(leave.current_leave(services, ADMIN.id)) == NOT_BOUND  # not bound yet
    added = await leave.add_leave(services, CADRE.id, "11月30日 12月5日 出差")
    assert (added.leave.start, added.leave.end, added.leave.reason, added.today) == (
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 5),
        "出差",
        FRIDAY,
    )
    assert [item.id for item in (await leave.current_leave(services, CADRE.id)).leaves] == [added.leave.id]
    assert (await leave.current_leave(services, SECRETARY.id)).leaves == []
    assert [item.id for item in (await leave.cancel_leave(services, CADRE.id)).leaves] == [added.leave.id]
    assert (await leave.cancel_leave(services, CADRE.id)).leaves == []
