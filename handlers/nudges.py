"""The buttons under a nudge: 去报告 · 本期不涉及 · 稍后提醒 (callback data `nudge:<verb>:<delivery>`,
`nudge:x:<delivery>:<target>` for one of several open targets; service: bot.nudge_answers)."""

from __future__ import annotations

import datetime as dt
import html

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot import outbox
from bot.nudge_answers import Answered, NudgeAnswer, answer_nudge
from handlers.context import Ctx
from handlers.notifier import keyboard
from handlers.schedule_commands import schedule_snooze

REPORT_HINT = "好的，做完后直接把开展的工作发给我就行，例如：\n· 今天召开支委会，参加7人，时长1小时"
NOT_YOURS = "这条提醒不是发给您的。"
NOTHING_OPEN = "这一期已经没有待办了 ✅"
VERBS = {"r": NudgeAnswer.report, "s": NudgeAnswer.snooze, "x": NudgeAnswer.exempt}


async def on_nudge_button(update: Update, context: Ctx) -> None:
    """Answer a nudge button: prompt the report, record 本期不涉及, or snooze two hours."""
    query = update.callback_query
    if query is None or not query.data:
        return
    parts = query.data.split(":")
    if len(parts) < 3 or parts[1] not in VERBS or not parts[2].isdigit():
        await query.answer()
        return
    verb, delivery_id = VERBS[parts[1]], int(parts[2])
    target_id = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else None
    answered = await answer_nudge(context.bot_data, query.from_user.id, verb, delivery_id, target_id)
    if not answered.mine:
        await query.answer(NOT_YOURS, show_alert=True)
    elif verb == NudgeAnswer.report:
        await query.answer()
        await context.bot.send_message(query.from_user.id, REPORT_HINT)
    elif verb == NudgeAnswer.snooze:
        await _after_snooze(query, context, delivery_id, answered.snoozed_until)
    else:
        await _after_exempt(query, delivery_id, answered)


async def _after_snooze(
    query: CallbackQuery, context: Ctx, delivery_id: int, until: dt.datetime | None
) -> None:
    if until is None:
        await query.answer("已经推迟过两次了，这次就不再推迟了。", show_alert=True)
        return
    schedule_snooze(context.application, delivery_id, until)
    local = until.astimezone(context.bot_data.clock.now().tzinfo)
    await query.answer(f"好的，{local.hour}:{local.minute:02d} 再提醒您。")


async def _after_exempt(query: CallbackQuery, delivery_id: int, answered: Answered) -> None:
    message = query.message
    base = html.escape(message.text) if isinstance(message, Message) and message.text else ""
    chosen = answered.chosen
    if not chosen:
        await query.answer()
        await query.edit_message_text(f"{base}\n\n{NOTHING_OPEN}" if base else NOTHING_OPEN)
        return
    done = answered.exempted
    if done is None:
        rows = [
            [InlineKeyboardButton(f"{s.label()}不涉及", callback_data=f"nudge:x:{delivery_id}:{s.target_id}")]
            for s in chosen
        ]
        await query.answer("请选择哪一项本期不涉及")
        await query.edit_message_reply_markup(InlineKeyboardMarkup(rows))
        return
    await query.answer("已记下")
    left = [s for s in answered.open if s.target_id != done.target_id]
    note = f"\n\n已记为本期不涉及：{html.escape(done.label())}。书记可以看到这条说明。"
    markup = keyboard(outbox.nudge_buttons(delivery_id)) if left else None
    await query.edit_message_text(base + note, reply_markup=markup)
