"""Telegram-side guards: refusals answered, private replies, and the flood guard.

- `answer_refusals` answers a `bot.errors.Refused` raised by a service (a reply, or an alert on a
  button); `reply_private` keeps data out of groups.
- Who the sender is and what they may do are `bot.members` and `bot.roles`; their names (and the
  refusal texts) are re-exported here for the handlers that import them from this module.
- The flood guard counts messages per user in a sliding window (injected clock), check-ins and
  commands apart. Past the check-in limit, check-ins are still stored but get no card of their own
  and the user gets one polite notice per window. Commands have their own, higher limit (an admin
  setting things up is not slowed by a burst of check-ins); each command past it is answered with
  a notice naming it. Nothing is dropped silently.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.error import Forbidden
from telegram.ext import ApplicationHandlerStop

from bot.errors import NEED_ROLE, NOT_BOUND, Refused
from bot.members import display_name, is_bootstrap_admin, resolve
from bot.roles import has_role
from bot.storable import storable
from handlers.context import Ctx
from handlers.notifier import TelegramNotifier

__all__ = [
    "NEED_ROLE",
    "NOT_BOUND",
    "Refused",
    "answer_refusals",
    "clean_input",
    "display_name",
    "flood_guard",
    "flooding",
    "has_role",
    "is_bootstrap_admin",
    "is_private",
    "notify_flood_once",
    "once_guard",
    "reply_private",
    "resolve",
]

log = logging.getLogger(__name__)

FLOOD_NOTICE = "您发得有点快，我先不逐条回复了：工作记录照常保存。稍后发送 /my 可以查看已保存的记录。"
COMMAND_FLOOD_NOTICE = "⏳ 这条命令没有执行：{command}\n一分钟内的命令太多了，请过一会儿再发。"
OPEN_PRIVATE = "请先私聊我发送 /start，我再把结果私信给您。"


def answer_refusals(
    handler: Callable[[Update, Ctx], Coroutine[Any, Any, None]],
) -> Callable[[Update, Ctx], Coroutine[Any, Any, None]]:
    """Answer a Refused raised by `handler`: a reply to the message, or an alert on a button."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: Ctx) -> None:
        try:
            await handler(update, context)
        except Refused as refusal:
            if update.callback_query is not None:
                await update.callback_query.answer(refusal.text, show_alert=refusal.alert)
            elif update.effective_message is not None:
                await update.effective_message.reply_text(refusal.text)

    return wrapper


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


def flooding(context: Ctx, user_id: int) -> bool:
    """Whether this user's current message is over the limit (counted by the guard)."""
    return context.bot_data.flood.over(user_id)


async def notify_flood_once(update: Update, context: Ctx) -> None:
    user = update.effective_user
    message = update.effective_message
    if user is None or message is None:
        return
    now = context.bot_data.clock.now().timestamp()
    if context.bot_data.flood.should_notify(user.id, now):
        await message.reply_text(FLOOD_NOTICE)


def _clean(obj: Any, fields: tuple[str, ...]) -> None:
    for name in fields:
        value = getattr(obj, name, None)
        if isinstance(value, str) and (cleaned := storable(value)) != value:
            obj._unfreeze()  # PTB objects are frozen; this is PTB's own way to set a field
            try:
                setattr(obj, name, cleaned)
            finally:
                obj._freeze()


async def clean_input(update: Update, context: Ctx) -> None:
    """What a broken or forged update can carry and nothing can send or store (NUL, a lone
    surrogate) is cleaned before any handler reads it, so every reply that echoes it can be sent."""
    for message in (update.message, update.edited_message):
        if message is not None:
            _clean(message, ("text", "caption"))
    if update.callback_query is not None:
        _clean(update.callback_query, ("data",))
    if update.effective_user is not None:
        _clean(update.effective_user, ("first_name", "last_name", "username"))


async def once_guard(update: Update, context: Ctx) -> None:
    """A command or a button press delivered again (Telegram redelivers when an answer was lost) is
    not acted on twice. Check-ins need no guard: their records are unique per message."""
    message = update.message
    command = message is not None and (message.text or "").startswith("/")
    if not (command or update.callback_query is not None):
        return
    if not await context.bot_data.first_time(update.update_id):
        log.info("update %s seen before; not run again", update.update_id)
        raise ApplicationHandlerStop


async def flood_guard(update: Update, context: Ctx) -> None:
    """Count each new message. Check-ins over their limit go on, card-less (the check-in handler
    asks `flooding`); a command over the command limit is answered here, naming it, and not run."""
    message = update.message
    user = update.effective_user
    if message is None or user is None or user.is_bot:
        return
    now = context.bot_data.clock.now().timestamp()
    text = message.text or ""
    if not text.startswith("/"):
        context.bot_data.flood.hit(user.id, now)
        return
    if context.bot_data.command_flood.hit(user.id, now):
        command = text.split(maxsplit=1)[0][:40]
        await message.reply_text(COMMAND_FLOOD_NOTICE.format(command=html.escape(command)))
        raise ApplicationHandlerStop


async def reply_private(update: Update, context: Ctx, text: str, **kwargs: Any) -> None:
    """Answer in the private chat: data is never shown in a group."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    if is_private(update):
        await message.reply_text(text, **kwargs)
        return
    try:
        await TelegramNotifier(context.bot).message(user.id, text, kwargs.get("reply_markup"))
    except Forbidden:
        await message.reply_text(f"{html.escape(display_name(user))}，{OPEN_PRIVATE}")
        return
    await message.reply_text("已私信发给您。")
