"""Start the bot: long polling, a webhook, or the local console chat when no token is configured."""

from __future__ import annotations

import logging

from bot.config import Settings
from bot.logs import configure_logging

log = logging.getLogger(__name__)

__all__ = ["configure_logging", "run"]


def run(*, console: bool = False, webhook: bool = False) -> int:
    settings = Settings()
    configure_logging(settings)
    if console or not settings.token:
        from handlers.console import run_console

        return run_console(settings)

    from telegram import Update

    from bot.app import build_application

    app = build_application(settings)
    if webhook:
        from bot.webhook import run_webhook

        return run_webhook(app, settings)
    if settings.health_port is not None:
        from bot.webhook import run_polling_with_health

        return run_polling_with_health(app, settings)
    log.info("starting long polling")
    app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0
