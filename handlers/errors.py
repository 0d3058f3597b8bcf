"""The single error handler: log with context, tell the user something useful."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError
from telegram.ext import ContextTypes

from bot.health import is_transient
from handlers.webhook import redelivered_on_outage

log = logging.getLogger(__name__)

SORRY = "抱歉，刚才处理时出了点问题，已记录日志。请稍后再试；如果一直不行，请联系管理员。"


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error with the update's ids (never its text), then apologise once."""
    error = context.error
    ids = {}
    if isinstance(update, Update):
        ids = {
            "update_id": update.update_id,
            "chat_id": update.effective_chat.id if update.effective_chat else None,
            "user_id": update.effective_user.id if update.effective_user else None,
        }
    if error is not None and is_transient(error) and redelivered_on_outage():
        # Answered 503: Telegram delivers the update again once the database is back. Asking the
        # user to resend would store it twice.
        log.warning(
            "update deferred: the database is unavailable", extra={**ids, "error": type(error).__name__}
        )
        return
    log.error("handler error %s", type(error).__name__, exc_info=error, extra=ids)
    if isinstance(error, Forbidden | NetworkError) or not isinstance(update, Update):
        return
    message = update.effective_message
    if message is None:
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(SORRY, show_alert=True)
        elif update.effective_chat and update.effective_chat.type == "private":
            await message.reply_text(SORRY)
    except NetworkError:
        log.warning("could not deliver the apology", extra=ids)
