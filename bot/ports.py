"""The seam between scheduled work and a messenger: the domain calls a Notifier, never Telegram."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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
