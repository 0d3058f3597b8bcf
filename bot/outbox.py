"""Scheduled runs: who gets what, and the outbox that sends it exactly once.

A run is one fire time of one schedule (a ScheduleRun row, unique per schedule and time). Planning
writes one Delivery row per recipient (unique per run and member) in the same transaction that
moves the run from pending to running, so a plan is either complete or absent. Sending claims one
delivery (pending → claimed, committed) before each send, then records the outcome with the next
claim. After a crash, claimed-but-unconfirmed deliveries (at most the sends that were in flight)
become "unknown": a resend could be a duplicate, so the run does not resend them. They are resolved
by a recheck `UNKNOWN_RECHECK` later: a member whose duty is still open then gets the nudge once
more, marked as a possible repeat; one whose duty is done gets nothing. Pending ones are sent when
the run resumes. Sends are paced below `settings.send_rate_per_second` and one per second per
chat, so Telegram's limits are not reached; a RetryAfter pauses every send for the time asked.

Fencing: an outbox works under a leadership term (`take_over`, when its process becomes the
leader: a generation counter bumped in the database). Every claim checks that its term is still
the current one and records it on the delivery; an outcome is written only to a delivery claimed
under the writer's term. A former leader that still believes it leads (up to LEADER_CHECK_SECONDS
after losing its lock) thus claims nothing once the new leader's term began: its run is left to
the new leader, which marks the old one's unconfirmed sends unknown (to be rechecked) and sends the
rest; when the old one's sends in flight then get their answer, their real outcome replaces the
unknown and the recheck is called off, so nobody is nudged again. A claim lost to another outbox
is not the end of a run (the search goes on), and a run left running with sends pending is picked
up by the current leader when it gains leadership and at every sweep.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.calendar import WorkCalendar
from bot.periods import PERIOD_NAMES, period_bounds, period_label
from bot.ports import Action, Buttons, Notifier, Outcome
from bot.recurrence import Spec, fire_times_between, last_fire_time
from bot.services import Services
from bot.targets import TargetStatus, members_statuses
from storage import orgs as org_repo
from storage import schedules as repo
from storage import targets as target_repo
from storage.models import Delivery, DutyRecord, Member, Org, Role, Schedule, ScheduleRun

log = logging.getLogger(__name__)

UTC = dt.UTC
SNOOZE = dt.timedelta(hours=2)
UNKNOWN_RECHECK = dt.timedelta(hours=2)
REPEAT_NOTE = "（上一条提醒可能没有送达，这是补发；如已收到，请忽略。）"
MAX_SNOOZES = 2
MISSED_STATES = ("due", "at_risk", "overdue")
_DIGEST_MARK = "@digest:"
# An escalation summary lists this many people at most (the rest are counted).
MAX_LISTED = 60
# The leadership whose terms fence the outbox's claims (storage LeaderTerm.name).
TERM = "scheduler"
# What a claim answers when the outbox's term is over (a newer leader took over).
FENCED = "fenced"


# --- pacing ------------------------------------------------------------------------------------
class Pacer:
    """Evenly spaced send slots: at most `rate` per second overall and one per `per_chat` s per chat."""

    def __init__(
        self,
        rate: float,
        *,
        per_chat: float = 1.0,
        burst: int = 4,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.per_chat = per_chat
        self.burst = burst
        self._monotonic = monotonic
        self._sleep = sleep
        self._next = 0.0
        self._chat_next: dict[int, float] = {}

    async def wait(self, chat_id: int | None = None) -> None:
        now = self._monotonic()
        # A sender that fell behind may catch up by `burst` slots, never more: any one-second
        # window then holds at most rate + burst sends (25 + 4 stays under Telegram's 30).
        # After a pause of over a second (a new run) there is nothing to catch up.
        slot = max(now - self.burst * self.interval, self._next) if now - self._next < 1.0 else now
        if chat_id is not None and self.per_chat > 0:
            slot = max(slot, now, self._chat_next.get(chat_id, 0.0))
            self._chat_next[chat_id] = slot + self.per_chat
        self._next = slot + self.interval
        if slot > now:
            await self._sleep(slot - now)

    def pause(self, seconds: float) -> None:
        """Telegram asked us to wait: no slot before `seconds` from now."""
        self._next = max(self._next, self._monotonic() + seconds)


# --- planning ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Planned:
    member: Member
    text: str


@dataclass
class RunReport:
    run_id: int
    status: str
    counts: dict[str, int] = field(default_factory=dict)


async def scope_org_ids(*, session: AsyncSession, org_id: int | None) -> list[int]:
    all_orgs = await org_repo.list_orgs(session=session)
    if org_id is None:
        roots = [o.id for o in all_orgs if o.parent_id is None]
        ids: list[int] = []
        for root in roots:
            if root is not None:
                ids.extend(org_repo.subtree_ids(all_orgs, root))
        return ids
    return org_repo.subtree_ids(all_orgs, org_id)


def nudge_text(open_statuses: list[TargetStatus]) -> str:
    if len(open_statuses) == 1:
        return f"📌 {open_statuses[0].describe()}。"
    lines = "\n".join(f"· {s.describe()}" for s in open_statuses)
    return f"📌 这几项还没有记录：\n{lines}"


def nudge_buttons(delivery_id: int) -> Buttons:
    return [
        [
            Action("去报告", "nudge.report", delivery_id),
            Action("本期不涉及", "nudge.exempt", delivery_id),
            Action("稍后提醒", "nudge.snooze", delivery_id),
        ]
    ]


def week_start(now: dt.datetime) -> dt.datetime:
    start, _ = period_bounds("week", now.date())
    return dt.datetime.combine(start, dt.time(), tzinfo=now.tzinfo)


async def open_statuses(*, session: AsyncSession, member: Member, on: dt.date) -> list[TargetStatus]:
    statuses = await members_statuses(session=session, members=[member], on=on)
    assert member.id is not None
    return [s for s in statuses.get(member.id, []) if s.open]


async def plan_nudges(
    *, session: AsyncSession, schedule: Schedule, now: dt.datetime, weekly_cap: int
) -> list[Planned]:
    """Members of the scope with a duty due or at risk, reachable, not on leave today, under the
    weekly cap."""
    org_ids = await scope_org_ids(session=session, org_id=schedule.org_id)
    members = [m for m in await org_repo.list_members(session=session, org_ids=org_ids) if not m.unreachable]
    away = await target_repo.members_on_leave(
        session=session, member_ids=[m.id for m in members if m.id is not None], on=now.date()
    )
    members = [m for m in members if m.id not in away]
    statuses = await members_statuses(session=session, members=members, on=now.date())
    due = {m.id: [s for s in statuses.get(m.id, []) if s.open] for m in members if m.id is not None}
    candidates = [m for m in members if m.id is not None and due[m.id]]
    sent = await repo.nudges_sent_since(
        session=session,
        member_ids=[m.id for m in candidates if m.id is not None],
        since=week_start(now),
    )
    return [
        Planned(m, nudge_text(due[m.id]))
        for m in candidates
        if m.id is not None and sent.get(m.id, 0) < weekly_cap
    ]


async def _recipients(
    *, session: AsyncSession, schedule: Schedule, org_ids: list[int]
) -> list[tuple[Member, int]]:
    """(member, org whose picture they get): each org's secretaries, and admins for the root."""
    members = await org_repo.list_members(session=session)
    by_org: dict[int, list[Member]] = {}
    for m in members:
        if m.role == Role.secretary and not m.unreachable:
            by_org.setdefault(m.org_id, []).append(m)
    out: list[tuple[Member, int]] = []
    seen: set[int] = set()
    roots = (
        [schedule.org_id]
        if schedule.org_id is not None
        else [o.id for o in await org_repo.list_orgs(session=session) if o.parent_id is None]
    )
    for root in roots:
        for m in members:
            if m.role == Role.admin and not m.unreachable and m.id is not None and m.id not in seen:
                assert root is not None
                seen.add(m.id)
                out.append((m, root))
    for org_id in org_ids:
        for m in by_org.get(org_id, []):
            if m.id is not None and m.id not in seen:
                seen.add(m.id)
                out.append((m, org_id))
    return out


async def missed_streaks(
    *, session: AsyncSession, members: list[Member], today: dt.date, periods: int
) -> dict[int, list[TargetStatus]]:
    """Targets each member missed in each of the last `periods` completed periods."""
    if periods <= 0 or not members:
        return {}
    by_id = {m.id: m for m in members}
    current = await members_statuses(session=session, members=members, on=today)
    # (member id, target id) -> the start of the last period examined
    starts = {(mid, s.target_id): s.period_start for mid, ss in current.items() for s in ss}
    missed: dict[tuple[int, int], TargetStatus] = {}
    for _ in range(periods):
        days: dict[dt.date, set[int]] = {}
        for (mid, _tid), start in starts.items():
            days.setdefault(start - dt.timedelta(days=1), set()).add(mid)
        next_starts: dict[tuple[int, int], dt.date] = {}
        for day, member_ids in days.items():
            result = await members_statuses(
                session=session, members=[by_id[i] for i in sorted(member_ids)], on=day
            )
            for mid, statuses in result.items():
                for s in statuses:
                    key = (mid, s.target_id)
                    if key in starts and starts[key] - dt.timedelta(days=1) == day:
                        if s.state in MISSED_STATES:
                            next_starts[key] = s.period_start
                            missed.setdefault(key, s)
        starts = next_starts
    out: dict[int, list[TargetStatus]] = {}
    for (mid, _tid), status in missed.items():
        if (mid, _tid) in starts:
            out.setdefault(mid, []).append(status)
    return out


def _truncate(lines: list[str], head: str) -> str:
    """The head and the first lines of a long list: a summary names at most MAX_LISTED people."""
    shown = "\n".join([head, *lines[:MAX_LISTED]])
    return f"{shown}\n… 另有 {len(lines) - MAX_LISTED} 人" if len(lines) > MAX_LISTED else shown


async def plan_escalation(
    *, session: AsyncSession, schedule: Schedule, now: dt.datetime, periods: int
) -> list[Planned]:
    """One summary per secretary (admins for the root) naming members with a missed streak."""
    org_ids = await scope_org_ids(session=session, org_id=schedule.org_id)
    orgs = {o.id: o for o in await org_repo.list_orgs(session=session)}
    members = await org_repo.list_members(session=session, org_ids=org_ids)
    streaks = await missed_streaks(session=session, members=members, today=now.date(), periods=periods)
    unreachable = [m for m in members if m.unreachable]
    if not streaks and not unreachable:
        return []
    all_orgs = list(orgs.values())
    planned: list[Planned] = []
    for recipient, org_id in await _recipients(session=session, schedule=schedule, org_ids=org_ids):
        subtree = set(org_repo.subtree_ids(all_orgs, org_id)) & set(org_ids)
        lines = []
        for m in members:
            if m.org_id in subtree and m.id in streaks:
                names = "、".join(f"{s.name}（{PERIOD_NAMES.get(s.period, '')}）" for s in streaks[m.id])
                lines.append(f"· {m.name}（{orgs[m.org_id].name}）：{names}")
        lost = [m.name for m in unreachable if m.org_id in subtree]
        if not lines and not lost:
            continue
        head = f"⚠️ {orgs[org_id].name}及下级"
        text = (
            _truncate(lines, f"{head} · 连续 {periods} 期未完成的指标（共 {len(lines)} 人）：")
            if lines
            else head
        )
        if lost:
            text += f"\n无法送达（已屏蔽机器人）：{'、'.join(lost[:30])}"
        text += "\n可以先和他们谈一谈，了解困难。"
        planned.append(Planned(recipient, text))
    return planned


async def short_summary(*, session: AsyncSession, org: Org, org_ids: list[int], now: dt.datetime) -> str:
    """The digest until the full digest exists: records this week and members reporting."""
    start, end = period_bounds("week", now.date())
    members = await org_repo.list_members(session=session, org_ids=org_ids)
    records, reporting = (
        await session.execute(
            select(func.count(), func.count(func.distinct(DutyRecord.member_id))).where(
                col(DutyRecord.org_id).in_(org_ids),
                col(DutyRecord.date).between(start, end),
                col(DutyRecord.deleted_at).is_(None),
            )
        )
    ).one()
    unreachable = sum(1 for m in members if m.unreachable)
    label = period_label("week", start)
    text = f"📊 {org.name} · {label}\n记录 {records} 条 · 报告 {reporting}/{len(members)} 人"
    if unreachable:
        text += f" · 无法送达 {unreachable} 人"
    return text


def digest_available() -> bool:
    return importlib.util.find_spec("bot.digest") is not None


async def plan_digest(*, session: AsyncSession, schedule: Schedule, now: dt.datetime) -> list[Planned]:
    org_ids = await scope_org_ids(session=session, org_id=schedule.org_id)
    orgs = {o.id: o for o in await org_repo.list_orgs(session=session)}
    all_orgs = list(orgs.values())
    planned = []
    for recipient, org_id in await _recipients(session=session, schedule=schedule, org_ids=org_ids):
        if digest_available():
            text = f"{_DIGEST_MARK}{org_id}"
        else:
            subtree = [i for i in org_repo.subtree_ids(all_orgs, org_id) if i in set(org_ids)]
            text = await short_summary(session=session, org=orgs[org_id], org_ids=subtree, now=now)
        planned.append(Planned(recipient, text))
    return planned


async def plan(
    *, services: Services, session: AsyncSession, schedule: Schedule, now: dt.datetime
) -> list[Planned]:
    settings = services.settings
    if schedule.kind == "digest":
        return await plan_digest(session=session, schedule=schedule, now=now)
    if schedule.kind == "escalation":
        return await plan_escalation(
            session=session, schedule=schedule, now=now, periods=settings.escalate_after_periods
        )
    return await plan_nudges(
        session=session, schedule=schedule, now=now, weekly_cap=settings.nudge_weekly_cap
    )


# --- the outbox --------------------------------------------------------------------------------
class Outbox:
    """Runs schedules and sends their deliveries; one per process (bot.scheduler.Scheduler owns it)."""

    def __init__(self, services: Services, notifier: Notifier, *, pacer: Pacer | None = None) -> None:
        self.services = services
        self.notifier = notifier
        self.pacer = pacer or Pacer(services.settings.send_rate_per_second)
        self.max_in_flight = 32
        self.max_attempts = 5
        # Outcomes finished so far are written with the next claim (no extra round trip), so a
        # crash leaves unknown only the sends still in flight.
        self.record_batch = 1
        self._active: set[int] = set()
        self.stopping = False
        # The leadership term this outbox claims under (None until it takes one).
        self.generation: int | None = None

    def stop(self) -> None:
        """Stop sending after the sends in flight (leadership lost, shutdown); runs stay resumable."""
        self.stopping = True

    def start(self) -> None:
        """Send again, under the same term (a stop that was not a loss of leadership)."""
        self.stopping = False

    async def take_over(self) -> int:
        """Begin a new leadership term (this process just became the leader) and send under it;
        claims of every earlier term are refused from now on."""
        async with self.services.session() as session:
            self.generation = await repo.begin_term(
                session=session,
                name=TERM,
                holder=f"{socket.gethostname()}:{os.getpid()}",
                now=self.services.clock.now(),
            )
        self.stopping = False
        log.info("outbox sending under leadership term %s", self.generation)
        return self.generation

    # The whole run: create or find the run, plan it once, send what is pending.
    async def run(self, schedule_id: int, fire_time: dt.datetime) -> RunReport | None:
        services = self.services
        if self.stopping:
            return None
        async with services.session() as session:
            schedule = await repo.get_schedule(session=session, schedule_id=schedule_id)
            if schedule is None or schedule.paused:
                return None
            run = await repo.create_run(session=session, schedule_id=schedule_id, fire_time=fire_time)
            if run is None:
                run = await repo.find_run(session=session, schedule_id=schedule_id, fire_time=fire_time)
            assert run is not None
            assert run.id is not None
            run_id, status = run.id, run.status
        if status in ("done", "skipped"):
            return RunReport(run_id, status)
        return await self.deliver(run_id, schedule if status == "pending" else None)

    async def _plan(self, schedule: Schedule, run_id: int) -> None:
        services = self.services
        now = services.clock.now()
        async with services.session() as session:
            claimed = await session.execute(
                update(ScheduleRun)
                .where(col(ScheduleRun.id) == run_id, col(ScheduleRun.status) == "pending")
                .values(status="running")
            )
            if not cast(CursorResult[Any], claimed).rowcount:
                return  # planned by someone else
            planned = await plan(services=services, session=session, schedule=schedule, now=now)
            await repo.add_deliveries(
                session=session,
                run_id=run_id,
                items=[(p.member.id, p.text) for p in planned if p.member.id is not None],
            )
        log.info("run %s of schedule %s planned: %d deliveries", run_id, schedule.id, len(planned))

    async def deliver(self, run_id: int, schedule: Schedule | None = None) -> RunReport:
        """Send every pending delivery of a running run, then mark the run done; with `schedule`
        the run is planned first. One delivery of a run at a time in an outbox: the sweep of
        unfinished runs leaves alone a run this outbox is planning or sending."""
        if run_id in self._active:
            return RunReport(run_id, "running")
        self._active.add(run_id)
        try:
            if schedule is not None:
                await self._plan(schedule, run_id)
            return await self._deliver(run_id)
        finally:
            self._active.discard(run_id)

    async def _deliver(self, run_id: int) -> RunReport:
        services = self.services
        # An outbox never made a leader (a one-off process) works under a term of its own.
        generation = self.generation if self.generation is not None else await self.take_over()
        async with services.session() as session:
            if not await repo.term_is_current(session=session, name=TERM, generation=generation):
                log.warning(
                    "run %s not delivered here: a newer leader took over (term %s)", run_id, generation
                )
                return RunReport(run_id, FENCED)
            kind, zone, fired = (
                await session.execute(
                    select(col(Schedule.kind), col(Schedule.timezone), col(ScheduleRun.fire_time))
                    .join(ScheduleRun, col(ScheduleRun.schedule_id) == col(Schedule.id))
                    .where(col(ScheduleRun.id) == run_id)
                )
            ).one()
            now = services.clock.now()
            stale = kind == "nudge" and _local_day(fired, zone) < _local_day(now, zone)
            recheck = now + UNKNOWN_RECHECK if kind == "nudge" and not stale else None
            expired = await repo.expire_claims(session=session, run_id=run_id, recheck_at=recheck)
            if stale:
                # A nudge says what is due "today" and how many days are left: resumed on a later
                # day it would be wrong (a finished week's "还剩2天"). Dropped, recorded as expired.
                dropped = await repo.expire_pending(session=session, run_id=run_id)
                await repo.set_run_status(session=session, run_id=run_id, status="done", finished=True)
                counts = await repo.delivery_counts(session=session, run_id=run_id)
            rows = await session.execute(
                select(col(Member.id), col(Member.telegram_id))
                .join(Delivery, col(Delivery.member_id) == col(Member.id))
                .where(col(Delivery.run_id) == run_id)
            )
            chats = {member_id: chat for member_id, chat in rows.all() if member_id is not None}
        if stale:
            log.warning("run %s fired on an earlier day: %d nudges expired, not sent", run_id, dropped)
            return RunReport(run_id, "done", counts)
        if expired:
            log.warning(
                "run %s: %d interrupted sends marked unknown (%s)",
                run_id,
                expired,
                f"rechecked in {UNKNOWN_RECHECK}" if kind == "nudge" else "not resent",
            )
        results: list[tuple[int, int, Outcome]] = []
        fenced = False
        in_flight: set[asyncio.Task[None]] = set()
        gate = asyncio.Semaphore(self.max_in_flight)
        last_id = 0
        # One connection held for the loop, one short transaction per claim (committed before the
        # send): no pool check-out and reset per message.
        claims: Any = await services.engine.connect()

        def start_send(delivery: repo.Claimed) -> None:
            task = asyncio.create_task(self._send(delivery, chats[delivery.member_id], kind, results, gate))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

        try:
            while not self.stopping:
                await gate.acquire()
                # Wait for the slot before claiming: a crash between claim and send stays rare.
                await self.pacer.wait()
                claim = asyncio.ensure_future(
                    self._claim(claims, results, run_id, last_id, generation, recheck=kind == "nudge")
                )
                try:
                    # A cancellation must not cut a transaction short (aiosqlite would keep the
                    # write lock): the claim completes, and what it claimed is still sent.
                    delivery = await asyncio.shield(claim)
                except asyncio.CancelledError:
                    delivery = await claim
                    if isinstance(delivery, repo.Claimed):
                        start_send(delivery)
                    raise
                if not isinstance(delivery, repo.Claimed):
                    gate.release()
                    fenced = delivery == FENCED
                    break
                last_id = delivery.id
                start_send(delivery)
            if in_flight:
                await asyncio.gather(*in_flight)
        except BaseException:
            # Claimed sends are already on their way: let them finish rather than lose them. Their
            # outcomes are not recorded, so a resumed run treats them as unknown and never resends.
            if in_flight:
                await asyncio.wait(in_flight, timeout=30)
            raise
        finally:
            await asyncio.shield(claims.close())
        async with services.session() as session:
            await self._record(session, results, recheck=kind == "nudge", claimed_under=generation)
            finished = not fenced and await repo.count_pending(session=session, run_id=run_id) == 0
            if finished:
                await repo.set_run_status(session=session, run_id=run_id, status="done", finished=True)
            counts = await repo.delivery_counts(session=session, run_id=run_id)
        status = "done" if finished else FENCED if fenced else "stopped"
        if fenced:
            log.warning(
                "run %s left to the newer leader (this term %s is over): %s", run_id, generation, counts
            )
        else:
            log.info("run %s %s: %s", run_id, "delivered" if finished else "stopped", counts)
        return RunReport(run_id, status, counts)

    async def _claim(
        self,
        claims: Any,
        results: list[tuple[int, int, Outcome]],
        run_id: int,
        after_id: int,
        generation: int,
        *,
        recheck: bool,
    ) -> repo.Claimed | str | None:
        """The next delivery claimed under `generation`; None when nothing is pending, FENCED when
        the term is over."""
        async with claims.begin():
            if len(results) >= self.record_batch:
                await self._record(claims, results, recheck=recheck, claimed_under=generation)
            if not await repo.term_is_current(session=claims, name=TERM, generation=generation):
                return FENCED
            return await repo.claim_next(
                session=claims,
                run_id=run_id,
                now=self.services.clock.now(),
                after_id=after_id,
                generation=generation,
            )

    async def _send(
        self,
        delivery: repo.Claimed,
        chat_id: int,
        kind: str,
        results: list[tuple[int, int, Outcome]],
        gate: asyncio.Semaphore,
    ) -> None:
        try:
            outcome = await self._send_with_retry(delivery, chat_id, kind)
            results.append((delivery.id, delivery.member_id, outcome))
        finally:
            gate.release()

    async def _send_with_retry(self, delivery: repo.Claimed, chat_id: int, kind: str) -> Outcome:
        outcome = Outcome("unknown")
        for attempt in range(self.max_attempts):
            if attempt:
                await self.pacer.wait(chat_id)
            outcome = await self._send_one(delivery, chat_id, kind)
            if outcome.kind != "retry_after":
                return outcome
            log.warning("rate limited: retry after %.1f s", outcome.retry_after)
            self.pacer.pause(outcome.retry_after)
        return outcome

    async def _send_one(self, delivery: repo.Claimed, chat_id: int, kind: str) -> Outcome:
        text = delivery.text
        if text.startswith(_DIGEST_MARK):
            return await self._send_digest(chat_id, int(text[len(_DIGEST_MARK) :]))
        buttons = nudge_buttons(delivery.id) if kind == "nudge" else None
        return await self.notifier.send(chat_id, text, buttons)

    async def _send_digest(self, chat_id: int, org_id: int) -> Outcome:
        from bot import digest

        report = await digest.scheduled_digest(self.services, org_id=org_id)
        return await self.notifier.send_digest(
            chat_id, report.digest, report.chart_png, pace=lambda: self.pacer.wait(chat_id)
        )

    async def _record(
        self,
        session: AsyncSession,
        results: list[tuple[int, int, Outcome]],
        *,
        recheck: bool = False,
        claimed_under: int | None = None,
    ) -> None:
        """Write finished outcomes (batched into the next claim's transaction). With `recheck`, an
        unknown outcome (a time-out: Telegram may or may not have it) is rechecked later, like an
        interrupted send. With `claimed_under` (a run's sends) only claims of that term are written."""
        done, results[:] = list(results), []
        now = self.services.clock.now()
        outcomes = []
        blocked = []
        for delivery_id, member_id, outcome in done:
            status = {"sent": "sent", "forbidden": "forbidden", "unknown": "unknown"}.get(
                outcome.kind, "failed"
            )
            error = outcome.error or (outcome.kind if status == "failed" else None)
            outcomes.append((delivery_id, status, now if status == "sent" else None, error))
            if status == "forbidden":
                blocked.append(member_id)
        await repo.mark_deliveries(session=session, outcomes=outcomes, claimed_under=claimed_under)
        unknown = [delivery_id for delivery_id, status, _, _ in outcomes if status == "unknown"]
        if recheck and unknown:
            await repo.recheck_later(session=session, delivery_ids=unknown, at=now + UNKNOWN_RECHECK)
        self.services.metrics.deliveries(status for _, status, _, _ in outcomes)
        if blocked:
            await session.execute(update(Member).where(col(Member.id).in_(blocked)).values(unreachable=True))

    # --- restart: resume interrupted runs, catch up one missed fire within the grace window ---
    async def resume_unfinished(self) -> list[RunReport]:
        """Plan and deliver every run left pending or running (by a crash, a stop, or a former
        leader), except those this outbox is delivering now."""
        services = self.services
        reports: list[RunReport] = []
        async with services.session() as session:
            unfinished = [r.id for r in await repo.unfinished_runs(session=session) if r.id is not None]
        for run_id in unfinished:
            if self.stopping:
                break
            if run_id in self._active:
                continue
            async with services.session() as session:
                run = await session.get(ScheduleRun, run_id)
                schedule = (
                    await repo.get_schedule(session=session, schedule_id=run.schedule_id) if run else None
                )
            if run is None or schedule is None:
                continue
            reports.append(await self.deliver(run_id, schedule if run.status == "pending" else None))
        return reports

    async def resume_and_catch_up(self, calendar: WorkCalendar) -> list[RunReport]:
        services = self.services
        now = services.clock.now()
        grace = dt.timedelta(hours=services.settings.misfire_grace_hours)
        async with services.session() as session:
            schedules = [s for s in await repo.list_schedules(session=session) if not s.paused]
            latest = {
                s.id: await repo.latest_run_time(session=session, schedule_id=s.id)
                for s in schedules
                if s.id is not None
            }
        reports = await self.resume_unfinished()
        for schedule in schedules:
            spec = Spec.of(schedule)
            since = max(schedule.created_at, latest.get(schedule.id or 0) or schedule.created_at)
            missed = fire_times_between(spec, calendar, since.astimezone(spec.tz), now)
            if not missed:
                continue
            last = missed[-1]
            too_old = [t for t in missed if now - t > grace]
            if too_old:
                log.warning(
                    "schedule %s: %d missed fire time(s) older than the grace window skipped (last %s)",
                    schedule.id,
                    len(too_old),
                    too_old[-1].isoformat(),
                )
            if now - last <= grace:
                log.info("schedule %s: catching up the fire time %s", schedule.id, last.isoformat())
                report = await self.run(schedule.id or 0, last)
                if report is not None:
                    reports.append(report)
        return reports

    # --- snooze --------------------------------------------------------------------------------
    async def resend_snoozed(self, delivery_id: int) -> Outcome | None:
        """Send a snoozed nudge again, with what is still open now (nothing if all is done).

        The recheck of an interrupted send (status "unknown") comes this way too: it is sent marked
        as a possible repeat, and its outcome becomes the delivery's."""
        services = self.services
        async with services.session() as session:
            if not await repo.take_snooze(session=session, delivery_id=delivery_id):
                return None
            delivery = await session.get(Delivery, delivery_id)
            member = await session.get(Member, delivery.member_id) if delivery else None
            if delivery is None or member is None or member.unreachable or not member.active:
                return None
            recheck = delivery.status == "unknown"
            statuses = await open_statuses(session=session, member=member, on=services.clock.now().date())
            if recheck and not statuses:
                delivery.error = "interrupted; the duty was done by the recheck, not resent"
        if not statuses:
            return None
        await self.pacer.wait(member.telegram_id)
        text = nudge_text(statuses) + ("\n" + REPEAT_NOTE if recheck else "")
        outcome = await self.notifier.send(member.telegram_id, text, nudge_buttons(delivery_id))
        async with services.session() as session:
            if recheck:  # the recheck's outcome is the delivery's (a sent one counts for the cap)
                assert member.id is not None
                await self._record(session, [(delivery_id, member.id, outcome)])
            elif outcome.kind == "forbidden":
                await session.execute(
                    update(Member).where(col(Member.id) == member.id).values(unreachable=True)
                )
        return outcome


async def snooze(*, session: AsyncSession, delivery_id: int, now: dt.datetime) -> dt.datetime | None:
    """Snooze a nudge for two hours, at most twice; the time it comes back, or None when used up."""
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None or delivery.snooze_count >= MAX_SNOOZES:
        return None
    until = (now + SNOOZE).astimezone(UTC)
    delivery.snooze_count += 1
    delivery.snooze_until = until
    await session.flush()
    return until


def _local_day(moment: dt.datetime, zone: str) -> dt.date:
    if moment.tzinfo is None:  # SQLite hands UTC back naive
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(zone)).date()


def pick_fire_time(schedule: Schedule, calendar: WorkCalendar, now: dt.datetime) -> dt.datetime | None:
    """The fire time a job woken up at `now` stands for (the latest one not after now + 1 s)."""
    return last_fire_time(Spec.of(schedule), calendar, now + dt.timedelta(seconds=1))
