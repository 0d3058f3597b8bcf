"""The scheduler's runtime: jobs rebuilt from the database, leadership, catch-up, snoozes, seeding.

Only the leader runs jobs (services.leadership): gaining leadership begins a new leadership term
for the outbox (fencing off a former leader's sends), rebuilds every job, resumes interrupted runs
and catches up one missed fire time within the grace window; every LEADER_CHECK_SECONDS it picks
up runs left unfinished (by a former leader that was fenced off, say); losing it removes them.
Jobs are added through the `Jobs` port and messages sent through the `Notifier` port, both
implemented by the adapter that starts the bot.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.calendar import WorkCalendar
from bot.outbox import Outbox, pick_fire_time
from bot.ports import Job, Jobs, Notifier
from bot.recurrence import ScheduleTrigger, Spec, next_fire_times, parse_rule
from bot.roles import Role
from bot.services import Services
from storage import orgs as org_repo
from storage import schedules as repo
from storage.db import serialize
from storage.models import Schedule

log = logging.getLogger(__name__)

DEFAULT_SCHEDULES = (
    {"rule": "每周五16:00", "kind": "nudge", "holiday_policy": "previous"},
    {"rule": "每周一9:00", "kind": "digest", "holiday_policy": "next"},
)
SNOOZE_SWEEP_SECONDS = 300


class Scheduler:
    """One per process: owns the outbox and the schedule and snooze jobs (leader only)."""

    def __init__(self, services: Services, jobs: Jobs, notifier: Notifier) -> None:
        self.services = services
        self.jobs = jobs
        self.notifier = notifier
        self.outbox = Outbox(services, notifier)
        self.catch_up_task: asyncio.Task[None] | None = None
        self.sweep_task: asyncio.Task[None] | None = None

    # --- life cycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Seed the default schedules once and follow leadership from now on."""
        await seed_defaults(self.services)
        self.services.leadership.on_change(self.activate, self.deactivate)

    async def stop(self) -> None:
        await self.deactivate()

    async def activate(self) -> None:
        """Leadership gained: rebuild jobs and snoozes, then resume and catch up in the background."""
        services = self.services
        await self.outbox.take_over()
        count = await self.rebuild_jobs()
        async with services.session() as session:
            snoozed = [(d.id, d.snooze_until) for d in await repo.snoozed_deliveries(session=session)]
        for delivery_id, until in snoozed:
            if delivery_id is not None and until is not None:
                self.schedule_snooze(delivery_id, until)
        if services.leadership.is_leader:
            self.jobs.add("snooze:sweep", self._snooze_sweep, IntervalTrigger(seconds=SNOOZE_SWEEP_SECONDS))
            every = max(services.settings.leader_check_seconds, 0.1)
            self.jobs.add("runs:sweep", self._runs_sweep, IntervalTrigger(seconds=every))
            if services.settings.backup_keep > 0:
                hour, minute = (int(part) for part in services.settings.backup_time.split(":"))
                trigger = CronTrigger(hour=hour, minute=minute, timezone=services.settings.tz)
                self.jobs.add("backup:nightly", self.nightly_backup, trigger, misfire_grace_seconds=3600)
            self.jobs.add(
                "suggest:weekly",
                self.weekly_rule_suggestions,
                CronTrigger(day_of_week="mon", hour=9, minute=30, timezone=services.settings.tz),
                misfire_grace_seconds=3600,
            )
        log.info("scheduler active: %d schedule jobs, %d snoozes", count, len(snoozed))
        self.catch_up_task = asyncio.create_task(self._catch_up())

    def stop_sending(self) -> None:
        """Stop claiming new sends at once (SIGTERM): sends in flight finish and record their
        outcomes; what is left stays pending for the next leader."""
        self.outbox.stop()

    async def deactivate(self) -> None:
        self.jobs.remove("schedule:")
        self.jobs.remove("snooze:")
        self.jobs.remove("backup:")
        self.jobs.remove("suggest:")
        self.jobs.remove("runs:")
        # Let running sends finish and record their outcomes; what is left stays pending for the next
        # leader. Cancelling mid-transaction could leave SQLite's write lock behind.
        self.outbox.stop()
        tasks = [t for t in (self.catch_up_task, self.sweep_task) if t is not None and not t.done()]
        self.catch_up_task = self.sweep_task = None
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=30)
            for task in pending:
                task.cancel()

    async def _catch_up(self) -> None:
        """Resume interrupted runs and catch up a missed fire time; errors are logged, never lost."""
        try:
            await self.outbox.resume_and_catch_up(self.services.calendar)
        except Exception:
            log.exception("resuming or catching up schedules failed")

    async def _runs_sweep(self) -> None:
        """Pick up runs left running with sends pending (in the background: a long run must not
        hold the job); one sweep at a time, none while the start-up catch-up is still going."""
        busy = [t for t in (self.catch_up_task, self.sweep_task) if t is not None and not t.done()]
        if not busy and self.services.leadership.is_leader:
            self.sweep_task = asyncio.create_task(self._resume_unfinished())

    async def _resume_unfinished(self) -> None:
        try:
            reports = await self.outbox.resume_unfinished()
        except Exception:
            log.exception("resuming unfinished runs failed")
            return
        if reports:
            log.info("unfinished runs picked up: %s", {r.run_id: r.status for r in reports})

    # --- jobs -------------------------------------------------------------------------------
    async def load_calendar(self) -> WorkCalendar:
        async with self.services.session() as session:
            self.services.calendar = WorkCalendar(await repo.overrides_map(session=session))
        return self.services.calendar

    async def rebuild_jobs(self) -> int:
        """Replace every schedule job with one per active schedule in the database (leader only)."""
        services = self.services
        self.jobs.remove("schedule:")
        cal = await self.load_calendar()
        if not services.leadership.is_leader:
            return 0
        async with services.session() as session:
            schedules = [s for s in await repo.list_schedules(session=session) if not s.paused]
        grace = int(services.settings.misfire_grace_hours * 3600)
        for schedule in schedules:
            assert schedule.id is not None
            self.jobs.add(
                f"schedule:{schedule.id}",
                self._fire_job(schedule.id),
                ScheduleTrigger(Spec.of(schedule), cal),
                misfire_grace_seconds=grace,
            )
        return len(schedules)

    def _fire_job(self, schedule_id: int) -> Job:
        async def job() -> None:
            await self.fire(schedule_id)

        return job

    async def fire(self, schedule_id: int) -> None:
        """A schedule's job woke up: run the fire time it stands for."""
        services = self.services
        async with services.session() as session:
            schedule = await repo.get_schedule(session=session, schedule_id=schedule_id)
        if schedule is None or schedule.paused:
            return
        now = services.clock.now()
        fire = pick_fire_time(schedule, services.calendar, now)
        grace = dt.timedelta(hours=services.settings.misfire_grace_hours)
        if fire is None or now - fire > grace:
            log.warning("schedule %s woke at %s with no fire time in the grace window", schedule_id, now)
            return
        await self.outbox.run(schedule_id, fire)
        await self.warn_admins_about_calendar()

    def schedule_snooze(self, delivery_id: int, until: dt.datetime) -> None:
        services = self.services
        if not services.leadership.is_leader:
            return  # the leader picks persisted snoozes up when it activates
        when = max(until, services.clock.now() + dt.timedelta(seconds=1))
        self.jobs.remove(f"snooze:{delivery_id}")

        async def job() -> None:
            await self.outbox.resend_snoozed(delivery_id)

        self.jobs.once(f"snooze:{delivery_id}", job, when)

    async def _snooze_sweep(self) -> None:
        """Send snoozes that are due but have no job here (pressed on another replica)."""
        async with self.services.session() as session:
            due = await repo.due_snoozes(session=session, now=self.services.clock.now())
        for delivery_id in due:
            await self.outbox.resend_snoozed(delivery_id)

    async def nightly_backup(self) -> None:
        """The nightly backup; a failure is logged (and alerts through the logs), never fatal."""
        try:
            await self.services.backup()
        except Exception:
            log.exception("nightly backup failed")

    async def weekly_rule_suggestions(self) -> None:
        """规则建议 to the admins, Monday mornings (bot.rulebook); a failure is logged, never fatal."""
        try:
            await self.services.rulebook.weekly(self.notifier)
        except Exception:
            log.exception("weekly rule suggestions failed")

    # --- the calendar -----------------------------------------------------------------------
    async def calendar_warning(self, schedules: list[Schedule] | None = None) -> str:
        """A one-time note for admins when the statutory calendar lacks a coming year (weekdays
        used), or ''."""
        cal = self.services.calendar
        now = self.services.clock.now()
        async with self.services.session() as session:
            for schedule in (
                schedules if schedules is not None else await repo.list_schedules(session=session)
            ):
                next_fire_times(Spec.of(schedule), cal, now, 5)
            years = sorted(y for y in cal.unknown_years if y >= now.year)
            notes = []
            for year in years:
                if await repo.has_marker(session=session, action="calendar.unknown_year", object_id=year):
                    continue
                await org_repo.audit(
                    session=session,
                    actor=None,
                    action="calendar.unknown_year",
                    object_type="year",
                    object_id=year,
                )
                notes.append(
                    f"⚠️ 节假日数据还没有{year}年的安排，{year}年暂按周一至周五计算工作日。"
                    "国务院公布放假安排后，可用 /holiday add 补充放假和调休上班的日期。"
                )
        return "\n".join(notes)

    async def warn_admins_about_calendar(self) -> int:
        """Tell every admin, once per year, when coming fire times reach a year the statutory
        calendar does not know (checked after each run). Returns the messages sent."""
        note = await self.calendar_warning()
        if not note:
            return 0
        async with self.services.session() as session:
            chats = {
                m.telegram_id
                for m in await org_repo.list_members(session=session)
                if m.role == Role.admin and not m.unreachable
            }
        chats |= set(self.services.settings.admin_telegram_ids)
        sent = 0
        for chat_id in sorted(chats):
            outcome = await self.notifier.send(chat_id, note)
            if outcome.kind == "sent":
                sent += 1
            else:  # blocked or never started the bot: the /schedule note remains
                log.warning("calendar warning not delivered: %s", outcome.kind)
        return sent


async def seed_defaults(services: Services) -> int:
    """Create the default schedules once; never again after admins changed them."""
    async with services.session() as session:
        await serialize(session, "seed-schedules")  # replicas starting together seed once
        # Seed only while admins never touched schedules (their edits leave audit rows).
        if await repo.list_schedules(session=session) or await repo.has_marker(
            session=session, action="schedule.", prefix=True
        ):
            return 0
        for default in DEFAULT_SCHEDULES:
            rule = parse_rule(default["rule"])
            await repo.add_schedule(
                session=session,
                rule_text=rule.label,
                cron=rule.cron,
                special=rule.special,
                timezone=services.settings.timezone,
                kind=default["kind"],
                holiday_policy=default["holiday_policy"],
                created_at=services.clock.now().astimezone(dt.UTC),
            )
    return len(DEFAULT_SCHEDULES)
