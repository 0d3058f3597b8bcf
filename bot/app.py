"""The one wiring function: build the Application with every handler, in order."""

from __future__ import annotations

import importlib
import logging
from types import ModuleType

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    ContextTypes,
    Defaults,
)
from telegram.request import BaseRequest

from bot.clock import Clock
from bot.config import Settings
from bot.services import Services

log = logging.getLogger(__name__)

# Handler modules, in the order their handlers are added. Order matters: commands and buttons
# first, the catch-all check-in handlers last. Each module exports HANDLERS, a list of
# handlers or (group, handler) pairs, and may export COMMANDS (command, description, role)
# for the menu and `async def on_startup(app)` / `async def on_shutdown(app)`.
FEATURE_MODULES: tuple[str, ...] = (
    "handlers.guards",
    "handlers.start",
    "handlers.admin",
    "handlers.targets",
    "handlers.leave",
    "handlers.schedules",
    "handlers.nudges",
    "handlers.digest",
    "handlers.checkin",
)

Context = ContextTypes(bot_data=Services)


def _feature_modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in FEATURE_MODULES]


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    rate_limiter: BaseRateLimiter | bool | None = True,
) -> Application:
    """Build the Application. `request` replaces the HTTP transport (console, tests, benchmarks)."""
    builder = (
        ApplicationBuilder()
        .token(settings.token or "0:CONSOLE")
        .context_types(Context)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz, disable_notification=False))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if settings.telegram_api_base_url:
        root = settings.telegram_api_base_url.rstrip("/")
        builder = builder.base_url(f"{root}/bot").base_file_url(f"{root}/file/bot")
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    if rate_limiter is True:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    elif isinstance(rate_limiter, BaseRateLimiter):
        builder = builder.rate_limiter(rate_limiter)
    app = builder.build()
    app.bot_data.configure(settings, clock)

    for module in _feature_modules():
        for entry in getattr(module, "HANDLERS", ()):
            group, handler = entry if isinstance(entry, tuple) else (0, entry)
            app.add_handler(handler, group=group)
    from bot.webhook import instrument
    from handlers.errors import on_error

    app.add_error_handler(on_error)
    instrument(app)  # metrics: updates handled (group -100), Bot API latency
    return app


async def start_services(app: Application, *, migrate: bool = True) -> None:
    """Open services and run every feature's start-up hook (also called by tests)."""
    services: Services = app.bot_data
    await services.open(migrate=migrate)
    for module in _feature_modules():
        hook = getattr(module, "on_startup", None)
        if hook is not None:
            await hook(app)
    await services.leadership.start()


async def stop_services(app: Application) -> None:
    await app.bot_data.leadership.stop()
    for module in reversed(_feature_modules()):
        hook = getattr(module, "on_shutdown", None)
        if hook is not None:
            await hook(app)
    await app.bot_data.close()


def command_menu(role: str) -> list[BotCommand]:
    """The command menu for a role: its own commands and those of the roles below it."""
    order = ["cadre", "secretary", "admin"]
    allowed = set(order[: order.index(role) + 1])
    commands: list[BotCommand] = []
    seen: set[str] = set()
    for module in _feature_modules():
        for name, description, needed in getattr(module, "COMMANDS", ()):
            if needed in allowed and name not in seen:
                seen.add(name)
                commands.append(BotCommand(name, description))
    return commands


async def set_command_menus(app: Application, admin_chat_ids: list[int]) -> None:
    """The default (cadre) menu, and the admin menu in each bootstrap admin's private chat.

    Secretaries and admins bound by invite get their chat-scoped menu when they bind
    (`set_member_menu`); Telegram keeps it, so start-up does not repeat it for every member.
    """
    await app.bot.set_my_commands(command_menu("cadre"), scope=BotCommandScopeDefault())
    for chat_id in admin_chat_ids:
        await set_member_menu(app.bot, chat_id, "admin")


async def set_member_menu(bot: Bot, chat_id: int, role: str) -> None:
    """Give one private chat the menu of its member's role (cadres use the default menu)."""
    scope = BotCommandScopeChat(chat_id)
    if role == "cadre":
        await bot.delete_my_commands(scope=scope)
    else:
        await bot.set_my_commands(command_menu(role), scope=scope)


async def _post_init(app: Application) -> None:
    await start_services(app)
    await set_command_menus(app, app.bot_data.settings.admin_telegram_ids)


async def _post_shutdown(app: Application) -> None:
    await stop_services(app)
