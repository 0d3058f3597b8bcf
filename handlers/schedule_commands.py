"""/schedule and /holiday: read the command, call bot.schedule_admin, word the answer.

The scheduler's runtime (jobs, leadership, catch-up, snoozes) is bot.scheduler, bound to this
adapter's JobQueue and Notifier by handlers.app.start_services.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Awaitable, Callable

from telegram import Message, Update
from telegram.ext import Application

from bot import schedule_admin as service
from bot.calendar import POLICY_NAMES
from bot.entities import Member, Schedule
from bot.errors import Refused
from bot.errors import shown as echo
from bot.periods import WEEKDAY_NAMES, parse_day
from bot.recurrence import ACCEPTED_FORMS, KIND_NAMES, RuleError, format_fire, zone_label
from bot.roles import Role, has_role
from bot.services import Services
from handlers.callbacks import number
from handlers.context import Ctx
from handlers.guards import NEED_ROLE, NOT_BOUND, reply_private

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


def schedule_snooze(app: Application, delivery_id: int, until: dt.datetime) -> None:
    services: Services = app.bot_data
    if services.scheduler is not None:
        services.scheduler.schedule_snooze(delivery_id, until)


# --- formatting ------------------------------------------------------------------------------------
def describe(schedule: Schedule, org_name: str | None) -> str:
    scope = f"{html.escape(org_name)}及下级" if org_name else "全部组织"
    policy = "" if schedule.special else f" · {POLICY_NAMES.get(schedule.holiday_policy, '')}"
    paused = " · ⏸ 已暂停" if schedule.paused else ""
    return (
        f"#{schedule.id} {KIND_NAMES.get(schedule.kind, schedule.kind)}：{html.escape(schedule.rule_text)}"
        f"（{zone_label(schedule.timezone)}）· {scope}{policy}{paused}"
    )


def _short(when: dt.datetime) -> str:
    return f"{when.month}月{when.day}日"


# --- /schedule -------------------------------------------------------------------------------------
Verb = Callable[[Services, Member, list[str]], Awaitable[str]]


_LISTING = ("list", "ls", "列表", "查看")


async def _authorized(update: Update, context: Ctx) -> tuple[Message, Member, list[str], str] | None:
    """(message, member, arguments, verb) when the sender may run the verb: listing needs a
    secretary, every change an admin; otherwise the refusal is answered and None returned."""
    message = update.effective_message
    if message is None or update.effective_user is None:
        return None
    member = await service.caller(context.bot_data, update.effective_user)
    args = context.args or []
    verb = args[0].lower() if args else "list"
    if member is None:
        await message.reply_text(NOT_BOUND)
        return None
    needed = Role.secretary if verb in _LISTING else Role.admin
    if not has_role(member, needed):
        await message.reply_text(NEED_ROLE[needed])
        return None
    return message, member, args, verb


async def schedule_command(update: Update, context: Ctx) -> None:
    """Dispatch /schedule add|list|pause|resume|remove|test."""
    authorized = await _authorized(update, context)
    if authorized is None:
        return
    message, member, args, verb = authorized
    services = context.bot_data
    handler = _VERBS.get(verb)
    if handler is None:
        await message.reply_text(html.escape(USAGE))
        return
    reply = await handler(services, member, args[1:])
    if has_role(member, Role.admin):
        note = await service.calendar_note(services)
        reply += f"\n\n{note}" if note else ""
    if handler is _test:  # it names the people with duties open: never in a group
        await reply_private(update, context, reply)
        return
    await message.reply_text(reply)


async def _list(services: Services, member: Member, args: list[str]) -> str:
    views = await service.list_schedules(services)
    if not views:
        return "还没有提醒计划。管理员可以用 /schedule add 每周五16:00 提醒 添加。"
    lines = []
    for v in views:
        tail = f"\n   下次：{format_fire(v.upcoming[0])}" if v.upcoming else ""
        lines.append(describe(v.schedule, v.org_name) + tail)
    return "⏰ 提醒计划\n" + "\n".join(lines)


async def _add(services: Services, member: Member, args: list[str]) -> str:
    text = " ".join(args)
    try:
        view = await service.add_schedule(services, member, text)
    except Refused as refusal:
        return refusal.text
    except RuleError:
        rule_text = service.split_add(text, [])[0]
        shown = html.escape(echo(rule_text)) if rule_text else "（空）"
        return f"没看懂“{shown}”。可以这样写：{html.escape(ACCEPTED_FORMS)}"
    nxt = "、".join(_short(t) for t in view.upcoming)
    return f"已添加 {describe(view.schedule, view.org_name)}\n接下来：{nxt or '近期没有'}"


def _schedule_id(args: list[str], verb: str) -> int | str:
    """The schedule number in the arguments, or the hint to give."""
    found = number(args[0].lstrip("#")) if args else None
    if found is None:
        return f"请写上计划编号，例如：/schedule {verb} 1（编号见 /schedule list）"
    return found


def _no_such(args: list[str]) -> str:
    return f"没有编号为 {html.escape(args[0])} 的提醒计划，请用 /schedule list 查看。"


async def _set_paused(services: Services, member: Member, args: list[str], paused: bool) -> str:
    found = _schedule_id(args, "pause" if paused else "resume")
    if isinstance(found, str):
        return found
    if await service.set_paused(services, member, found, paused) is None:
        return _no_such(args)
    return f"已暂停 #{found}。" if paused else f"已恢复 #{found}。"


async def _pause(services: Services, member: Member, args: list[str]) -> str:
    return await _set_paused(services, member, args, True)


async def _resume(services: Services, member: Member, args: list[str]) -> str:
    return await _set_paused(services, member, args, False)


async def _remove(services: Services, member: Member, args: list[str]) -> str:
    found = _schedule_id(args, "remove")
    if isinstance(found, str):
        return found
    removed = await service.remove_schedule(services, member, found)
    if removed is None:
        return _no_such(args)
    return f"已删除 #{found}（{html.escape(removed.rule_text)}）。"


async def _test(services: Services, member: Member, args: list[str]) -> str:
    found = _schedule_id(args, "test")
    if isinstance(found, str):
        return found
    result = await service.dry_run(services, found)
    if result is None:
        return _no_such(args)
    view, people = result.view, result.people
    times = "\n".join(f"· {format_fire(t)}" for t in view.upcoming) or "· 近期没有"
    verb = "提醒" if view.schedule.kind == "nudge" else "发给"
    who = "、".join(html.escape(name) for name in people[:20])
    more = f" 等 {len(people)} 人" if len(people) > 20 else ""
    reach = (
        f"如果现在运行，会{verb} {len(people)} 人：{who}{more}"
        if people
        else f"如果现在运行，不会{verb}任何人。"
    )
    return f"🔍 {describe(view.schedule, view.org_name)}\n接下来五次：\n{times}\n{reach}\n（测试，不发送任何消息）"


_VERBS: dict[str, Verb] = {
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
    authorized = await _authorized(update, context)
    if authorized is None:
        return
    message, member, args, verb = authorized
    services = context.bot_data
    listing = verb in _LISTING
    today = services.clock.now().date()
    if listing:
        written = args[1] if len(args) > 1 else str(today.year)
        if not (written.isascii() and written.isdigit() and len(written) == 4):
            await message.reply_text(
                f"没看懂年份“{html.escape(echo(written))}”，请写四位数字，例如：/holiday list {today.year}"
            )
            return
        await message.reply_text(await _holiday_list(services, int(written)))
        return
    if verb not in ("add", "添加", "remove", "rm", "删除") or len(args) < 2:
        await message.reply_text(html.escape(HOLIDAY_USAGE))
        return
    day = parse_day(args[1], today)
    if day is None:
        await message.reply_text(
            f"没看懂日期“{html.escape(echo(args[1]))}”，请写成 2026-10-09、10月9日 或 下周五。"
        )
        return
    if verb in ("remove", "rm", "删除"):
        removed = await service.remove_holiday(services, member, day)
        reply = f"已删除 {_day(day)} 的调整，恢复法定安排。" if removed else f"{_day(day)} 没有调整。"
        await message.reply_text(reply)
        return
    flag = args[2] if len(args) > 2 else "放假"
    if flag not in _OFF_WORDS | _ON_WORDS:
        await message.reply_text(html.escape(HOLIDAY_USAGE))
        return
    is_holiday = flag in _OFF_WORDS
    note = " ".join(args[3:])[:100]
    await service.set_holiday(services, member, day, is_holiday=is_holiday, note=note, word=flag)
    state = "放假" if is_holiday else "上班"
    await message.reply_text(
        f"已记下：{_day(day)} {state}{'（' + html.escape(note) + '）' if note else ''}。"
    )


def _day(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日 周{WEEKDAY_NAMES[day.weekday()]}"


async def _holiday_list(services: Services, year: int) -> str:
    known, rows = await service.list_holidays(services, year)
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
