"""The Telegram implementation of bot.ports.Notifier: plain texts are escaped here, buttons encoded."""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.digest import Digest
from bot.ports import Buttons, Outcome
from handlers.callbacks import encode
from handlers.render_digest import digest_buttons, digest_parts

log = logging.getLogger(__name__)


def keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(action.label, callback_data=encode(action)) for action in row]
            for row in buttons
        ]
    )


def pairs_keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """A keyboard from (label, callback data) pairs the adapter encoded itself."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def retry_seconds(value: float | dt.timedelta) -> float:
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


class TelegramNotifier:
    """Sends through PTB's Bot and maps its errors onto Outcome kinds."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, text: str, buttons: Buttons | None = None) -> Outcome:
        return await self.send_html(chat_id, html.escape(text, quote=False), buttons)

    async def send_html(self, chat_id: int, text_html: str, buttons: Buttons | None = None) -> Outcome:
        """Send text that is HTML already (rendered by the adapter)."""
        return await self._call(
            self.bot.send_message, chat_id=chat_id, text=text_html, reply_markup=keyboard(buttons)
        )

    # --- for the adapter's own handlers: HTML already rendered, PTB keyboards, errors raised -----
    async def message(
        self, chat_id: int, text_html: str, markup: InlineKeyboardMarkup | None = None
    ) -> Message:
        """Send a message the adapter rendered; Telegram's errors are raised (Forbidden: blocked)."""
        return await self.bot.send_message(chat_id, text_html, reply_markup=markup)

    async def photo(self, chat_id: int, png: bytes) -> Message:
        """Send a picture the adapter drew; errors raised."""
        return await self.bot.send_photo(chat_id, photo=png)

    async def document(self, chat_id: int, data: bytes, filename: str, caption_html: str) -> Message:
        """Send a file (a ledger); errors raised (Forbidden: the user never opened a private chat)."""
        return await self.bot.send_document(
            chat_id, document=InputFile(data, filename=filename), caption=caption_html
        )

    async def edit_message(
        self, chat_id: int, message_id: int, text_html: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Edit a message in place; an edit that changes nothing is not an error."""
        try:
            await self.bot.edit_message_text(
                text_html, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        except BadRequest as error:
            if "not modified" not in str(error).lower():
                raise

    async def edit(self, chat_id: int, message_id: int, text: str, buttons: Buttons | None = None) -> Outcome:
        outcome = await self._call(
            self.bot.edit_message_text,
            chat_id=chat_id,
            message_id=message_id,
            text=html.escape(text, quote=False),
            reply_markup=keyboard(buttons),
        )
        if outcome.kind == "bad_request" and "not modified" in outcome.error.lower():
            return Outcome.sent()
        return outcome

    async def send_photo(self, chat_id: int, png: bytes, caption: str = "") -> Outcome:
        return await self._call(
            self.bot.send_photo, chat_id=chat_id, photo=png, caption=html.escape(caption, quote=False) or None
        )

    async def send_digest(
        self,
        chat_id: int,
        digest: Digest,
        chart_png: bytes | None,
        *,
        pace: Callable[[], Awaitable[None]] | None = None,
    ) -> Outcome:
        parts = digest_parts(digest)
        buttons = pairs_keyboard([digest_buttons(digest.scope, digest.period)])
        outcome = Outcome.sent()
        for i, part in enumerate(parts):
            if i and pace is not None:
                await pace()
            markup = buttons if i == len(parts) - 1 else None
            outcome = await self._call(self.bot.send_message, chat_id=chat_id, text=part, reply_markup=markup)
            if outcome.kind != "sent":
                return outcome
        if chart_png:
            if pace is not None:
                await pace()
            await self.send_photo(chat_id, chart_png)
        return outcome

    @staticmethod
    async def _call(method: Callable[..., Awaitable[Any]], **kwargs: Any) -> Outcome:
        # Order matters: BadRequest and TimedOut are NetworkError subclasses.
        try:
            await method(**kwargs)
        except RetryAfter as error:
            return Outcome("retry_after", retry_after=retry_seconds(error.retry_after))
        except Forbidden as error:
            return Outcome("forbidden", error=str(error)[:300])
        except BadRequest as error:
            return Outcome("bad_request", error=str(error)[:300])
        except TimedOut as error:
            return Outcome("unknown", error=str(error)[:300])
        except (NetworkError, TelegramError) as error:
            log.warning("send failed: %s", type(error).__name__)
            return Outcome("unknown", error=str(error)[:300])
        return Outcome.sent()
