"""What /schedule and /holiday do: reminder schedules and the holiday calendar, changed at run time.

Every change is audited and rebuilds the scheduler's jobs at once. Functions return values (rows,
fire times, the people a run would reach); the adapter words and renders them.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

from bot.calendar import WorkCalendar
from bot.errors import Refused, shown
from bot.members import Sender, resolve
from bot.outbox import plan
from bot.recurrence import Rule, Spec, next_fire_times, parse_rule
from bot.services import Services
from storage import orgs as org_repo
from storage import schedules as repo
from storage.models import HolidayOverride, Member, Schedule

KIND_WORDS = {
    "提醒": "nudge",
    "nudge": "nudge",
    "催办": "nudge",
    "汇总": "digest",
    "周报": "digest",
    "digest": "digest",
    "简报": "digest",
    "督促": "escalation",
    "升级": "escalation",
    "督促升级": "escalation",
    "escalation": "escalation",
}
POLICY_WORDS = {
    "跳过": "skip",
    "节假日跳过": "skip",
    "skip": "skip",
    "提前": "previous",
    "节假日提前": "previous",
    "previous": "previous",
    "顺延": "next",
    "节假日顺延": "next",
    "延后": "next",
    "next": "next",
    "照常": "ignore",
    "节假日照常": "ignore",
    "ignore": "ignore",
}
DEFAULT_POLICY = {"nudge": "previous", "digest": "next", "escalation": "next"}


@dataclass(frozen=True)
class ScheduleView:
    schedule: Schedule
    org_name: str | None
    upcoming: tuple[dt.datetime, ...]


@dataclass(frozen=True)
class DryRun:
    """What a run of the schedule would do now (nothing is sent)."""

    view: ScheduleView
    people: tuple[str, ...]


async def caller(services: Services, user: Sender) -> Member | None:
    """The sender's Member (see bot.members.resolve), in a unit of its own."""
    async with services.session() as session:
        return await resolve(session=session, services=services, user=user)


def upcoming(services: Services, schedule: Schedule, count: int = 5) -> tuple[dt.datetime, ...]:
    return tuple(next_fire_times(Spec.of(schedule), services.calendar, services.clock.now(), count))


async def calendar_note(services: Services) -> str:
    """The one-time note about a coming year the statutory calendar lacks, or ''."""
    return await services.scheduler.calendar_warning() if services.scheduler else ""


async def _rebuild(services: Services) -> None:
    if services.scheduler is not None:
        await services.scheduler.rebuild_jobs()


async def list_schedules(services: Services) -> list[ScheduleView]:
    async with services.session() as session:
        schedules = await repo.list_schedules(session=session)
        names = {o.id: o.name for o in await org_repo.list_orgs(session=session)}
    return [
        ScheduleView(
            s, names.get(s.org_id) if s.org_id else None, () if s.paused else upcoming(services, s, 1)
        )
        for s in schedules
    ]


def split_add(text: str, org_names: list[str]) -> tuple[str, str | None, str | None, str | None]:
    """Take kind, holiday policy and organisation words out of the text; the rest is the rule."""
    kind = policy = org = None
    rest: list[str] = []
    for word in text.split():
        clean = word.strip("，,;；")
        if clean in KIND_WORDS and kind is None:
            kind = KIND_WORDS[clean]
        elif clean in POLICY_WORDS and policy is None:
            policy = POLICY_WORDS[clean]
        elif clean in org_names and org is None:
            org = clean
        else:
            rest.append(word)
    return " ".join(rest), kind, policy, org


async def add_schedule(services: Services, actor: Member, text: str) -> ScheduleView:
    """Add a schedule from `每周五16:00 提醒 第一党委`-like text; RuleError names what is not understood."""
    async with services.session() as session:
        live = await org_repo.list_orgs(session=session)
        org_names = [o.name for o in live] + [org_repo.org_path(live, o) for o in live]
    rule_text, kind, policy, org_name = split_add(text, org_names)
    rule: Rule = parse_rule(rule_text)
    kind = kind or "nudge"
    policy = policy or DEFAULT_POLICY[kind]
    async with services.session() as session:
        org = await org_repo.get_org_by_name(session=session, name=org_name) if org_name else None
        if org_name and org is None:
            raise Refused(
                f"有多个组织叫「{html.escape(shown(org_name))}」，请写出完整路径（例如 第二党委/第一支部）。"
            )
        schedule = await repo.add_schedule(
            session=session,
            rule_text=rule.label,
            cron=rule.cron,
            special=rule.special,
            timezone=services.settings.timezone,
            org_id=org.id if org else None,
            kind=kind,
            holiday_policy=policy,
            created_by=actor.id,
            created_at=services.clock.now().astimezone(dt.UTC),
        )
        await org_repo.audit(
            session=session,
            actor=actor,
            action="schedule.add",
            object_type="schedule",
            object_id=schedule.id,
            detail=f"{rule.label} {kind} {policy} {org_name or ''}".strip(),
        )
    await _rebuild(services)
    return ScheduleView(schedule, org_name, upcoming(services, schedule))


async def get_schedule(services: Services, schedule_id: int) -> Schedule | None:
    async with services.session() as session:
        return await repo.get_schedule(session=session, schedule_id=schedule_id)


async def set_paused(services: Services, actor: Member, schedule_id: int, paused: bool) -> Schedule | None:
    async with services.session() as session:
        schedule = await repo.get_schedule(session=session, schedule_id=schedule_id)
        if schedule is None:
            return None
        schedule.paused = paused
        await org_repo.audit(
            session=session,
            actor=actor,
            action="schedule.pause" if paused else "schedule.resume",
            object_type="schedule",
            object_id=schedule_id,
        )
    await _rebuild(services)
    return schedule


async def remove_schedule(services: Services, actor: Member, schedule_id: int) -> Schedule | None:
    async with services.session() as session:
        schedule = await repo.get_schedule(session=session, schedule_id=schedule_id)
        if schedule is None:
            return None
        await repo.remove_schedule(session=session, schedule_id=schedule_id, now=services.clock.now())
        await org_repo.audit(
            session=session,
            actor=actor,
            action="schedule.remove",
            object_type="schedule",
            object_id=schedule_id,
            detail=f"{schedule.rule_text} {schedule.kind}",
        )
    await _rebuild(services)
    return schedule


async def dry_run(services: Services, schedule_id: int) -> DryRun | None:
    """Who a run of the schedule would reach now, and its next five fire times."""
    async with services.session() as session:
        schedule = await repo.get_schedule(session=session, schedule_id=schedule_id)
        if schedule is None:
            return None
        names = {o.id: o.name for o in await org_repo.list_orgs(session=session)}
        planned = await plan(services=services, session=session, schedule=schedule, now=services.clock.now())
    view = ScheduleView(
        schedule, names.get(schedule.org_id) if schedule.org_id else None, upcoming(services, schedule)
    )
    return DryRun(view, tuple(p.member.name for p in planned))


# --- the holiday calendar ----------------------------------------------------------------------
async def list_holidays(services: Services, year: int) -> tuple[bool, list[HolidayOverride]]:
    """Whether the statutory calendar knows `year`, and the admins' overrides in it."""
    async with services.session() as session:
        rows = await repo.list_overrides(session=session, year=year)
    return WorkCalendar().knows(year), list(rows)


async def remove_holiday(services: Services, actor: Member, day: dt.date) -> bool:
    async with services.session() as session:
        removed = await repo.remove_override(session=session, day=day, now=services.clock.now())
        if removed is not None:
            word = "放假" if removed.is_holiday else "上班"
            await org_repo.audit(
                session=session,
                actor=actor,
                action="holiday.remove",
                object_type="holiday",
                object_id=removed.id,
                detail=f"{day.isoformat()} {word} {removed.note}".strip(),
            )
    await _rebuild(services)
    return removed is not None


async def set_holiday(
    services: Services, actor: Member, day: dt.date, *, is_holiday: bool, note: str, word: str
) -> None:
    async with services.session() as session:
        await repo.set_override(session=session, day=day, is_holiday=is_holiday, note=note)
        await org_repo.audit(
            session=session,
            actor=actor,
            action="holiday.add",
            detail=f"{day.isoformat()} {word} {note}".strip(),
        )
    await _rebuild(services)
