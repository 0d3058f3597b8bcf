"""Roster import by sending the file: a dry-run preview with [确认导入] [取消]; the tap applies it
and replies with the sheet of personal invite links (services: bot.roster_service)."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import filters

from bot import roster_service
from bot.errors import NEED_ROLE, Refused
from bot.roles import Role
from bot.roster_file import MAX_BYTES, too_big
from bot.roster_import import SHOWN_BAD_ROWS, links_workbook, preview_lines, problems_csv, summary
from handlers.callbacks import number, pack, unpack
from handlers.context import Ctx
from handlers.guards import answer_refusals, is_private

ROSTER_FILES = (
    filters.Document.FileExtension("xlsx")
    | filters.Document.FileExtension("xlsm")
    | filters.Document.FileExtension("xls")
    | filters.Document.FileExtension("csv")
)
ADMINS_ONLY = "只有管理员可以导入花名册。"
LINKS_NOTE = "未绑定人员的个人邀请链接 {n} 个：请逐一发给本人，本人点开链接才会绑定。"


@answer_refusals
async def roster_file(update: Update, context: Ctx) -> None:
    """A spreadsheet sent in private: an admin's roster import, previewed."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None and message.document is not None
    if not is_private(update):
        return  # files in groups are chatter
    document = message.document
    try:
        await roster_service.authorize(context.bot_data, user)
    except Refused as refusal:
        raise Refused(ADMINS_ONLY if refusal.text == NEED_ROLE[Role.admin] else refusal.text) from None
    if document.file_size and document.file_size > MAX_BYTES:
        raise Refused(too_big(document.file_size))
    data = bytes(await (await document.get_file()).download_as_bytearray())
    name = document.file_name or "花名册.xlsx"
    preview = await roster_service.preview_upload(context.bot_data, user, name, data)
    markup = None
    if preview.upload_id is not None:
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("确认导入", callback_data=pack("imp", "a", preview.upload_id)),
                    InlineKeyboardButton("取消", callback_data=pack("imp", "x", preview.upload_id)),
                ]
            ]
        )
    text = "\n".join(html.escape(line) for line in preview_lines(preview.plan, name))
    await message.reply_text(text, reply_markup=markup)
    if len(preview.plan.bad) > SHOWN_BAD_ROWS:
        await message.reply_document(problems_csv(preview.plan), filename="问题清单.csv")


@answer_refusals
async def roster_button(update: Update, context: Ctx) -> None:
    """[确认导入] applies the previewed file in one transaction; [取消] forgets it."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    unpacked = unpack(query.data, "imp", fields=(1, 1))
    upload_id = number(unpacked[1][0]) if unpacked else None
    if unpacked is None or upload_id is None or unpacked[0] not in ("a", "x"):
        await query.answer("这个按钮已失效。")
        return
    if unpacked[0] == "x":
        await roster_service.cancel_upload(context.bot_data, user, upload_id)
        await query.answer()
        await query.edit_message_text("已取消，未导入任何内容。")
        return
    result = await roster_service.apply_upload(context.bot_data, user, upload_id)
    await query.answer("已导入")
    await query.edit_message_text(f"✅ 已导入。{html.escape(summary(result.plan))}")
    if result.links and query.message is not None:
        workbook = links_workbook(result.links, context.bot.username)
        await context.bot.send_document(
            query.message.chat.id,
            workbook,
            filename="邀请链接.xlsx",
            caption=LINKS_NOTE.format(n=f"{len(result.links):,}"),
        )
