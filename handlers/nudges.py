"""The buttons under a nudge: 去报告 · 本期不涉及 · 稍后提醒 (Actions nudge.report / nudge.exempt /
nudge.snooze on a delivery, the exemption with a target when several are open; see handlers.callbacks;
service: bot.nudge_answers)."""

from __future__ import annotations

import datetime as dt
import html

from telegram import CallbackQuery, Message, Update

from bot import outbox
from bot.nudge_answers import Answered, NudgeAnswer, answer_nudge
from bot.ports import Action
from handlers.callbacks import decode
from handlers.context import Ctx
from handlers.exemptions import ask_reason
from handlers.notifier import TelegramNotifier, keyboard
from handlers.schedule_commands import schedule_snooze

REPORT_HINT = "好的，做完后直接把开展的工作发给我就行，例如：\n· 今天召开支委会，参加7人，时长1小时"
NOT_YOURS = "这条提醒不是发给您的。"
NOTHING_OPEN = "这一期已经没有待办了 ✅"
VERBS = {
    "nudge.report": NudgeAnswer.report,
    "nudge.snooze": NudgeAnswer.snooze,
    "nudge.exempt": NudgeAnswer.exempt,
}


async def on_nudge_button(update: Update, context: Ctx) -> None:
    """Answer a nudge button: prompt the report, record 本期不涉及, or snooze two hours."""
    query = update.callback_query
    if query is None or not query.data:
        return
    action = decode(query.data)
    if action is None or action.verb not in VERBS:
        await query.answer()
        return
    verb, delivery_id, target_id = VERBS[action.verb], action.ref, action.arg
    answered = await answer_nudge(context.bot_data, query.from_user.id, verb, delivery_id, target_id)
    if not answered.mine:
        await query.answer(NOT_YOURS, show_alert=True)
    elif verb == NudgeAnswer.report:
        await query.answer()
        await TelegramNotifier(context.bot).message(query.from_user.id, REPORT_HINT)
    elif verb == NudgeAnswer.snooze:
        await _after_snooze(query, context, delivery_id, answered.snoozed_until)
    else:
        await _after_exempt(query, delivery_id, answered)
        if answered.needs_reason and answered.exemption_id is not None:
            await ask_reason(context, query.from_user.id, answered.exemption_id)


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
        rows = [[Action(f"{s.label()}不涉及", "nudge.exempt", delivery_id, s.target_id)] for s in chosen]
        await query.answer("请选择哪一项本期不涉及")
        await query.edit_message_reply_markup(keyboard(rows))
        return
    await query.answer("已记下")
    left = [s for s in answered.open if s.target_id != done.target_id]
    note = f"\n\n已记为本期不涉及：{html.escape(done.label())}。书记可以看到这条说明。"
    markup = keyboard(outbox.nudge_buttons(delivery_id)) if left else None
    await query.edit_message_text(base + note, reply_markup=markup)
