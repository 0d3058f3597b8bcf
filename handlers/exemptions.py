"""本期不涉及's reason and the secretary's [驳回] (callback prefix `exm:`; service: bot.exemptions)."""

from __future__ import annotations

import html

from telegram import ForceReply, Message, Update
from telegram.error import Forbidden

from bot.errors import Refused
from bot.exemptions import REASON_PROMPT, give_reason, reject, remember_prompt
from handlers.callbacks import number, pack, unpack
from handlers.context import Ctx
from handlers.notifier import TelegramNotifier, pairs_keyboard
from handlers.prompts import ReplyTo

NO_SUCH_QUESTION = "没有找到这条说明对应的“本期不涉及”。请点提醒里的按钮重新选择。"


REPLY_TO_REASON_PROMPT = ReplyTo(REASON_PROMPT[:12])


async def ask_reason(context: Ctx, chat_id: int, exemption_id: int) -> None:
    """Ask the member for the reason (a reply to this question is it)."""
    sent = await context.bot.send_message(chat_id, REASON_PROMPT, reply_markup=ForceReply(selective=True))
    await remember_prompt(context.bot_data, exemption_id, sent.message_id)


async def reason_reply(update: Update, context: Ctx) -> None:
    """The member's reason, written in reply to the question: stored, and sent to their secretary."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None and message.reply_to_message is not None
    given = await give_reason(
        context.bot_data, user.id, message.reply_to_message.message_id, message.text or ""
    )
    if given is None:
        await message.reply_text(NO_SUCH_QUESTION)
        return
    label, reason = html.escape(given.label), html.escape(given.reason)
    await message.reply_text(f"已记下：{label}本期不涉及，原因：{reason}。书记可以看到这条说明。")
    notifier = TelegramNotifier(context.bot)
    buttons = pairs_keyboard([[("驳回", pack("exm", "r", given.exemption_id))]])
    text = f"📝 {html.escape(given.member_name)}：{label}本期不涉及，原因：{reason}\n如不同意，可以驳回（该项本期仍需完成）。"
    for secretary in given.secretaries:
        try:
            await notifier.message(secretary, text, buttons)
        except Forbidden:  # the secretary blocked the bot: they see it in the digest
            continue


async def reject_button(update: Update, context: Ctx) -> None:
    """[驳回] under an exemption's reason: the exemption no longer counts; the member is told."""
    query = update.callback_query
    assert query is not None
    parsed = unpack(query.data, "exm", fields=(1, 1))
    exemption_id = number(parsed[1][0]) if parsed and parsed[0] == "r" else None
    if exemption_id is None:
        await query.answer("这个按钮已失效。", show_alert=True)
        return
    try:
        rejected = await reject(context.bot_data, query.from_user, exemption_id)
    except Refused as refused:
        await query.answer(html.unescape(refused.text)[:200], show_alert=True)
        return
    if rejected.already:
        await query.answer("已经驳回过了。")
        return
    await query.answer("已驳回")
    message = query.message
    if isinstance(message, Message) and message.text:
        await query.edit_message_text(f"{html.escape(message.text)}\n\n已驳回：该项本期仍需完成。")
    await TelegramNotifier(context.bot).message(
        rejected.member_telegram_id,
        f"书记没有同意「{html.escape(rejected.label)}」本期不涉及：这一项本期仍需完成。",
    )
