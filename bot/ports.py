"""The domain's two ports to the outside: a `Notifier` to send messages and `Jobs` to run work later.

The domain calls these, never Telegram or the JobQueue; the Telegram adapter implements both
(`handlers.notifier.TelegramNotifier`, `handlers.jobs.JobQueueJobs`), a second messenger would too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.digest import Digest

from apscheduler.triggers.base import BaseTrigger


@dataclass(frozen=True)
class Action:
    """What a button means: the adapter encodes it as its messenger's callback data and decodes a
    press back into the same value (`verb` names it, e.g. "nudge.report"; `ref` is the row it is about)."""

    label: str
    verb: str
    ref: int
    arg: int | None = None


# Rows of buttons.
Buttons = list[list[Action]]


@dataclass(frozen=True)
class Outcome:
    """What happened to one send.

    sent: delivered; forbidden: the user blocked the bot; retry_after: rate limited, try again in
    `retry_after` seconds (not delivered); unknown: no answer (a time-out; it may have arrived);
    bad_request: the messenger refused the message itself.
    """

    kind: str
    retry_after: float = 0.0
    error: str = ""

    @classmethod
    def sent(cls) -> Outcome:
        return cls("sent")


class Notifier(Protocol):
    """Sends to one chat. Texts are plain text: the adapter escapes and marks them up."""

    async def send(self, chat_id: int, text: str, buttons: Buttons | None = None) -> Outcome: ...

    async def edit(
        self, chat_id: int, message_id: int, text: str, buttons: Buttons | None = None
    ) -> Outcome: ...

    async def send_photo(self, chat_id: int, png: bytes, caption: str = "") -> Outcome: ...

    async def send_digest(
        self,
        chat_id: int,
        digest: Digest,
        chart_png: bytes | None,
        *,
        pace: Callable[[], Awaitable[None]] | None = None,
    ) -> Outcome:
        """Render and send a digest (as many messages as the messenger needs, then the chart).
        `pace` is awaited before every send after the first; the outcome is the first message's
        that was not delivered, else the last message's (the chart's outcome is not reported)."""
        ...


Job = Callable[[], Awaitable[None]]


class Jobs(Protocol):
    """Work to run later, named so that it can be replaced or removed (by name prefix)."""

    def add(self, name: str, job: Job, trigger: BaseTrigger, *, misfire_grace_seconds: int = 1) -> None:
        """Run `job` at every fire time of `trigger`, replacing a job of the same name."""
        ...

    def once(self, name: str, job: Job, when: dt.datetime) -> None:
        """Run `job` once at `when`."""
        ...

    def remove(self, prefix: str) -> None:
        """Remove every job whose name starts with `prefix`."""
        ...
