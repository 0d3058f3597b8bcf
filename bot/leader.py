"""Leadership: decides whether this process runs the scheduler.

The default grants leadership at once (one process, SQLite). Features that must run in exactly one
process (the scheduler) subscribe with `on_change(gained, lost)`; both are async callables.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Callback = Callable[[], Awaitable[None]]


class Leadership:
    def __init__(self) -> None:
        self.is_leader = False
        self._gained: list[Callback] = []
        self._lost: list[Callback] = []

    def on_change(self, gained: Callback, lost: Callback) -> None:
        self._gained.append(gained)
        self._lost.append(lost)

    async def start(self) -> None:
        """Become leader (the single-process default)."""
        await self._gain()

    async def stop(self) -> None:
        await self._lose()

    async def _gain(self) -> None:
        if self.is_leader:
            return
        self.is_leader = True
        log.info("leadership gained")
        for callback in self._gained:
            await callback()

    async def _lose(self) -> None:
        if not self.is_leader:
            return
        self.is_leader = False
        log.info("leadership lost")
        for callback in self._lost:
            await callback()
