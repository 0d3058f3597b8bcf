"""Questions the bot asks with ForceReply, and the filter that routes the answer (a text reply to
the question) to its handler instead of the check-in path."""

from __future__ import annotations

import re

from telegram import Message
from telegram.ext.filters import MessageFilter

_REF = re.compile(r"#(\d{1,10})")


class ReplyTo(MessageFilter):
    """A text reply to one of the bot's questions, recognised by how the question begins."""

    def __init__(self, *openings: str) -> None:
        super().__init__()
        self.openings = openings

    def filter(self, message: Message) -> bool:
        asked = message.reply_to_message
        return bool(
            message.text
            and asked is not None
            and asked.from_user is not None
            and asked.from_user.is_bot
            and (asked.text or "").startswith(self.openings)
        )


def question_ref(message: Message) -> int | None:
    """The record number (#12) named in the question a message replies to."""
    asked = message.reply_to_message
    found = _REF.search(asked.text or "") if asked is not None else None
    return int(found.group(1)) if found else None
