"""Everything handlers and jobs need, built once per process by the composition root.

`Services(settings, clock)` creates every attribute here, in one place; `open()` then connects the
database, loads the rule set and initialises jieba. An adapter (the Telegram one in `handlers/`)
receives the object whole and never reaches into the environment itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.calendar import WorkCalendar
from bot.checkins import CheckIns
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.flood import FloodLimiter
from bot.leader import Leadership, elect
from bot.metrics import Metrics
from bot.parsing import Parser, RuleSet
from bot.rulebook import RuleBook
from storage import updates as updates_repo
from storage.db import create_engine, create_sessionmaker, needs_upgrade, session_scope, upgrade

if TYPE_CHECKING:
    from bot.ports import Jobs, Notifier
    from bot.scheduler import Scheduler

log = logging.getLogger(__name__)


class Services:
    """Application-wide services; the attributes below exist from construction on, the database
    ones (`engine`, the session makers, `rules`, `parser`) once `open()` has run."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    read_sessionmaker: async_sessionmaker[AsyncSession]
    rules: RuleSet
    parser: Parser

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock(settings.tz)
        self.metrics = Metrics()
        self.flood = FloodLimiter(settings.flood_max_messages, settings.flood_window_seconds)
        self.command_flood = FloodLimiter(settings.flood_max_commands, settings.flood_window_seconds)
        # The statutory calendar with the admins' overrides (reloaded when they change).
        self.calendar = WorkCalendar()
        # Whether this process runs the scheduler; replaced by an elected one with PostgreSQL.
        self.leadership = Leadership()
        # The scheduler runtime, bound by the adapter that starts the bot to its Jobs and Notifier.
        self.scheduler: Scheduler | None = None
        # Check-in ingestion, with its memories (card ids waiting to be written, albums, unread text).
        self.checkins = CheckIns(self)
        # The running rule set: the rule file plus the phrases admins approved (bot.rulebook).
        self.rulebook = RuleBook(self)
        self._opened = False

    async def open(self, *, migrate: bool = True) -> None:
        """Open the database (migrating it), load the rule set and initialise jieba."""
        if self._opened:
            return
        self.rules = self.rulebook.load_base()
        self.parser = Parser(self.rules)
        if migrate:
            if await needs_upgrade(self.settings.database_url):
                await self._backup("pre-migration")
            await upgrade(self.settings.database_url)
        self.engine = create_engine(self.settings.database_url)
        self.sessionmaker = create_sessionmaker(self.engine)
        self.read_sessionmaker = create_sessionmaker(self.engine, read_only=True)
        self.leadership = elect(
            self.leadership, self.settings.database_url, check_seconds=self.settings.leader_check_seconds
        )
        await self.rulebook.refresh()
        self._opened = True
        log.info("services opened", extra={"database": self.engine.url.render_as_string()})

    async def _backup(self, kind: str) -> None:
        from bot.backup import backup_directory, scheduled_backup

        settings = self.settings
        directory = backup_directory(settings.database_url, settings.backup_dir)
        made = await asyncio.to_thread(
            scheduled_backup,
            settings.database_url,
            directory,
            kind=kind,
            keep=max(settings.backup_keep, 1),
            now=self.clock.now(),
        )
        log.info("backup written", extra={"kind": kind, "path": str(made)})

    async def backup(self) -> None:
        """The nightly backup (run by the scheduler's leader)."""
        await self._backup("nightly")

    def bind(self, jobs: Jobs, notifier: Notifier) -> None:
        """Bind the adapter's ports: the scheduler runtime and the check-ins' background work."""
        from bot.scheduler import Scheduler

        self.scheduler = Scheduler(self, jobs, notifier)
        self.checkins.start(jobs)
        self.rulebook.start(jobs)

    async def start(self) -> None:
        """Start what runs in the background: seeding, the scheduler, the election."""
        from bot.target_settings import seed_default_targets

        await seed_default_targets(self)
        await self.sync_admins()
        if self.scheduler is not None:
            await self.scheduler.start()
        await self.leadership.start()

    async def stop(self) -> None:
        await self.leadership.stop()
        await self.checkins.flush_cards()
        if self.scheduler is not None:
            await self.scheduler.stop()

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

    async def first_time(self, update_id: int) -> bool:
        """Whether an update (a command, a button press) is seen for the first time; it is then
        remembered, so a redelivery — also after a restart — is not acted on twice."""
        async with self.session() as session:
            return await updates_repo.first_time(session=session, update_id=update_id, now=self.clock.now())

    async def sync_admins(self) -> None:
        from bot.members import sync_bootstrap_admins

        async with self.session() as session:
            demoted = await sync_bootstrap_admins(session=session, services=self)
        for member in demoted:
            log.warning("member %s is no longer in ADMIN_TELEGRAM_IDS: demoted to %s", member.id, member.role)
