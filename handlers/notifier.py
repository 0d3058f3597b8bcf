"""The Telegram implementation of bot.ports.Notifier."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.digest import Digest
from bot.ports import Buttons, Outcome
from handlers.render_digest import digest_buttons, digest_parts

log = logging.getLogger(__name__)


def keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in buttons]
    )


def _seconds(value: float | dt.timedelta) -> float:
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


class TelegramNotifier:
    """Sends through PTB's Bot and maps its errors onto Outcome kinds."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, text_html: str, buttons: Buttons | None = None) -> Outcome:
        return await self._call(
            self.bot.send_message, chat_id=chat_id, text=text_html, reply_markup=keyboard(buttons)
        )

    async def send_photo(self, chat_id: int, png: bytes, caption_html: str = "") -> Outcome:
        return await self._call(self.bot.send_photo, chat_id=chat_id, photo=png, caption=caption_html or None)

    async def send_digest(
        self,
        chat_id: int,
        digest: Digest,
        chart_png: bytes | None,
        *,
        pace: Callable[[], Awaitable[None]] | None = None,
    ) -> Outcome:
        parts = digest_parts(digest)
        buttons = [digest_buttons(digest.scope, digest.period)]
        outcome = Outcome.sent()
        for i, part in enumerate(parts):
            if i and pace is not None:
                await pace()
            outcome = await self.send(chat_id, part, buttons if i == len(parts) - 1 else None)
            if outcome.kind != "sent":
                return outcome
        if chart_png:
            if pace is not None:
                await pace()
            await self.send_photo(chat_id, chart_png)
        return outcome

    @staticmethod
    async def _call(method: Callable[..., Awaitable[object]], **kwargs: object) -> Outcome:
        # Order matters: BadRequest and TimedOut are NetworkError subclasses.
        try:
            await method(**kwargs)
        except RetryAfter as error:
            return Outcome("retry_after", retry_after=_seconds(error.retry_after))
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
