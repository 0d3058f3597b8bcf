"""What the in-process benchmarks share: the real Application on a throw-away SQLite file with the
in-memory Bot API, and private check-in updates."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any


@asynccontextmanager
async def sqlite_app(*, flood_max_messages: int) -> AsyncIterator[tuple[Any, Any]]:
    """(Application, MemoryBotAPI), started on a temporary SQLite database and stopped after."""
    from bot.config import Settings
    from bot.services import Services
    from handlers.app import build_application, start_services, stop_services
    from handlers.memory_api import MemoryBotAPI

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}",
            flood_max_messages=flood_max_messages,
        )
        api = MemoryBotAPI()
        app = build_application(Services(settings), request=api, rate_limiter=None)
        async with app:
            await start_services(app)
            try:
                yield app, api
            finally:
                await stop_services(app)


def private_text(app: Any, update_id: int, user_id: int, text: str, date: int) -> Any:
    """An Update: `text` sent by `user_id` in their private chat with the bot."""
    from telegram import Update

    user = {"id": user_id, "is_bot": False, "first_name": "党员"}
    message = {
        "message_id": update_id,
        "date": date,
        "chat": {"id": user_id, "type": "private", "first_name": "党员"},
        "from": user,
        "text": text,
    }
    return Update.de_json({"update_id": update_id, "message": message}, app.bot)


async def pg_admin(url: str, sql: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on the PostgreSQL server of `url`."""
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    con = await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, database=u.database
    )
    try:
        await con.execute(sql)
    finally:
        await con.close()
