"""Shared set-up for the schedule tests: an org tree, a weekly target for cadres, a fast outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

from sqlalchemy import select

from bot.outbox import Outbox, Pacer
from bot.recurrence import parse_rule
from helpers import Harness, TgUser
from storage import schedules as repo
from storage.models import Delivery, DutyRecord, Member, Schedule, ScheduleRun, Target

ADMIN = TgUser(1, "管理员")
SECRETARY = TgUser(101, "王书记")
CADRES = [TgUser(201 + i, f"党员{i + 1}") for i in range(3)]
_messages = itertools.count(10_000)


async def tree(h: Harness, cadres: list[TgUser] = CADRES) -> dict[str, Member]:
    """第一党委 → 第一支部; admin 1 at the top, a secretary and cadres in the branch."""
    await h.add_org("第一党委")
    await h.add_org("第一支部", parent="第一党委")
    people = {"admin": await h.add_member(ADMIN, "第一党委", role="admin")}
    people["secretary"] = await h.add_member(SECRETARY, "第一支部", role="secretary")
    for user in cadres:
        people[user.first_name] = await h.add_member(user, "第一支部")
    async with h.session() as session:
        session.add(
            Target(name="理论学习", category="study", count=1, period="week", role="cadre", scope="member")
        )
    return people


async def no_sleep(seconds: float) -> None:
    """Pacing waits are recorded, not slept (tests never sleep for real time)."""
    SLEPT.append(seconds)
    await asyncio.sleep(0)


SLEPT: list[float] = []


def fast_outbox(h: Harness) -> Outbox:
    """The application's outbox with pacing waits skipped (the pacing itself is benchmarked)."""
    assert h.services.scheduler is not None
    box = h.services.scheduler.outbox
    box.pacer = Pacer(1_000_000, per_chat=0, sleep=no_sleep)
    return box


async def add_schedule(
    h: Harness,
    rule: str = "每周五16:00",
    *,
    kind: str = "nudge",
    policy: str = "previous",
    org_id: int | None = None,
    created_at: dt.datetime | None = None,
) -> Schedule:
    parsed = parse_rule(rule)
    async with h.session() as session:
        return await repo.add_schedule(
            session=session,
            rule_text=parsed.label,
            cron=parsed.cron,
            special=parsed.special,
            timezone="Asia/Shanghai",
            org_id=org_id,
            kind=kind,
            holiday_policy=policy,
            created_at=(created_at or h.clock.now() - dt.timedelta(days=30)).astimezone(dt.UTC),
        )


async def record(h: Harness, member: Member, day: dt.date, category: str = "study") -> None:
    async with h.session() as session:
        session.add(
            DutyRecord(
                member_id=member.id,  # type: ignore[arg-type]
                org_id=member.org_id,
                category=category,
                date=day,
                chat_id=member.telegram_id,
                message_id=next(_messages),
                source_text="学习",
            )
        )


async def deliveries(h: Harness) -> list[Delivery]:
    async with h.session() as session:
        return list((await session.execute(select(Delivery).order_by(Delivery.id))).scalars())


async def runs(h: Harness) -> list[ScheduleRun]:
    async with h.session() as session:
        return list((await session.execute(select(ScheduleRun).order_by(ScheduleRun.id))).scalars())


def chats(h: Harness, method: str = "sendMessage") -> list[int]:
    return [c.chat_id for c in h.api.sent(method)]  # type: ignore[misc]
