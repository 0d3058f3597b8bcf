"""Check-ins over Telegram: read the message, call `services.checkins` (bot.checkins), render the
card it returns (handlers.cards) and reply; the card's buttons correct the records.

Decisions:
- A forwarded message is the forwarder's own report; its dates are read from the original
  message's send time, and the card says so.
- In a group bound to an organisation (/bindgroup), check-ins of bound members are recorded and the
  card replies to the message; anything else there (chatter, strangers, plans) gets no answer.
- Over the flood limit, check-ins are still stored but get no card (see handlers.guards).
- Text over Telegram's 4096 characters is stored whole and parsed like any other.
"""

from __future__ import annotations

import datetime as dt

from telegram import InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ChatType
from telegram.error import BadRequest

from bot.checkins import (
    NOT_YOURS,
    STALE,
    Author,
    Card,
    Change,
    CheckIns,
    Incoming,
    Nothing,
    Photo,
    parse_day,
)
from bot.entities import DutyRecord
from handlers import cards
from handlers.callbacks import number, unpack
from handlers.context import Ctx
from handlers.guards import (
    NOT_BOUND,
    Refused,
    flooding,
    is_private,
    notify_flood_once,
    reply_private,
)
from handlers.notifier import TelegramNotifier
from handlers.review import tell_revised

TG_TEXT_LIMIT = 4096
FORWARDED = "（转发的消息记在您本人名下，日期按原消息的发送时间推算。）"
NOTHING_ANSWERS = {
    Nothing.PLAN: "这是一项计划，开展之后再来报告就好。",
    Nothing.CANCELLED: "收到，活动取消不计入记录。",
    Nothing.NO_TEXT: "这条消息里没有文字。报告工作请用文字描述，例如：今天组织主题党日，参加18人，时长2小时。",
    Nothing.QUESTION: (
        "这看起来是一个问题，我没有记录。我负责记下已经开展的工作：开展之后直接告诉我，"
        "例如“今天召开支委会，参加7人”。发送 /help 查看全部用法。"
    ),
    Nothing.NOTICE: (
        "这像是一则通知或工作安排，我没有记录。工作开展之后，把做了什么发给我就行，"
        "例如“今天组织集中学习，参加15人”。发送 /help 查看用法。"
    ),
}
NO_TEXT = NOTHING_ANSWERS[Nothing.NO_TEXT]
MEDIA = {
    "sticker": "收到贴纸 🙂 报告工作请直接发文字，例如：今天组织主题党日，参加18人。",
    "voice": "暂时听不了语音，请把内容用文字发给我，例如：今天组织主题党日，参加18人。",
    "other": "暂时只能识别文字和图片。请用文字描述开展的工作，例如：今天组织主题党日，参加18人。",
}
TOASTS = {Change.DELETED: "已撤销", Change.RESTORED: "已恢复"}


# --- helpers -----------------------------------------------------------------------------------
def _checkins(context: Ctx) -> CheckIns:
    return context.bot_data.checkins


def _author(user: User) -> Author:
    return Author(user.id, user.full_name, user.username)


def _text(message: Message) -> str:
    return message.text or message.caption or ""


def _sent(message: Message) -> dt.datetime | None:
    """When the check-in was written: a forwarded message counts from the original."""
    return message.forward_origin.date if message.forward_origin else message.date


def _incoming(update: Update, message: Message) -> Incoming:
    assert update.effective_user is not None
    return Incoming(
        author=_author(update.effective_user),
        chat_id=message.chat_id,
        message_id=message.message_id,
        text=_text(message),
        sent=_sent(message),
        private=is_private(update),
    )


def _photo(message: Message) -> Photo | None:
    if not message.photo:
        return None
    biggest = message.photo[-1]
    return Photo(biggest.file_id, biggest.file_unique_id)


def _render(context: Ctx, card: Card) -> tuple[str, InlineKeyboardMarkup | None]:
    return cards.card(card.records, context.bot_data.rules.categories, card.photos)


async def _edit_card(context: Ctx, card: Card, shown: DutyRecord) -> None:
    """Edit the card message `shown` (one of the card's records) is on, if its id is known."""
    if shown.card_message_id is None or shown.card_chat_id is None:
        return
    body, markup = _render(context, card)
    await _edit_message(context, shown.card_chat_id, shown.card_message_id, body, markup)


async def _edit_message(
    context: Ctx, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    await TelegramNotifier(context.bot).edit_message(chat_id, message_id, text, markup)


# --- check-ins ---------------------------------------------------------------------------------
async def check_in(update: Update, context: Ctx) -> None:
    """Store the records of a new message (text, or a photo's caption) and answer with one card."""
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    private = is_private(update)
    text = _text(message)
    try:
        outcome = await _checkins(context).check_in(
            _incoming(update, message), photo=_photo(message), album=message.media_group_id
        )
    except Refused as refusal:
        if private:  # a stranger in a group is ignored
            await message.reply_text(refusal.text)
        return
    if not outcome.reply_needed:
        return
    if outcome.card is None:
        if outcome.nothing is Nothing.UNREADABLE:
            categories = context.bot_data.rules.categories
            prompt, buttons = cards.unreadable(categories, message.message_id, outcome.day)
            # Quoted, so the button press carries the original text even after a restart.
            await message.reply_text(prompt, reply_markup=buttons, do_quote=True)
        elif outcome.nothing is not None:
            await message.reply_text(NOTHING_ANSWERS[outcome.nothing])
        return
    if flooding(context, update.effective_user.id):
        await notify_flood_once(update, context)
        return
    text_out, markup = _render(context, outcome.card)
    notes = []
    if len(text) > TG_TEXT_LIMIT:
        notes.append(f"（消息较长，共 {len(text)} 字，已全文保存。）")
    if message.forward_origin:
        notes.append(FORWARDED)
    if outcome.plans:
        notes.append(f"另有 {outcome.plans} 项计划未记录，开展之后再来报告就好。")
    if outcome.cancelled:
        notes.append("取消的活动不计入记录。")
    body = "\n".join([text_out, *notes])
    sent = await message.reply_text(body, reply_markup=markup, do_quote=not private)
    _checkins(context).card_sent(outcome.card.records, sent.chat_id, sent.message_id)


async def edited(update: Update, context: Ctx) -> None:
    """An edited check-in updates its records and edits the card in place."""
    message = update.edited_message
    assert message is not None and update.effective_user is not None
    card = await _checkins(context).apply_edit(_incoming(update, message))
    if card is None:
        return
    if card.records[0].card_message_id is not None:
        await _edit_card(context, card, card.records[0])
        return
    body, markup = _render(context, card)
    sent = await message.reply_text(body, reply_markup=markup, do_quote=not is_private(update))
    _checkins(context).card_sent(card.records, sent.chat_id, sent.message_id)


EDITED_COMMAND = "修改后的命令不会再次执行，原命令的结果保持不变。如需按新内容执行，请重新发送一条命令。"


async def edited_command(update: Update, context: Ctx) -> None:
    """An edited command is not run again (it could double a schedule or delete a second one); the
    sender is told so, in private only (a group is not told about one person's edit)."""
    message = update.edited_message
    if message is None or not is_private(update):
        return
    await message.reply_text(EDITED_COMMAND)


# --- photos --------------------------------------------------------------------------------------
async def photo(update: Update, context: Ctx) -> None:
    """A captioned photo is a check-in; a photo replying to a card (or to the check-in) is evidence."""
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    if message.caption:
        await check_in(update, context)
        return
    picture = _photo(message)
    if picture is None:  # a photo message always has one
        return
    reply = message.reply_to_message
    try:
        attached = await _checkins(context).attach_photo(
            author=_author(update.effective_user),
            chat_id=message.chat_id,
            private=is_private(update),
            photo=picture,
            reply_to=reply.message_id if reply is not None else None,
            reply_to_card=reply is not None
            and reply.from_user is not None
            and reply.from_user.id == context.bot.id,
            album=message.media_group_id,
        )
    except Refused as refusal:
        if is_private(update):
            await message.reply_text(refusal.text)
        return
    if message.media_group_id is None or attached.by_card:
        categories = context.bot_data.rules.categories
        names = "；".join(cards.short(r, categories) for r in attached.alive)
        await message.reply_text(f"📎 已附上图片：{names}", do_quote=not is_private(update))
    await _edit_card(context, attached.card, attached.alive[0])


# --- other kinds of input ----------------------------------------------------------------------
async def other_input(update: Update, context: Ctx) -> None:
    """Stickers, voice, files, empty messages: say what the bot can read; store nothing."""
    message = update.effective_message
    if message is None or update.effective_user is None or not is_private(update):
        return
    if not await _checkins(context).is_member(author=_author(update.effective_user)):
        await message.reply_text(NOT_BOUND)
        return
    if message.text is not None:
        await message.reply_text(NO_TEXT)
    elif message.sticker:
        await message.reply_text(MEDIA["sticker"])
    elif message.voice or message.audio or message.video_note:
        await message.reply_text(MEDIA["voice"])
    else:
        await message.reply_text(MEDIA["other"])


async def unknown_command(update: Update, context: Ctx) -> None:
    message = update.effective_message
    if message is not None and is_private(update):
        await message.reply_text("没有这个命令。发送 /help 查看可用的命令。")


# --- /my and /undo -----------------------------------------------------------------------------
async def my(update: Update, context: Ctx) -> None:
    """This week's and this month's records by category, answered in private."""
    user = update.effective_user
    assert user is not None
    try:
        summary = await _checkins(context).totals(author=_author(user))
    except Refused as refusal:
        await reply_private(update, context, refusal.text)
        return
    categories = context.bot_data.rules.categories
    await reply_private(update, context, cards.totals(summary.totals, categories, summary.name))


async def undo(update: Update, context: Ctx) -> None:
    """Undo the sender's most recently stored record."""
    user = update.effective_user
    assert user is not None
    try:
        undone = await _checkins(context).undo(author=_author(user))
    except Refused as refusal:
        await reply_private(update, context, refusal.text)
        return
    notice, restore = cards.undone([undone.record], context.bot_data.rules.categories)
    await reply_private(update, context, notice, reply_markup=restore)
    await _edit_card(context, undone.card, undone.record)


# --- card buttons ------------------------------------------------------------------------------
async def card_button(update: Update, context: Ctx) -> None:
    """rec:<action>:<record id>[:<arg>] — see handlers.cards for the scheme."""
    query = update.callback_query
    assert query is not None and query.data is not None
    unpacked = unpack(query.data, "rec", fields=(1, 2))
    record_id = number(unpacked[1][0]) if unpacked else None
    if unpacked is None or record_id is None:
        await query.answer(STALE)
        return
    action, arg = unpacked[0], (unpacked[1][1] if len(unpacked[1]) > 1 else "")
    categories = context.bot_data.rules.categories
    today = context.bot_data.clock.now().date()
    try:
        acted = await _checkins(context).act(
            author=_author(query.from_user), action=action, record_id=record_id, arg=arg
        )
    except Refused as refusal:
        await query.answer(refusal.text, show_alert=refusal.alert)
        return
    record = acted.record
    body, markup = _render(context, acted.card)
    alive = acted.card.alive
    position = next((n for n, r in enumerate(alive, 1) if r.id == record.id), 0)
    several = len(alive) > 1
    if action == "menu":
        body, markup = cards.record_menu(body, record, position)
    elif action == "cat":
        body, markup = cards.category_picker(body, record, categories)
    elif action in {"date", "dpg"}:
        page = int(arg) if arg.isdigit() else 0
        body, markup = cards.date_picker(body, record, today, min(page, 60))
    elif action in {"setc", "setd"} and several and record.deleted_at is None:
        body, markup = cards.record_menu(body, record, position)
    await query.answer(_toast(acted.change, record, categories))
    if acted.revised_for is not None:
        await tell_revised(context, acted.revised_for, record)
    try:
        await query.edit_message_text(body, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


def _toast(change: Change | None, record: DutyRecord, categories: dict[str, str]) -> str | None:
    if change is Change.CATEGORY:
        return f"已改为：{categories[record.category]}"
    if change is Change.DATE:
        return f"已改为：{cards.day(record.date)}"
    return TOASTS.get(change) if change is not None else None


async def file_button(update: Update, context: Ctx) -> None:
    """cat:<code>:<message id>:<YYYYMMDD> — file a message the parser could not read."""
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    unpacked = unpack(query.data, "cat", fields=(2, 2))
    categories = context.bot_data.rules.categories
    code, (message_ref, day) = unpacked if unpacked else ("", ["", ""])
    date = parse_day(day)
    if date is None or code not in categories or number(message_ref) is None:
        await query.answer(STALE)
        return
    chat = query.message.chat
    if chat.type != ChatType.PRIVATE or chat.id != query.from_user.id:
        await query.answer(NOT_YOURS, show_alert=True)
        return
    message_id = int(message_ref)
    # The prompt quotes the message it asks about: its text survives a restart.
    quoted = getattr(query.message, "reply_to_message", None)
    try:
        card = await _checkins(context).file_as(
            author=_author(query.from_user),
            chat_id=chat.id,
            message_id=message_id,
            quoted=_text(quoted) if quoted is not None and quoted.message_id == message_id else None,
            category=code,
            date=date,
            card_message_id=query.message.message_id,
        )
    except Refused as refusal:
        await query.answer(refusal.text, show_alert=refusal.alert)
        return
    body, markup = _render(context, card)
    await query.answer("已记录")
    await query.edit_message_text(body, reply_markup=markup)


async def stale_button(update: Update, context: Ctx) -> None:
    """A button no handler knows (an old card, a garbled query): say so, so the spinner stops."""
    if update.callback_query is not None:
        await update.callback_query.answer(STALE)
