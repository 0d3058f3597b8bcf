"""Check-ins: a message becomes duty records and one card; the card's buttons correct them.

Decisions:
- A forwarded message is the forwarder's own report (the one who sends it is the one reporting); its
  dates are read from the original message's send time, and the card says so.
- In a group bound to an organisation (/bindgroup), check-ins of bound members are recorded and the
  card replies to the message; anything else there (chatter, strangers, plans) gets no answer.
- Over the flood limit, check-ins are still stored but get no card (see handlers.guards).
- Text over Telegram's 4096 characters is stored whole and parsed like any other.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import Application

from bot import records as service
from bot.parsing import ParseResult
from bot.records import Source
from bot.services import Services
from handlers import cards
from handlers.context import Ctx
from handlers.guards import (
    NOT_BOUND,
    Refused,
    flooding,
    is_private,
    notify_flood_once,
    reply_private,
    resolve,
)
from storage import orgs
from storage import records as repo
from storage.models import DutyRecord, Member, Org

log = logging.getLogger(__name__)

TG_TEXT_LIMIT = 4096
PLAN = "这是一项计划，开展之后再来报告就好。"
CANCELLED = "收到，活动取消不计入记录。"
NO_TEXT = "这条消息里没有文字。报告工作请用文字描述，例如：今天组织主题党日，参加18人，时长2小时。"
FORWARDED = "（转发的消息记在您本人名下，日期按原消息的发送时间推算。）"
NOT_YOURS = "只有记录本人或管理员可以修改这条记录。"
STALE = "这张卡片已失效。"
MEDIA = {
    "sticker": "收到贴纸 🙂 报告工作请直接发文字，例如：今天组织主题党日，参加18人。",
    "voice": "暂时听不了语音，请把内容用文字发给我，例如：今天组织主题党日，参加18人。",
    "other": "暂时只能识别文字和图片。请用文字描述开展的工作，例如：今天组织主题党日，参加18人。",
}
PHOTO_ALONE = "收到图片。要作为佐证，请回复对应的记录卡片发送图片；或者在图片说明里写上开展的工作。"
ALBUM_MEMORY = 200
Card = tuple[str, InlineKeyboardMarkup | None]
UNREAD_MEMORY = 1000


# --- helpers -----------------------------------------------------------------------------------
def _text(message: Message) -> str:
    return message.text or message.caption or ""


def _sent_at(context: Ctx, message: Message) -> dt.datetime:
    """The local time the check-in was written: a forwarded message counts from the original."""
    when = message.forward_origin.date if message.forward_origin else message.date
    return (when or context.bot_data.clock.now()).astimezone(context.bot_data.clock.tz)


def _categories(context: Ctx) -> dict[str, str]:
    return context.bot_data.rules.categories


def _remember(memory: OrderedDict, key: object, value: object, limit: int) -> None:  # type: ignore[type-arg]
    """Put into a small LRU memory kept in Services.extras."""
    memory[key] = value
    memory.move_to_end(key)
    while len(memory) > limit:
        memory.popitem(last=False)


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _photo(message: Message) -> tuple[str, str] | None:
    if not message.photo:
        return None
    biggest = message.photo[-1]
    return biggest.file_id, biggest.file_unique_id


def _albums(context: Ctx) -> OrderedDict[str, tuple[int, int]]:
    """media_group_id -> the (chat, message) whose caption made records: later photos join them."""
    return context.bot_data.albums


def _unread(context: Ctx) -> OrderedDict[tuple[int, int], str]:
    """(chat, message) -> text of messages answered with category buttons, to keep as source text."""
    return context.bot_data.unread


async def _card_for(session: AsyncSession, context: Ctx, records: Sequence[DutyRecord]) -> Card:
    photos = await repo.evidence_counts(session=session, record_ids=[r.id for r in records if r.id])
    return cards.card(records, _categories(context), photos)


async def _org_of_group(session: AsyncSession, update: Update) -> Org | None:
    return await orgs.get_org_by_group_chat(session=session, chat_id=update.effective_chat.id)  # type: ignore[union-attr]


async def _sender(session: AsyncSession, update: Update, context: Ctx) -> Member | None:
    """The sender's Member when this chat records check-ins for them: private, or a bound group."""
    if not is_private(update) and await _org_of_group(session, update) is None:
        return None
    return await resolve(session=session, services=context.bot_data, user=update.effective_user)  # type: ignore[arg-type]


# Card ids are not written in a transaction of their own: they are remembered and written in one
# UPDATE by a later unit of work — by any unit that reads card ids (edits, buttons, photos, /undo),
# by a check-in once CARD_BATCH are waiting, by a job every few seconds and at shutdown. So a
# check-in costs one write transaction. A crash can lose the last few: an edit then sends a new card.
CARD_BATCH = 64
CARD_FLUSH_SECONDS = 5.0


def _pending_cards(services: Services) -> list[tuple[list[int], int, int]]:
    return services.pending_cards


@asynccontextmanager
async def _unit(services: Services, *, cards: bool = True) -> AsyncIterator[AsyncSession]:
    """One unit of work that starts by writing the pending card ids (with cards=False: only many)."""
    pending = _pending_cards(services)
    taken = pending[:] if cards or len(pending) >= CARD_BATCH else []
    del pending[: len(taken)]
    try:
        async with services.session() as session:
            await repo.set_cards(session=session, cards=taken)
            yield session
    except BaseException:
        pending[:0] = taken
        raise


def _remember_card(context: Ctx, records: Sequence[DutyRecord], sent: Message) -> None:
    _pending_cards(context.bot_data).append(([r.id for r in records if r.id], sent.chat_id, sent.message_id))


# --- check-ins ---------------------------------------------------------------------------------
async def check_in(update: Update, context: Ctx) -> None:
    """Store the records of a new message (text, or a photo's caption) and answer with one card."""
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    private = is_private(update)
    text = _text(message)
    when = _sent_at(context, message)
    source = Source(message.chat_id, message.message_id, text)
    photo = _photo(message)
    result = _safe_parse(context, text, when)
    try:
        records = []
        if private and result.records and not photo:
            # Hot path: the insert finds the member itself (no read first), in a transaction of its
            # own (on SQLite one trip to the driver). A batch of waiting card ids goes first.
            if len(_pending_cards(context.bot_data)) >= CARD_BATCH:
                await _flush_cards(context.bot_data)
            records = await service.store_for_sender(
                engine=context.bot_data.engine,
                telegram_id=update.effective_user.id,
                source=source,
                parsed=result.records,
            )
        if not records:
            # Slow path: groups, photos, nothing parsed, and senders who are unbound, bootstrap
            # admins or flagged unreachable (resolve clears the flag).
            async with _unit(context.bot_data, cards=False) as session:
                member = await _sender(session, update, context)
                if member is None:
                    raise Refused(NOT_BOUND)
                records = await service.store(
                    session=session, member=member, source=source, parsed=result.records
                )
                for record in records if photo else ():
                    await repo.add_evidence(
                        session=session,
                        record_id=record.id,
                        file_id=photo[0],
                        file_unique_id=photo[1],  # type: ignore[arg-type,index]
                    )
        photos = dict.fromkeys((r.id for r in records), 1) if photo else {}
        reply = cards.card(records, _categories(context), photos) if records else None
        context.bot_data.metrics.check_in(records, result)
    except Refused as refusal:
        if private:  # a stranger in a group is ignored
            await message.reply_text(refusal.text)
        return
    except IntegrityError:
        # Stored before: a redelivered update. Send the card only if the first delivery could not.
        async with _unit(context.bot_data) as session:
            records = await service.stored_before(session=session, source=source)
            if not records or records[0].card_message_id is not None:
                return
            reply = await _card_for(session, context, records)

    if photo and message.media_group_id and records:
        _remember(_albums(context), message.media_group_id, (source.chat_id, source.message_id), ALBUM_MEMORY)
    if reply is None:
        if private:
            await _explain_nothing(update, context, result, text, when)
        return
    if flooding(context, update.effective_user.id):
        await notify_flood_once(update, context)
        return
    text_out, markup = reply
    notes = []
    if len(text) > TG_TEXT_LIMIT:
        notes.append(f"（消息较长，共 {len(text)} 字，已全文保存。）")
    if message.forward_origin:
        notes.append(FORWARDED)
    if result.plans:
        notes.append(f"另有 {len(result.plans)} 项计划未记录，开展之后再来报告就好。")
    if result.cancelled:
        notes.append("取消的活动不计入记录。")
    body = "\n".join([text_out, *notes])
    sent = await message.reply_text(body, reply_markup=markup, do_quote=not private)
    _remember_card(context, records, sent)


def _safe_parse(context: Ctx, text: str, when: dt.datetime) -> ParseResult:
    """Parse; a parser failure must not lose the message, so it reads as 'nothing recognised'."""
    try:
        return context.bot_data.parser.parse(text, when)
    except Exception:
        log.exception("parser failed", extra={"length": len(text)})
        return ParseResult(records=(), plans=(), cancelled=())


async def _explain_nothing(
    update: Update, context: Ctx, result: ParseResult, text: str, when: dt.datetime
) -> None:
    message = update.effective_message
    assert message is not None
    if result.plans:
        await message.reply_text(PLAN)
    elif result.cancelled:
        await message.reply_text(CANCELLED)
    elif not _has_words(text):
        await message.reply_text(NO_TEXT)
    else:
        body, markup = cards.unreadable(_categories(context), message.message_id, when.date())
        _remember(_unread(context), (message.chat_id, message.message_id), text, UNREAD_MEMORY)
        # Quoted, so the button press carries the original text even after a restart.
        await message.reply_text(body, reply_markup=markup, do_quote=True)


async def edited(update: Update, context: Ctx) -> None:
    """An edited check-in updates its records and edits the card in place."""
    message = update.edited_message
    assert message is not None and update.effective_user is not None
    text = _text(message)
    source = Source(message.chat_id, message.message_id, text)
    async with _unit(context.bot_data) as session:
        member = await _sender(session, update, context)
        if member is None:
            return
        existing = await repo.records_of_message(
            session=session, chat_id=source.chat_id, message_id=source.message_id
        )
        if existing and not service.may_change(member, existing[0]):
            return
        result = _safe_parse(context, text, _sent_at(context, message))
        if not existing and not result.records:
            return  # was not a check-in and still is not
        records, changed = await service.apply_edit(
            session=session, member=member, source=source, parsed=result.records
        )
        if not changed:
            return
        body, markup = await _card_for(session, context, records)
    card_chat, card_id = records[0].card_chat_id, records[0].card_message_id
    if card_id is not None:
        await _edit_card(context, card_chat, card_id, body, markup)  # type: ignore[arg-type]
        return
    sent = await message.reply_text(body, reply_markup=markup, do_quote=not is_private(update))
    _remember_card(context, records, sent)


async def _edit_card(
    context: Ctx, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    try:
        await context.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


# --- photos --------------------------------------------------------------------------------------
async def photo(update: Update, context: Ctx) -> None:
    """A captioned photo is a check-in; a photo replying to a card (or to the check-in) is evidence."""
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    if message.caption:
        await check_in(update, context)
        return
    target = _evidence_target(context, message)
    if target is None:
        if is_private(update):
            await message.reply_text(PHOTO_ALONE)
        return
    file_id, unique_id = _photo(message)  # type: ignore[misc]
    try:
        body, markup, alive, names = await _attach(update, context, target, file_id, unique_id)
    except Refused as refusal:
        if is_private(update):
            await message.reply_text(refusal.text)
        return
    if message.media_group_id is None or target[2]:
        await message.reply_text(f"📎 已附上图片：{names}", do_quote=not is_private(update))
    if alive[0].card_message_id is not None:
        await _edit_card(context, alive[0].card_chat_id, alive[0].card_message_id, body, markup)  # type: ignore[arg-type]


async def _attach(
    update: Update, context: Ctx, target: tuple[int, int, bool], file_id: str, unique_id: str
) -> tuple[str, InlineKeyboardMarkup | None, list[DutyRecord], str]:
    """Attach a photo to the live records of a card or check-in; the new card and a summary."""
    async with _unit(context.bot_data) as session:
        member = await _sender(session, update, context)
        if member is None:
            raise Refused(NOT_BOUND)
        chat_id, ref_id, by_card = target
        if by_card:
            records = await repo.records_of_card(session=session, chat_id=chat_id, card_message_id=ref_id)
        else:
            records = await repo.records_of_message(session=session, chat_id=chat_id, message_id=ref_id)
        alive = service.live(records)
        if not alive or not service.may_change(member, alive[0]):
            raise Refused(PHOTO_ALONE)
        for record in alive:
            await repo.add_evidence(
                session=session, record_id=record.id, file_id=file_id, file_unique_id=unique_id
            )  # type: ignore[arg-type]
        body, markup = await _card_for(session, context, records)
    return body, markup, alive, "；".join(cards.short(r, _categories(context)) for r in alive)


def _evidence_target(context: Ctx, message: Message) -> tuple[int, int, bool] | None:
    """(chat, message id, is it a card) this caption-less photo belongs to, if any."""
    reply = message.reply_to_message
    if reply is not None:
        from_bot = reply.from_user is not None and reply.from_user.id == context.bot.id
        return message.chat_id, reply.message_id, from_bot
    if message.media_group_id and message.media_group_id in _albums(context):
        chat_id, message_id = _albums(context)[message.media_group_id]
        return chat_id, message_id, False
    return None


# --- other kinds of input ----------------------------------------------------------------------
async def other_input(update: Update, context: Ctx) -> None:
    """Stickers, voice, files, empty messages: say what the bot can read; store nothing."""
    message = update.effective_message
    if message is None or not is_private(update):
        return
    async with _unit(context.bot_data) as session:
        member = await resolve(session=session, services=context.bot_data, user=update.effective_user)  # type: ignore[arg-type]
    if member is None:
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
    async with _unit(context.bot_data) as session:
        member = await resolve(session=session, services=context.bot_data, user=user)
        if member is not None:
            totals = await service.totals(
                session=session, member=member, today=context.bot_data.clock.now().date()
            )
    if member is None:
        await reply_private(update, context, NOT_BOUND)
        return
    await reply_private(update, context, cards.totals(totals, _categories(context), member.name))


async def undo(update: Update, context: Ctx) -> None:
    """Undo the sender's most recently stored record."""
    user = update.effective_user
    assert user is not None
    try:
        async with _unit(context.bot_data) as session:
            member = await resolve(session=session, services=context.bot_data, user=user)
            if member is None:
                raise Refused(NOT_BOUND)
            record = await service.undo_last(session=session, member=member)
            if record is None:
                raise Refused("没有可以撤销的记录。")
            records = await service.siblings(session=session, record=record)
            body, markup = await _card_for(session, context, records)
    except Refused as refusal:
        await reply_private(update, context, refusal.text)
        return
    notice, restore = cards.undone([record], _categories(context))
    await reply_private(update, context, notice, reply_markup=restore)
    if record.card_message_id is not None:
        await _edit_card(context, record.card_chat_id, record.card_message_id, body, markup)  # type: ignore[arg-type]


# --- card buttons ------------------------------------------------------------------------------
async def card_button(update: Update, context: Ctx) -> None:
    """rec:<action>:<record id>[:<arg>] — see handlers.cards for the scheme."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    if len(parts) < 3 or not parts[2].isdigit():
        await query.answer(STALE)
        return
    action, record_id, arg = parts[1], int(parts[2]), (parts[3] if len(parts) > 3 else "")
    categories = _categories(context)
    today = context.bot_data.clock.now().date()
    try:
        record, records, body, markup, toast = await _act(context, query.from_user, action, record_id, arg)
    except Refused as refusal:
        await query.answer(refusal.text, show_alert=refusal.alert)
        return
    alive = service.live(records)
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
    await query.answer(toast)
    try:
        await query.edit_message_text(body, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


async def _act(
    context: Ctx, user: User, action: str, record_id: int, arg: str
) -> tuple[DutyRecord, list[DutyRecord], str, InlineKeyboardMarkup | None, str | None]:
    """Apply a card button's change in one unit of work: (record, its siblings, card, toast)."""
    categories = _categories(context)
    today = context.bot_data.clock.now().date()
    toast = None
    async with _unit(context.bot_data) as session:
        member = await resolve(session=session, services=context.bot_data, user=user)
        if member is None:
            raise Refused(NOT_BOUND, alert=True)
        record = await repo.get_record(session=session, record_id=record_id)
        if record is None:
            raise Refused(STALE)
        if not service.may_change(member, record):
            raise Refused(NOT_YOURS, alert=True)
        records = await service.siblings(session=session, record=record)
        if action == "undo":
            await service.delete(session=session, actor=member, records=records)
            toast = "已撤销"
        elif action == "del":
            await service.delete(session=session, actor=member, records=[record])
            toast = "已撤销"
        elif action == "rst":
            await service.restore(session=session, actor=member, record=record)
            toast = "已恢复"
        elif action == "setc" and arg in categories:
            await service.set_category(session=session, actor=member, record=record, category=arg)
            toast = f"已改为：{categories[arg]}"
        elif action == "setd":
            date = _parse_day(arg)
            if date is None or date > today:
                raise Refused("日期不对，请重新选择。")
            await service.set_date(session=session, actor=member, record=record, date=date)
            toast = f"已改为：{cards.day(date)}"
        body, markup = await _card_for(session, context, records)
    return record, records, body, markup, toast


def _parse_day(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _unread_text(context: Ctx, prompt: object, message_id: int) -> str:
    """The text of the message a category prompt asked about: remembered, or else the quoted
    original the prompt carries (memory does not survive a restart; the quote does)."""
    remembered = _unread(context).pop((getattr(prompt, "chat_id", 0), message_id), None)
    if remembered is not None:
        return remembered
    quoted = getattr(prompt, "reply_to_message", None)
    if quoted is not None and quoted.message_id == message_id:
        return _text(quoted)
    return ""


async def file_button(update: Update, context: Ctx) -> None:
    """cat:<code>:<message id>:<YYYYMMDD> — file a message the parser could not read."""
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    parts = query.data.split(":")
    categories = _categories(context)
    date = _parse_day(parts[3]) if len(parts) == 4 else None
    if date is None or parts[1] not in categories or not parts[2].isdigit():
        await query.answer(STALE)
        return
    chat = query.message.chat
    if chat.type != ChatType.PRIVATE or chat.id != query.from_user.id:
        await query.answer(NOT_YOURS, show_alert=True)
        return
    source = Source(chat.id, int(parts[2]), _unread_text(context, query.message, int(parts[2])))
    try:
        async with _unit(context.bot_data) as session:
            member = await resolve(session=session, services=context.bot_data, user=query.from_user)
            if member is None:
                raise Refused(NOT_BOUND, alert=True)
            records = await service.file_as(
                session=session, member=member, source=source, category=parts[1], date=date
            )
            await repo.set_cards(
                session=session, cards=[([r.id for r in records if r.id], chat.id, query.message.message_id)]
            )
            body, markup = cards.card(records, categories)
        context.bot_data.metrics.records_stored.inc(len(records))
    except Refused as refusal:
        await query.answer(refusal.text, show_alert=refusal.alert)
        return
    except IntegrityError:  # a second tap: it is filed already
        async with _unit(context.bot_data) as session:
            body, markup = await _card_for(
                session, context, await service.stored_before(session=session, source=source)
            )
    await query.answer("已记录")
    await query.edit_message_text(body, reply_markup=markup)


async def _flush_cards(services: Services) -> None:
    if _pending_cards(services):
        async with _unit(services):
            pass


async def _flush_job(context: Ctx) -> None:
    await _flush_cards(context.bot_data)


async def on_startup(app: Application) -> None:
    if app.job_queue is not None:
        app.job_queue.run_repeating(_flush_job, CARD_FLUSH_SECONDS, name="checkin:cards")


async def on_shutdown(app: Application) -> None:
    """Write the card ids still pending."""
    await _flush_cards(app.bot_data)


async def stale_button(update: Update, context: Ctx) -> None:
    """A button no handler knows (an old card, a garbled query): say so, so the spinner stops."""
    if update.callback_query is not None:
        await update.callback_query.answer(STALE)
