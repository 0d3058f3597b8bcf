"""Roster imports as units of work for a sender (the bot) or the operator (the command line):
read the file, preview it (stored until a tap applies it), apply or cancel."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.admin import acting_member
from bot.errors import Refused
from bot.members import Sender
from bot.roles import Role
from bot.roster_file import RosterFile, RosterFileError, read_roster
from bot.roster_import import ApplyResult, ImportPlan, apply_import, plan_import, preview_lines
from bot.services import Services
from storage import roster as repo

UPLOAD_KEPT = dt.timedelta(days=1)
GONE = "这份花名册已经导入或已取消。如需再导入，请重新发送文件。"


@dataclass(frozen=True)
class Preview:
    upload_id: int | None  # None: nothing to apply
    filename: str
    plan: ImportPlan


async def _read(data: bytes, filename: str) -> RosterFile:
    try:
        return await asyncio.to_thread(read_roster, data, filename)
    except RosterFileError as error:
        raise Refused(html.escape(str(error))) from None


async def authorize(services: Services, sender: Sender) -> None:
    """Refuse anyone but an admin (a member: the import's actor)."""
    async with services.session() as session:
        await acting_member(session, services, sender, Role.admin)


async def preview_upload(services: Services, sender: Sender, filename: str, data: bytes) -> Preview:
    """The dry run of a file an admin sent; kept for the tap that applies it."""
    await authorize(services, sender)
    roster = await _read(data, filename)
    async with services.session() as session:
        actor = await acting_member(session, services, sender, Role.admin)
        plan = await plan_import(session=session, roster=roster)
        upload_id = None
        if plan.changed:
            await repo.delete_uploads(session=session, before=services.clock.now() - UPLOAD_KEPT)
            upload_id = await repo.add_upload(
                session=session, actor_id=actor.id, filename=filename, content=data
            )
    return Preview(upload_id, filename, plan)


async def apply_upload(services: Services, sender: Sender, upload_id: int) -> ApplyResult:
    """Apply a previewed file in one transaction; the upload is gone afterwards."""
    async with services.session() as session:
        await acting_member(session, services, sender, Role.admin)
        upload = await repo.get_upload(session=session, upload_id=upload_id)
        if upload is None:
            raise Refused(GONE)
        data, filename = upload.content, upload.filename
    roster = await _read(data, filename)
    async with services.session() as session:
        actor = await acting_member(session, services, sender, Role.admin)
        if await repo.get_upload(session=session, upload_id=upload_id) is None:
            raise Refused(GONE)  # applied meanwhile by another tap
        result = await apply_import(session=session, roster=roster, actor=actor, now=services.clock.now())
        await repo.delete_uploads(session=session, upload_id=upload_id)
    return result


async def cancel_upload(services: Services, sender: Sender, upload_id: int) -> None:
    async with services.session() as session:
        await acting_member(session, services, sender, Role.admin)
        await repo.delete_uploads(session=session, upload_id=upload_id)


# --- the command line ----------------------------------------------------------------------------
async def _run_cli(args: Any, path: Path, data: bytes) -> tuple[int, str]:
    from bot.config import Settings
    from bot.roster_import import links_workbook, summary
    from storage.db import create_engine, create_sessionmaker, session_scope

    settings = Settings()
    try:
        roster = await asyncio.to_thread(read_roster, data, path.name)
    except RosterFileError as error:
        return 2, str(error)
    engine = create_engine(settings.database_url)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            if not args.apply:
                plan = await plan_import(session=session, roster=roster)
                tail = "\n加上 --apply 即可导入。" if plan.changed else ""
                return 0, "\n".join(preview_lines(plan, path.name)) + tail
            result = await apply_import(
                session=session, roster=roster, actor=None, now=dt.datetime.now(dt.UTC)
            )
    finally:
        await engine.dispose()
    out = Path(args.links or path.with_name(f"{path.stem}-邀请链接.xlsx"))
    await asyncio.to_thread(out.write_bytes, links_workbook(result.links, args.bot_username))
    return 0, f"已导入：{summary(result.plan)}\n邀请链接 {len(result.links):,} 个已写入 {out}"


def run_cli(args: Any) -> int:
    """`dutybot import FILE [--apply]`: the same dry run and apply as sending the file to the bot."""
    import sys

    from bot.roster_file import MAX_BYTES, too_big

    path = Path(args.file)
    if not path.is_file():
        code, message = 2, f"没有这个文件：{path}"
    elif path.stat().st_size > MAX_BYTES:
        code, message = 2, too_big(path.stat().st_size)
    else:
        code, message = asyncio.run(_run_cli(args, path, path.read_bytes()))
    print(message, file=sys.stdout if code == 0 else sys.stderr)
    return code
