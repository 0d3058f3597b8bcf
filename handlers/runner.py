"""Start the Telegram adapter: long polling, or a webhook, around services built by the caller."""

from __future__ import annotations

import logging

from telegram import Update

from bot.services import Services
from handlers.app import build_application
from handlers.webhook import run_polling_with_health, run_webhook

log = logging.getLogger(__name__)

__all__ = ["run"]


def run(services: Services, *, webhook: bool = False) -> int:
    """Run until stopped (SIGINT/SIGTERM); the exit status."""
    settings = services.settings
    app = build_application(services)
    if webhook:
        return run_webhook(app, settings)
    if settings.health_port is not None:
        return run_polling_with_health(app, settings)
    log.info("starting long polling")
    app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0
