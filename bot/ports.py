"""The seam between scheduled work and a messenger: the domain calls a Notifier, never Telegram."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.digest import Digest

# Rows of (label, callback data).
Buttons = list[list[tuple[str, str]]]


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
    async def send(self, chat_id: int, text_html: str, buttons: Buttons | None = None) -> Outcome: ...

    async def send_photo(self, chat_id: int, png: bytes, caption_html: str = "") -> Outcome: ...

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
