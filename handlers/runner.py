"""Start the Telegram adapter: long polling, or a webhook, around services built by the caller."""

from __future__ import annotations

import asyncio
import logging

from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application

from bot.services import Services
from bot.startup import EX_CONFIG, EX_UNAVAILABLE, StartupError
from handlers.app import build_application
from handlers.webhook import run_polling, run_webhook

log = logging.getLogger(__name__)


async def _who_am_i(app: Application) -> None:
    async with app.bot:
        pass


__all__ = ["run"]


def run(services: Services, *, webhook: bool = False) -> int:
    """Run until stopped (SIGINT/SIGTERM); the exit status. A token Telegram rejects or a Bot API
    that cannot be reached at start-up is a StartupError (never printed with the token)."""
    settings = services.settings
    app = build_application(services)
    try:
        # Ask Telegram who the bot is before anything starts: a rejected token or an unreachable
        # Bot API is then one line, not PTB's retry loop logging a traceback.
        asyncio.run(_who_am_i(app))
        if webhook:
            return run_webhook(app, settings)
        return run_polling(app, settings)
    except InvalidToken:
        raise StartupError(
            EX_CONFIG,
            "Telegram rejected the bot token (401 Unauthorized)",
            setting="TELEGRAM_BOT_TOKEN",
            fix="copy the token again from @BotFather",
        ) from None
    except NetworkError as error:
        raise StartupError(
            EX_UNAVAILABLE,
            f"the Bot API cannot be reached ({type(error).__name__})",
            setting="TELEGRAM_API_BASE_URL",
            fix="check the network, the proxy, or TELEGRAM_API_BASE_URL",
        ) from None
