"""`dutybot db upgrade|check`, `dutybot backup` and `dutybot restore`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, TextIO


def register(sub: Any) -> None:
    db = sub.add_parser("db", help="database migrations: upgrade, check")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="migrate the database to the newest schema (or a revision)")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=_upgrade)
    check = db_sub.add_parser("check", help="fail unless the database is at head and matches the models")
    check.set_defaults(handler=_check)

    backup = sub.add_parser("backup", help="copy the SQLite database to a file while the bot runs")
    backup.add_argument(
        "path", nargs="?", type=Path, help="backup file (default: data/backups/<time>.sqlite3)"
    )
    backup.set_defaults(handler=_backup)

    restore = sub.add_parser("restore", help="replace the SQLite database with a backup")
    restore.add_argument("path", type=Path, help="the backup file")
    restore.add_argument(
        "--force", action="store_true", help="restore even while a bot has the database open"
    )
    restore.set_defaults(handler=_restore)


def _settings() -> Settings:
    from bot.config import Settings
    from bot.logs import configure_logging

    settings = Settings()
    configure_logging(settings, force=False)
    return settings


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _upgrade(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    from storage.db import upgrade_sync

    settings = _settings()
    upgrade_sync(settings.database_url, args.revision)
    out.write(f"upgraded {_safe_url(settings.database_url)} to {args.revision}\n")
    return 0


def _check(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    settings = _settings()
    problems = asyncio.run(check_database(settings.database_url))
    for problem in problems:
        out.write(f"problem: {problem}\n")
    if problems:
        return 1
    out.write("ok: database at head, models and migrations agree\n")
    return 0


async def check_database(url: str) -> list[str]:
    """What is wrong: the database not at the migrations' head, or the models drifting from it."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlmodel import SQLModel

    import storage.models  # noqa: F401  (registers the tables)
    from storage.db import alembic_config, create_engine

    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())

    def _inspect(connection: Any) -> list[str]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        current = set(context.get_current_heads())
        if current != heads:
            have = ", ".join(sorted(current)) or "no revision (empty)"
            return [
                f"database at {have}; migrations head is {', '.join(sorted(heads))}: run `dutybot db upgrade`"
            ]
        return [
            f"models differ from migrations: {diff!r}"
            for diff in compare_metadata(context, SQLModel.metadata)
        ]

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_inspect)
    finally:
        await engine.dispose()


def _backup(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    from bot.backup import BackupError, backup

    settings = _settings()
    try:
        path = backup(settings.database_url, args.path)
    except BackupError as error:
        out.write(f"{error}\n")
        return 2
    out.write(f"backup written to {path}\n")
    return 0


def _restore(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    from bot.backup import BackupError, restore

    settings = _settings()
    try:
        path = restore(settings.database_url, args.path, force=args.force)
    except BackupError as error:
        out.write(f"{error}\n")
        return 2
    out.write(f"restored {args.path} into {path}\n")
    return 0
