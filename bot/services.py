"""Everything handlers and jobs need, built once per application (PTB's typed bot_data)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.leader import Leadership, elect
from storage.db import create_engine, create_sessionmaker, session_scope, upgrade

if TYPE_CHECKING:
    from bot.parsing import Parser, RuleSet

log = logging.getLogger(__name__)


class Services:
    """Application-wide services. PTB creates it empty; `configure` and `open` fill it in."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    read_sessionmaker: async_sessionmaker[AsyncSession]
    rules: RuleSet
    parser: Parser

    def __init__(self) -> None:
        self._opened = False
        # Features keep their own state here, keyed by feature name (e.g. the flood limiter).
        self.extras: dict[str, Any] = {}
        # Whether this process runs the scheduler; replaced by an elected one with PostgreSQL.
        self.leadership = Leadership()

    def configure(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock(settings.tz)

    async def open(self, *, migrate: bool = True) -> None:
        """Open the database (migrating it), load the rule set and initialise jieba."""
        if self._opened:
            return
        from bot.parsing import Parser, load_rules

        self.rules = load_rules(self.settings.rules_path)
        self.parser = Parser(self.rules)
        if migrate:
            await upgrade(self.settings.database_url)
        self.engine = create_engine(self.settings.database_url)
        self.sessionmaker = create_sessionmaker(self.engine)
        self.read_sessionmaker = create_sessionmaker(self.engine, read_only=True)
        self.leadership = elect(
            self.leadership, self.settings.database_url, check_seconds=self.settings.leader_check_seconds
        )
        self._opened = True
        log.info("services opened", extra={"database": self.engine.url.render_as_string()})

    async def close(self) -> None:
        if self._opened:
            await self.engine.dispose()
            self._opened = False

    @asynccontextmanager
    async def session(self, *, read_only: bool = False) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed on success, rolled back on error. A read-only unit (reports)
        never holds check-ins back; it must not write (PostgreSQL refuses it)."""
        async with session_scope(self.read_sessionmaker if read_only else self.sessionmaker) as session:
            yield session
