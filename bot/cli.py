"""Command-line entry point and composition root: `dutybot` / `python -m bot`.

This is the one module of `bot/` that knows an adapter: `run` reads the settings, builds the
services and hands them to the Telegram adapter (`handlers`), or to its console when no token is
configured. Subcommands import what they need lazily, so `parse` starts without loading Telegram
or the database.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings


def _version() -> str:
    from bot.version import version

    return version()


def _build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="dutybot", description="党建工作记录机器人 dutybot")
    sub = ap.add_subparsers(dest="command")

    ap.add_argument("--version", action="version", version=f"dutybot {_version()}")
    run = sub.add_parser("run", help="start the bot (needs TELEGRAM_BOT_TOKEN)")
    run.add_argument("--console", action="store_true", help="the same as `dutybot console`")
    run.add_argument("--webhook", action="store_true", help="receive updates through a webhook")

    console = sub.add_parser("console", help="try the bot in a local console chat (no token needed)")
    console.add_argument(
        "--database-url", help=f"the console's own database (default {CONSOLE_DATABASE}; never DATABASE_URL)"
    )

    demo = sub.add_parser(
        "demo", help="the console chat on a demo office with eight weeks of history (rebuilt each time)"
    )
    demo.add_argument("--database-url", help=f"the demo's own database (default {DEMO_DATABASE}, rebuilt)")

    parse = sub.add_parser("parse", help="parse check-in messages")
    parse.add_argument("--jsonl", action="store_true", help='read {"id","text","ref"} lines on stdin')
    parse.add_argument("--ref", help="send time for a single message, 'YYYY-MM-DD HH:MM' (default: now)")
    parse.add_argument("text", nargs="*", help="a message to parse (when not --jsonl)")

    # Further subcommands (export, db, backup, restore) are added by their features below.
    _add_feature_commands(sub)
    return ap


def _add_feature_commands(sub: argparse._SubParsersAction) -> None:
    """Register subcommands of optional features; each module adds its own arguments."""
    from bot import commands

    for register in commands.REGISTRY:
        register(sub)


CONSOLE_DATABASE = "sqlite+aiosqlite:///data/console.sqlite3"
DEMO_DATABASE = "sqlite+aiosqlite:///data/demo.sqlite3"


def _run(*, webhook: bool) -> int:
    """`dutybot run`: build settings and services, check them, then start the Telegram adapter."""
    from bot import startup
    from bot.logs import configure_logging
    from bot.services import Services

    for warning in startup.unknown_setting_warnings(os.environ):
        print(warning, file=sys.stderr)
    try:
        settings = startup.load_settings()
        _check_rules(settings)
        if not settings.token:
            raise startup.StartupError(
                startup.EX_CONFIG,
                "no bot token is configured",
                setting="TELEGRAM_BOT_TOKEN",
                fix="set it to the token @BotFather gave you, or run `dutybot console` to try the bot locally",
            )
        startup.check_database_url(settings)
        startup.check_database_reachable(settings)
        configure_logging(settings)
        from handlers.runner import run

        return run(Services(settings), webhook=webhook)
    except startup.StartupError as error:
        return startup.report(error)


def _console(database_url: str | None, *, demo: bool = False) -> int:
    """`dutybot console`: the local console chat on its own SQLite database (never DATABASE_URL).
    `dutybot demo`: the same on a demo office with history, rebuilt from nothing each time.

    The console's clock is wall time that `/clock` can move forward; its database is a
    playground, so it takes no nightly backups."""
    from bot import startup
    from bot.clock import OffsetClock
    from bot.logs import configure_logging
    from bot.services import Services

    default = DEMO_DATABASE if demo else CONSOLE_DATABASE
    try:
        settings = startup.load_settings().model_copy(
            update={"database_url": database_url or default, "telegram_bot_token": None, "backup_keep": 0}
        )
        _check_rules(settings)
        startup.check_database_url(settings)
    except startup.StartupError as error:
        return startup.report(error)
    if demo and database_url is None:
        _remove_sqlite(DEMO_DATABASE)
    configure_logging(settings)
    from handlers.console import run_console

    return run_console(Services(settings, OffsetClock(settings.tz)), demo=demo)


def _remove_sqlite(url: str) -> None:
    """Delete a SQLite database file (and its WAL companions) so it is built again."""
    from pathlib import Path

    path = Path(url.split(":///", 1)[1])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _check_rules(settings: Settings) -> None:
    """A broken replacement rule set stops start-up with a clear message, not a traceback."""
    from bot import startup
    from bot.parsing import RulesError, load_rules

    try:
        load_rules(settings.rules_path)
    except RulesError as exc:
        raise startup.StartupError(2, f"the rule set is broken: {exc}", setting="RULES_PATH") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    command = args.command or "run"
    if command == "parse":
        from bot.config import Settings
        from bot.parsing.cli import run_cli

        settings = Settings()
        return run_cli(args, settings, stdin=sys.stdin, stdout=sys.stdout)
    if command == "run":
        if getattr(args, "console", False):
            return _console(None)
        return _run(webhook=getattr(args, "webhook", False))
    if command == "console":
        return _console(args.database_url)
    if command == "demo":
        return _console(args.database_url, demo=True)
    handler = getattr(args, "handler", None)
    if handler is None:
        _build_parser().print_help()
        return 2
    return int(handler(args) or 0)
