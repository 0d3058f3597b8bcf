"""Start the bot: long polling, a webhook, or the local console chat when no token is configured."""

from __future__ import annotations

import logging

from bot.config import Settings

log = logging.getLogger(__name__)


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # httpx logs every request URL, and the URL holds the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


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
    log.info("starting long polling")
    app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0
