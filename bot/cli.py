"""Command-line entry point and composition root: `dutybot` / `python -m bot`.

This is the one module of `bot/` that knows an adapter: `run` reads the settings, builds the
services and hands them to the Telegram adapter (`handlers`), or to its console when no token is
configured. Subcommands import what they need lazily, so `parse` starts without loading Telegram
or the database.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="dutybot", description="党建工作记录机器人 dutybot")
    sub = ap.add_subparsers(dest="command")

    run = sub.add_parser("run", help="start the bot (console chat when no token is configured)")
    run.add_argument("--console", action="store_true", help="force the local console chat")
    run.add_argument("--webhook", action="store_true", help="receive updates through a webhook")

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


def _run(*, console: bool, webhook: bool) -> int:
    """Build settings and services, then start the adapter (the console when no token is set)."""
    from bot.config import Settings
    from bot.logs import configure_logging
    from bot.parsing import RulesError, load_rules
    from bot.services import Services

    settings = Settings()
    configure_logging(settings)
    try:
        # A broken replacement rule set must stop start-up with a clear message, not a traceback.
        load_rules(settings.rules_path)
    except RulesError as exc:
        print(f"dutybot: cannot start, the rule set is broken: {exc}", file=sys.stderr)
        return 2
    services = Services(settings)
    if console or not settings.token:
        from handlers.console import run_console

        return run_console(services)
    from handlers.runner import run

    return run(services, webhook=webhook)


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    command = args.command or "run"
    if command == "parse":
        from bot.config import Settings
        from bot.parsing.cli import run_cli

        settings = Settings()
        return run_cli(args, settings, stdin=sys.stdin, stdout=sys.stdout)
    if command == "run":
        return _run(console=getattr(args, "console", False), webhook=getattr(args, "webhook", False))
    handler = getattr(args, "handler", None)
    if handler is None:
        _build_parser().print_help()
        return 2
    return int(handler(args) or 0)
