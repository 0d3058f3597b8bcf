"""The buttons under a nudge: 去报告 · 本期不涉及 · 稍后提醒 (callback data `nudge:<verb>:<delivery>`)."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import outbox as nudges
from bot.targets import record_exemption
from handlers.context import Ctx
from handlers.notifier import keyboard
from handlers.schedule_commands import schedule_snooze
from storage.models import Delivery, Member

REPORT_HINT = "好的，做完后直接把开展的工作发给我就行，例如：\n· 今天召开支委会，参加7人，时长1小时"
NOT_YOURS = "这条提醒不是发给您的。"
NOTHING_OPEN = "这一期已经没有待办了 ✅"


async def on_nudge_button(update: Update, context: Ctx) -> None:
    """Answer a nudge button: prompt the report, record 本期不涉及, or snooze two hours."""
    query = update.callback_query
    if query is None or not query.data:
        return
    parts = query.data.split(":")
    if len(parts) < 3 or parts[1] not in ("r", "s", "x") or not parts[2].isdigit():
        await query.answer()
        return
    verb, delivery_id = parts[1], int(parts[2])
    target_id = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else None
    services = context.bot_data
    now = services.clock.now()
    async with services.session() as session:
        delivery = await session.get(Delivery, delivery_id)
        member = await session.get(Member, delivery.member_id) if delivery else None
        if member is None or member.telegram_id != query.from_user.id:
            await query.answer(NOT_YOURS, show_alert=True)
            return
        if verb == "r":
            await query.answer()
            await context.bot.send_message(query.from_user.id, REPORT_HINT)
            return
        if verb == "s":
            until = await nudges.snooze(session=session, delivery_id=delivery_id, now=now)
        else:
            statuses = await nudges.open_statuses(session=session, member=member, on=now.date())
            chosen = [s for s in statuses if target_id is None or s.target_id == target_id]
            if len(chosen) == 1:
                await record_exemption(
                    session=session, member=member, target_id=chosen[0].target_id, on=now.date()
                )
    if verb == "s":
        await _after_snooze(query, context, delivery_id, until)
        return
    await _after_exempt(query, delivery_id, statuses, chosen)


async def _after_snooze(query, context: Ctx, delivery_id: int, until) -> None:  # type: ignore[no-untyped-def]
    if until is None:
        await query.answer("已经推迟过两次了，这次就不再推迟了。", show_alert=True)
        return
    schedule_snooze(context.application, delivery_id, until)
    local = until.astimezone(context.bot_data.clock.now().tzinfo)
    await query.answer(f"好的，{local.hour}:{local.minute:02d} 再提醒您。")


async def _after_exempt(query, delivery_id: int, statuses, chosen) -> None:  # type: ignore[no-untyped-def]
    base = html.escape(query.message.text) if query.message and query.message.text else ""
    if not chosen:
        await query.answer()
        await query.edit_message_text(f"{base}\n\n{NOTHING_OPEN}" if base else NOTHING_OPEN)
        return
    if len(chosen) > 1:
        rows = [
            [InlineKeyboardButton(f"{s.label()}不涉及", callback_data=f"nudge:x:{delivery_id}:{s.target_id}")]
            for s in chosen
        ]
        await query.answer("请选择哪一项本期不涉及")
        await query.edit_message_reply_markup(InlineKeyboardMarkup(rows))
        return
    done = chosen[0]
    await query.answer("已记下")
    left = [s for s in statuses if s.target_id != done.target_id]
    note = f"\n\n已记为本期不涉及：{html.escape(done.label())}。书记可以看到这条说明。"
    markup = keyboard(nudges.nudge_buttons(delivery_id)) if left else None
    await query.edit_message_text(base + note, reply_markup=markup)
