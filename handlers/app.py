"""The Telegram adapter's one wiring function: the Application with every handler, in order."""

from __future__ import annotations

import logging
from typing import cast

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.services import Services
from handlers import (
    admin,
    audit,
    checkin,
    digest,
    exemptions,
    guards,
    leave,
    nudges,
    review,
    roster,
    rules,
    schedule_commands,
    start,
    targets,
)
from handlers.errors import on_error
from handlers.jobs import JobQueueJobs
from handlers.menu import ALIASES, set_command_menus
from handlers.notifier import TelegramNotifier
from handlers.webhook import instrument

log = logging.getLogger(__name__)

# New messages only: an edited command must not run a second time (a second leave, say).
_NEW = filters.UpdateType.MESSAGE


def build_application(
    services: Services,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    rate_limiter: BaseRateLimiter | bool | None = True,
) -> Application:
    """Build the Application around `services`. `request` replaces the HTTP transport (console,
    tests, benchmarks)."""
    settings = services.settings
    # PTB creates bot_data by calling the type it is given; this one hands over the services built
    # by the composition root, so `context.bot_data` is typed as Services.
    context_types = ContextTypes(bot_data=cast(type[Services], lambda: services))
    builder = (
        ApplicationBuilder()
        .token(settings.token or "0:CONSOLE")
        .context_types(context_types)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz, disable_notification=False))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        # No Updater: long polling is handlers.polling.Poller, which confirms only processed updates.
        .updater(None)
    )
    if settings.telegram_api_base_url:
        root = settings.telegram_api_base_url.rstrip("/")
        builder = builder.base_url(f"{root}/bot").base_file_url(f"{root}/file/bot")
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    elif settings.telegram_proxy_url:
        # Networks where Telegram is reachable only through a proxy (HTTP or SOCKS5).
        builder = builder.proxy(settings.telegram_proxy_url).get_updates_proxy(settings.telegram_proxy_url)
    if rate_limiter is True:
        limiter = AIORateLimiter(max_retries=3)
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]  # PTB types it BaseRateLimiter[None]; this is [int]
    elif isinstance(rate_limiter, BaseRateLimiter):
        builder = builder.rate_limiter(rate_limiter)
    app = builder.build()
    _add_handlers(app)
    return app


def _add_handlers(app: Application) -> None:
    """Every handler, in order. Order matters: within a group the first match wins, so commands and
    buttons come first and the catch-all check-in handlers last."""
    # Group -100: metrics see every update, before any guard can stop it.
    # Group -2: a command or button press delivered again is not run twice (update ids persisted).
    # Group -1: the flood guard counts each new message and stops commands over the limit.
    instrument(app)
    # Group -3: NUL and lone surrogates are cleaned out of the update before anything reads it.
    app.add_handler(TypeHandler(Update, guards.clean_input), group=-3)
    app.add_handler(TypeHandler(Update, guards.once_guard), group=-2)
    app.add_handler(TypeHandler(Update, guards.flood_guard), group=-1)

    # Joining and help.
    app.add_handler(CommandHandler("start", start.start, filters=_NEW))
    app.add_handler(CommandHandler("join", start.join, filters=_NEW))
    app.add_handler(CommandHandler("help", start.help_command, filters=_NEW))
    app.add_handler(CommandHandler(["whoami", *ALIASES], start.whoami, filters=_NEW))

    # Administration: the org tree, invites, members, group binding.
    app.add_handler(CommandHandler("org", admin.org, filters=_NEW))
    app.add_handler(CommandHandler("invite", admin.invite, filters=_NEW))
    app.add_handler(CommandHandler("members", admin.members, filters=_NEW))
    app.add_handler(CommandHandler("member", admin.member, filters=_NEW))
    app.add_handler(CommandHandler("bindgroup", admin.bind_group, filters=_NEW))
    app.add_handler(CallbackQueryHandler(admin.pick_button, pattern=r"^pick:"))
    app.add_handler(CommandHandler("audit", audit.audit, filters=_NEW))
    app.add_handler(CallbackQueryHandler(audit.audit_button, pattern=r"^audit:"))
    # A roster spreadsheet sent in private: an admin's import (a dry run first).
    app.add_handler(MessageHandler(_NEW & roster.ROSTER_FILES, roster.roster_file))
    app.add_handler(CallbackQueryHandler(roster.roster_button, pattern=r"^imp:"))

    # Targets, leave, schedules and the holiday calendar.
    app.add_handler(CommandHandler("target", targets.target, filters=_NEW))
    app.add_handler(CommandHandler("leave", leave.leave, filters=_NEW))
    app.add_handler(CommandHandler("schedule", schedule_commands.schedule_command, filters=_NEW))
    app.add_handler(CommandHandler("holiday", schedule_commands.holiday_command, filters=_NEW))
    app.add_handler(CallbackQueryHandler(nudges.on_nudge_button, pattern=r"^nudge:"))
    app.add_handler(CallbackQueryHandler(exemptions.reject_button, pattern=r"^exm:"))
    app.add_handler(CallbackQueryHandler(leave.leave_button, pattern=r"^lv:"))
    app.add_handler(CommandHandler("review", review.review_command, filters=_NEW))
    app.add_handler(CommandHandler("return", review.return_command, filters=_NEW))
    app.add_handler(CallbackQueryHandler(review.review_button, pattern=r"^rv:"))

    # The parsing rules: suggestions learned from corrections, tests, export, undo, re-reading.
    app.add_handler(CommandHandler("rules", rules.rules_command, filters=_NEW))
    app.add_handler(CallbackQueryHandler(rules.on_rules_button, pattern=r"^rules:"))

    # Reports.
    app.add_handler(CommandHandler("digest", digest.digest, filters=_NEW))
    app.add_handler(CommandHandler("readiness", digest.readiness, filters=_NEW))
    app.add_handler(CommandHandler("export", digest.export, filters=_NEW))
    app.add_handler(CallbackQueryHandler(digest.button, pattern=r"^digest:"))

    # Check-ins: own commands and card buttons, then edits, photos, text, and everything else.
    app.add_handler(CommandHandler("my", checkin.my, filters=_NEW))
    app.add_handler(CommandHandler("undo", checkin.undo, filters=_NEW))
    app.add_handler(CallbackQueryHandler(checkin.card_button, pattern=r"^rec:"))
    app.add_handler(CallbackQueryHandler(checkin.file_button, pattern=r"^cat:"))
    app.add_handler(
        MessageHandler(
            filters.UpdateType.EDITED_MESSAGE & (filters.TEXT | filters.CAPTION) & ~filters.COMMAND,
            checkin.edited,
        )
    )
    # An edited command never runs again (a second schedule, a second deletion): a hint instead.
    app.add_handler(
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.COMMAND, checkin.edited_command)
    )
    app.add_handler(MessageHandler(_NEW & filters.PHOTO, checkin.photo))
    # A reply to the question why something is 本期不涉及 is the reason, not a check-in.
    app.add_handler(
        MessageHandler(
            _NEW & filters.TEXT & ~filters.COMMAND & exemptions.REPLY_TO_REASON_PROMPT,
            exemptions.reason_reply,
        )
    )
    # A reply to the question for a review opinion or an answer to one (handlers.review).
    app.add_handler(
        MessageHandler(_NEW & filters.TEXT & ~filters.COMMAND & review.REPLY_TO_REVIEW, review.review_reply)
    )
    app.add_handler(MessageHandler(_NEW & filters.TEXT & ~filters.COMMAND, checkin.check_in))
    app.add_handler(MessageHandler(_NEW & filters.COMMAND, checkin.unknown_command))
    app.add_handler(MessageHandler(_NEW & ~filters.StatusUpdate.ALL, checkin.other_input))
    # Last: a button no handler above knows (an old card) is answered, so its spinner stops.
    app.add_handler(CallbackQueryHandler(checkin.stale_button))

    app.add_error_handler(on_error)


async def start_services(app: Application, *, migrate: bool = True) -> None:
    """Open services and start what runs in the background (also called by tests)."""
    services: Services = app.bot_data
    await services.open(migrate=migrate)
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is required"
    services.bind(JobQueueJobs(app.job_queue), TelegramNotifier(app.bot))
    await services.start()


async def stop_services(app: Application) -> None:
    services: Services = app.bot_data
    await services.stop()
    await services.close()


async def _post_init(app: Application) -> None:
    await start_services(app)
    await set_command_menus(app.bot, app.bot_data.settings.admin_telegram_ids)


async def _post_shutdown(app: Application) -> None:
    await stop_services(app)
