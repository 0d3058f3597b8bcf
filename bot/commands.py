"""Registry of extra command-line subcommands.

Each entry is a function `register(subparsers)` that adds one subcommand and sets
`handler=<callable(args) -> int>` with `set_defaults`. Keep imports inside the handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

REGISTRY: list[Callable[[Any], None]] = []


def _database_commands(sub: Any) -> None:
    """`db upgrade|check`, `backup`, `restore`."""
    from bot.dbcommands import register

    register(sub)


REGISTRY.append(_database_commands)


def _export_command(sub: Any) -> None:
    """`export --period 2026-11 --org 组织 -o ledger.xlsx` (runs bot.export.run_cli)."""
    cmd = sub.add_parser("export", help="write the ledger (.xlsx) of an org subtree for a period")
    cmd.add_argument("--period", default="今年", help="本月, 上月, 2026-11, 2026 … (default: this year)")
    cmd.add_argument("--org", help="the org, with everything below it (default: the root of the tree)")
    cmd.add_argument("-o", "--output", help="the .xlsx file to write (default: a name from org and period)")

    def handler(args: Any) -> int:
        from bot.export import run_cli

        return run_cli(args)

    cmd.set_defaults(handler=handler)


REGISTRY.append(_export_command)


def _import_command(sub: Any) -> None:
    """`import FILE [--apply]` (runs bot.roster_service.run_cli)."""
    cmd = sub.add_parser(
        "import", help="import the org tree and roster from .xlsx/.csv (a dry run unless --apply)"
    )
    cmd.add_argument("file", help="the roster file (.xlsx or .csv, UTF-8 or GBK)")
    cmd.add_argument("--apply", action="store_true", help="apply it (in one transaction) after the dry run")
    cmd.add_argument(
        "--links", help="where to write the sheet of personal invite links (default: next to FILE)"
    )
    cmd.add_argument("--bot-username", help="the bot's @username, to write t.me links (default: /join CODE)")

    def handler(args: Any) -> int:
        from bot.roster_service import run_cli

        return run_cli(args)

    cmd.set_defaults(handler=handler)


REGISTRY.append(_import_command)
