"""/schedule and /holiday, and the scheduler's life cycle: jobs rebuilt from the database.

Only the leader runs jobs (services.leadership): gaining leadership rebuilds every job, resumes
interrupted runs and catches up one missed fire time within the grace window; losing it removes them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot import outbox as nudges
from bot.calendar import POLICY_NAMES, WorkCalendar
from bot.outbox import Outbox
from bot.periods import parse_day
from bot.recurrence import (
    ACCEPTED_FORMS,
    KIND_NAMES,
    RuleError,
    ScheduleTrigger,
    Spec,
    format_fire,
    next_fire_times,
    parse_rule,
    zone_label,
)
from bot.services import Services
from handlers.context import Ctx
from handlers.guards import NEED_ROLE, NOT_BOUND, has_role, resolve
from handlers.notifier import TelegramNotifier
from storage import orgs as org_repo
from storage import schedules as repo
from storage.db import serialize
from storage.models import Member, Role, Schedule

log = logging.getLogger(__name__)

USAGE = (
    "提醒计划的用法：\n"
    "/schedule list 查看全部\n"
    "/schedule add 每周五16:00 提醒 第一党委\n"
    "/schedule add 每周一9:00 汇总 节假日顺延\n"
    "/schedule add 每月1日9:00 督促\n"
    "/schedule pause|resume|remove|test 编号\n"
    f"时间可以这样写：{ACCEPTED_FORMS}"
)
HOLIDAY_USAGE = (
    "节假日调整的用法：\n"
    "/holiday list [年份]\n"
    "/holiday add 2026-10-09 放假 [备注]\n"
    "/holiday add 2026-10-10 上班 [备注]\n"
    "/holiday remove 2026-10-09"
)
_KIND_WORDS = {
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
_POLICY_WORDS = {
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
_DEFAULT_POLICY = {"nudge": "previous", "digest": "next", "escalation": "next"}
DEFAULT_SCHEDULES = (
    {"rule": "每周五16:00", "kind": "nudge", "holiday_policy": "previous"},
    {"rule": "每周一9:00", "kind": "digest", "holiday_policy": "next"},
)
SNOOZE_SWEEP_SECONDS = 300


# --- services state ------------------------------------------------------------------------------
def outbox(app: Application) -> Outbox:
    services: Services = app.bot_data
    if services.outbox is None:
        services.outbox = Outbox(services, TelegramNotifier(app.bot))
    return services.outbox


def calendar(services: Services) -> WorkCalendar:
    return services.calendar


async def load_calendar(services: Services) -> WorkCalendar:
    async with services.session() as session:
        cal = WorkCalendar(await repo.overrides_map(session=session))
    services.calendar = cal
    return cal


# --- jobs ------------------------------------------------------------------------------------------
async def _fire(context: Ctx) -> None:
    """A schedule's job: run the fire time it stands for."""
    services = context.bot_data
    schedule_id = int(context.job.data)  # type: ignore[union-attr, arg-type]
    async with services.session() as session:
        schedule = await repo.get_schedule(session=session, schedule_id=schedule_id)
    if schedule is None or schedule.paused:
        return
    now = services.clock.now()
    fire = nudges.pick_fire_time(schedule, calendar(services), now)
    grace = dt.timedelta(hours=services.settings.misfire_grace_hours)
    if fire is None or now - fire > grace:
        log.warning("schedule %s woke at %s with no fire time in the grace window", schedule_id, now)
        return
    await outbox(context.application).run(schedule_id, fire)
    await warn_admins_about_calendar(context.application)


async def _snooze_fire(context: Ctx) -> None:
    await outbox(context.application).resend_snoozed(int(context.job.data))  # type: ignore[union-attr, arg-type]


async def _snooze_sweep(context: Ctx) -> None:
    """Send snoozes that are due but have no job here (pressed on another replica)."""
    services = context.bot_data
    async with services.session() as session:
        due = await repo.due_snoozes(session=session, now=services.clock.now())
    for delivery_id in due:
        await outbox(context.application).resend_snoozed(delivery_id)


def _remove_jobs(app: Application, prefix: str) -> None:
    if app.job_queue is None:
        return
    for job in app.job_queue.jobs():
        if (job.name or "").startswith(prefix):
            job.schedule_removal()


async def rebuild_jobs(app: Application) -> int:
    """Replace every schedule job with one per active schedule in the database (leader only)."""
    services: Services = app.bot_data
    _remove_jobs(app, "schedule:")
    cal = await load_calendar(services)
    if not services.leadership.is_leader or app.job_queue is None:
        return 0
    async with services.session() as session:
        schedules = [s for s in await repo.list_schedules(session=session) if not s.paused]
    grace = int(services.settings.misfire_grace_hours * 3600)
    for schedule in schedules:
        app.job_queue.run_custom(
            _fire,
            job_kwargs={
                "trigger": ScheduleTrigger(Spec.of(schedule), cal),
                "id": f"schedule:{schedule.id}",
                "replace_existing": True,
                "misfire_grace_time": grace,
                "coalesce": True,
            },
            data=schedule.id,
            name=f"schedule:{schedule.id}",
        )
    return len(schedules)


def schedule_snooze(app: Application, delivery_id: int, until: dt.datetime) -> None:
    services: Services = app.bot_data
    if not services.leadership.is_leader or app.job_queue is None:
        return  # the leader picks persisted snoozes up when it activates
    when = max(until, services.clock.now() + dt.timedelta(seconds=1))
    _remove_jobs(app, f"snooze:{delivery_id}")
    app.job_queue.run_once(_snooze_fire, when=when, data=delivery_id, name=f"snooze:{delivery_id}")


async def calendar_warning(services: Services, schedules: list[Schedule] | None = None) -> str:
    """A one-time note for admins when the statutory calendar lacks a coming year (weekdays used)."""
    cal = calendar(services)
    now = services.clock.now()
    async with services.session() as session:
        for schedule in schedules if schedules is not None else await repo.list_schedules(session=session):
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
    return "\n\n" + "\n".join(notes) if notes else ""


async def warn_admins_about_calendar(app: Application) -> int:
    """Tell every admin, once per year, when coming fire times reach a year the statutory calendar
    does not know (checked after each run). Returns the messages sent."""
    services: Services = app.bot_data
    note = (await calendar_warning(services)).strip()
    if not note:
        return 0
    async with services.session() as session:
        chats = {
            m.telegram_id
            for m in await org_repo.list_members(session=session)
            if m.role == Role.admin and not m.unreachable
        }
    chats |= set(services.settings.admin_telegram_ids)
    sent = 0
    for chat_id in sorted(chats):
        try:
            await app.bot.send_message(chat_id=chat_id, text=note)
            sent += 1
        except TelegramError as error:  # blocked or never started the bot: the /schedule note remains
            log.warning("calendar warning not delivered: %s", type(error).__name__)
    return sent


async def activate(app: Application) -> None:
    """Leadership gained: rebuild jobs and snoozes, then resume and catch up in the background."""
    services: Services = app.bot_data
    outbox(app).start()
    count = await rebuild_jobs(app)
    async with services.session() as session:
        snoozed = [(d.id, d.snooze_until) for d in await repo.snoozed_deliveries(session=session)]
    for delivery_id, until in snoozed:
        schedule_snooze(app, delivery_id, until)  # type: ignore[arg-type]
    if app.job_queue is not None and services.leadership.is_leader:
        app.job_queue.run_repeating(_snooze_sweep, interval=SNOOZE_SWEEP_SECONDS, name="snooze:sweep")
    log.info("scheduler active: %d schedule jobs, %d snoozes", count, len(snoozed))
    services.catch_up = asyncio.create_task(_catch_up(app))


async def _catch_up(app: Application) -> None:
    """Resume interrupted runs and catch up a missed fire time; errors are logged, never lost."""
    try:
        await outbox(app).resume_and_catch_up(calendar(app.bot_data))
    except Exception:
        log.exception("resuming or catching up schedules failed")


async def deactivate(app: Application) -> None:
    _remove_jobs(app, "schedule:")
    _remove_jobs(app, "snooze:")
    # Let running sends finish and record their outcomes; what is left stays pending for the next
    # leader. Cancelling mid-transaction could leave SQLite's write lock behind.
    outbox(app).stop()
    task, app.bot_data.catch_up = app.bot_data.catch_up, None
    if task is not None and not task.done():
        done, _ = await asyncio.wait({task}, timeout=30)
        if not done:
            task.cancel()


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


async def on_startup(app: Application) -> None:
    services: Services = app.bot_data
    await seed_defaults(services)
    services.leadership.on_change(lambda: activate(app), lambda: deactivate(app))


async def on_shutdown(app: Application) -> None:
    await deactivate(app)


# --- formatting ------------------------------------------------------------------------------------
def describe(schedule: Schedule, org_name: str | None) -> str:
    scope = f"{html.escape(org_name)}及下级" if org_name else "全部组织"
    policy = "" if schedule.special else f" · {POLICY_NAMES.get(schedule.holiday_policy, '')}"
    paused = " · ⏸ 已暂停" if schedule.paused else ""
    return (
        f"#{schedule.id} {KIND_NAMES.get(schedule.kind, schedule.kind)}：{html.escape(schedule.rule_text)}"
        f"（{zone_label(schedule.timezone)}）· {scope}{policy}{paused}"
    )


def upcoming(services: Services, schedule: Schedule, count: int = 5) -> list[dt.datetime]:
    return next_fire_times(Spec.of(schedule), calendar(services), services.clock.now(), count)


def _short(when: dt.datetime) -> str:
    return f"{when.month}月{when.day}日"


# --- /schedule -------------------------------------------------------------------------------------
async def _caller(update: Update, context: Ctx) -> Member | None:
    user = update.effective_user
    if user is None:
        return None
    async with context.bot_data.session() as session:
        return await resolve(session=session, services=context.bot_data, user=user)


async def schedule_command(update: Update, context: Ctx) -> None:
    """Dispatch /schedule add|list|pause|resume|remove|test."""
    message = update.effective_message
    if message is None:
        return
    member = await _caller(update, context)
    args = context.args or []
    verb = args[0].lower() if args else "list"
    if member is None:
        await message.reply_text(NOT_BOUND)
        return
    needed = Role.secretary if verb in ("list", "ls", "列表", "查看") else Role.admin
    if not has_role(member, needed):
        await message.reply_text(NEED_ROLE[needed])
        return
    handler = _VERBS.get(verb)
    if handler is None:
        await message.reply_text(html.escape(USAGE))
        return
    reply = await handler(context, member, args[1:])
    if has_role(member, Role.admin):
        reply += await calendar_warning(context.bot_data)
    await message.reply_text(reply)


async def _list(context: Ctx, member: Member, args: list[str]) -> str:
    services = context.bot_data
    async with services.session() as session:
        schedules = await repo.list_schedules(session=session)
        names = {o.id: o.name for o in await org_repo.list_orgs(session=session)}
    if not schedules:
        return "还没有提醒计划。管理员可以用 /schedule add 每周五16:00 提醒 添加。"
    lines = []
    for s in schedules:
        nxt = upcoming(services, s, 1)
        tail = "" if s.paused or not nxt else f"\n   下次：{format_fire(nxt[0])}"
        lines.append(describe(s, names.get(s.org_id)) + tail)  # type: ignore[arg-type]
    return "⏰ 提醒计划\n" + "\n".join(lines)


def _split_add(text: str, org_names: list[str]) -> tuple[str, str | None, str | None, str | None]:
    """Take kind, holiday policy and organisation words out of the text; the rest is the rule."""
    kind = policy = org = None
    words = text.split()
    rest: list[str] = []
    for word in words:
        clean = word.strip("，,;；")
        if clean in _KIND_WORDS and kind is None:
            kind = _KIND_WORDS[clean]
        elif clean in _POLICY_WORDS and policy is None:
            policy = _POLICY_WORDS[clean]
        elif clean in org_names and org is None:
            org = clean
        else:
            rest.append(word)
    return " ".join(rest), kind, policy, org


async def _add(context: Ctx, member: Member, args: list[str]) -> str:
    services = context.bot_data
    async with services.session() as session:
        org_names = [o.name for o in await org_repo.list_orgs(session=session)]
    text, kind, policy, org_name = _split_add(" ".join(args), org_names)
    try:
        rule = parse_rule(text)
    except RuleError:
        shown = html.escape(text) if text else "（空）"
        return f"没看懂“{shown}”。可以这样写：{html.escape(ACCEPTED_FORMS)}"
    kind = kind or "nudge"
    policy = policy or _DEFAULT_POLICY[kind]
    async with services.session() as session:
        org = await org_repo.get_org_by_name(session=session, name=org_name) if org_name else None
        schedule = await repo.add_schedule(
            session=session,
            rule_text=rule.label,
            cron=rule.cron,
            special=rule.special,
            timezone=services.settings.timezone,
            org_id=org.id if org else None,
            kind=kind,
            holiday_policy=policy,
            created_by=member.id,
            created_at=services.clock.now().astimezone(dt.UTC),
        )
        await org_repo.audit(
            session=session,
            actor=member,
            action="schedule.add",
            object_type="schedule",
            object_id=schedule.id,
            detail=f"{rule.label} {kind} {policy} {org_name or ''}".strip(),
        )
    await rebuild_jobs(context.application)
    nxt = "、".join(_short(t) for t in upcoming(services, schedule))
    return f"已添加 {describe(schedule, org_name)}\n接下来：{nxt or '近期没有'}"


async def _get(context: Ctx, args: list[str], verb: str = "test") -> Schedule | str:
    if not args or not args[0].lstrip("#").isdigit():
        return f"请写上计划编号，例如：/schedule {verb} 1（编号见 /schedule list）"
    async with context.bot_data.session() as session:
        schedule = await repo.get_schedule(session=session, schedule_id=int(args[0].lstrip("#")))
    return schedule or f"没有编号为 {html.escape(args[0])} 的提醒计划，请用 /schedule list 查看。"


async def _set_paused(context: Ctx, member: Member, args: list[str], paused: bool) -> str:
    found = await _get(context, args, "pause" if paused else "resume")
    if isinstance(found, str):
        return found
    async with context.bot_data.session() as session:
        schedule = await repo.get_schedule(session=session, schedule_id=found.id)  # type: ignore[arg-type]
        schedule.paused = paused  # type: ignore[union-attr]
        await org_repo.audit(
            session=session,
            actor=member,
            action="schedule.pause" if paused else "schedule.resume",
            object_type="schedule",
            object_id=found.id,
        )
    await rebuild_jobs(context.application)
    return f"已暂停 #{found.id}。" if paused else f"已恢复 #{found.id}。"


async def _pause(context: Ctx, member: Member, args: list[str]) -> str:
    return await _set_paused(context, member, args, True)


async def _resume(context: Ctx, member: Member, args: list[str]) -> str:
    return await _set_paused(context, member, args, False)


async def _remove(context: Ctx, member: Member, args: list[str]) -> str:
    found = await _get(context, args, "remove")
    if isinstance(found, str):
        return found
    async with context.bot_data.session() as session:
        await repo.remove_schedule(session=session, schedule_id=found.id)  # type: ignore[arg-type]
        await org_repo.audit(
            session=session,
            actor=member,
            action="schedule.remove",
            object_type="schedule",
            object_id=found.id,
            detail=found.rule_text,
        )
    await rebuild_jobs(context.application)
    return f"已删除 #{found.id}（{html.escape(found.rule_text)}）。"


async def _test(context: Ctx, member: Member, args: list[str]) -> str:
    found = await _get(context, args)
    if isinstance(found, str):
        return found
    services = context.bot_data
    async with services.session() as session:
        names = {o.id: o.name for o in await org_repo.list_orgs(session=session)}
        planned = await nudges.plan(
            services=services, session=session, schedule=found, now=services.clock.now()
        )
    times = "\n".join(f"· {format_fire(t)}" for t in upcoming(services, found)) or "· 近期没有"
    verb = "提醒" if found.kind == "nudge" else "发给"
    who = "、".join(html.escape(p.member.name) for p in planned[:20])
    more = f" 等 {len(planned)} 人" if len(planned) > 20 else ""
    people = (
        f"如果现在运行，会{verb} {len(planned)} 人：{who}{more}"
        if planned
        else f"如果现在运行，不会{verb}任何人。"
    )
    return f"🔍 {describe(found, names.get(found.org_id))}\n接下来五次：\n{times}\n{people}\n（测试，不发送任何消息）"  # type: ignore[arg-type]


_VERBS: dict[str, Any] = {
    "list": _list,
    "ls": _list,
    "列表": _list,
    "查看": _list,
    "add": _add,
    "添加": _add,
    "新增": _add,
    "pause": _pause,
    "暂停": _pause,
    "resume": _resume,
    "恢复": _resume,
    "remove": _remove,
    "rm": _remove,
    "delete": _remove,
    "删除": _remove,
    "test": _test,
    "测试": _test,
}


# --- /holiday --------------------------------------------------------------------------------------
_OFF_WORDS = {"放假", "休", "休息", "假", "off", "holiday"}
_ON_WORDS = {"上班", "班", "调休上班", "补班", "work", "workday"}


async def holiday_command(update: Update, context: Ctx) -> None:
    """Dispatch /holiday add|remove|list."""
    message = update.effective_message
    if message is None:
        return
    member = await _caller(update, context)
    args = context.args or []
    verb = args[0].lower() if args else "list"
    if member is None:
        await message.reply_text(NOT_BOUND)
        return
    listing = verb in ("list", "ls", "列表", "查看")
    needed = Role.secretary if listing else Role.admin
    if not has_role(member, needed):
        await message.reply_text(NEED_ROLE[needed])
        return
    services = context.bot_data
    today = services.clock.now().date()
    if listing:
        year = int(args[1]) if len(args) > 1 and args[1].isdigit() else today.year
        await message.reply_text(await _holiday_list(services, year))
        return
    if verb not in ("add", "添加", "remove", "rm", "删除") or len(args) < 2:
        await message.reply_text(html.escape(HOLIDAY_USAGE))
        return
    day = parse_day(args[1], today)
    if day is None:
        await message.reply_text(
            f"没看懂日期“{html.escape(args[1])}”，请写成 2026-10-09、10月9日 或 下周五。"
        )
        return
    if verb in ("remove", "rm", "删除"):
        async with services.session() as session:
            removed = await repo.remove_override(session=session, day=day)
            if removed:
                await org_repo.audit(
                    session=session, actor=member, action="holiday.remove", detail=day.isoformat()
                )
        await rebuild_jobs(context.application)
        reply = f"已删除 {_day(day)} 的调整，恢复法定安排。" if removed else f"{_day(day)} 没有调整。"
        await message.reply_text(reply)
        return
    flag = args[2] if len(args) > 2 else "放假"
    if flag not in _OFF_WORDS | _ON_WORDS:
        await message.reply_text(html.escape(HOLIDAY_USAGE))
        return
    is_holiday = flag in _OFF_WORDS
    note = " ".join(args[3:])[:100]
    async with services.session() as session:
        await repo.set_override(session=session, day=day, is_holiday=is_holiday, note=note)
        await org_repo.audit(
            session=session,
            actor=member,
            action="holiday.add",
            detail=f"{day.isoformat()} {flag} {note}".strip(),
        )
    await rebuild_jobs(context.application)
    state = "放假" if is_holiday else "上班"
    await message.reply_text(
        f"已记下：{_day(day)} {state}{'（' + html.escape(note) + '）' if note else ''}。"
    )


def _day(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日 周{'一二三四五六日'[day.weekday()]}"


async def _holiday_list(services: Services, year: int) -> str:
    async with services.session() as session:
        rows = await repo.list_overrides(session=session, year=year)
    known = WorkCalendar().knows(year)
    head = (
        f"📅 {year}年按国务院放假安排（含调休上班）计算工作日。"
        if known
        else f"📅 还没有{year}年的法定放假数据，暂按周一至周五计算。"
    )
    if not rows:
        return f"{head}\n管理员调整：无。"
    lines = [
        f"· {_day(r.day)} {'放假' if r.is_holiday else '上班'}{'（' + html.escape(r.note) + '）' if r.note else ''}"
        for r in rows
    ]
    return f"{head}\n管理员调整：\n" + "\n".join(lines)
