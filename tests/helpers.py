"""Builders and a harness that drive the real Application over the in-memory Bot API."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import Application

from bot.clock import FakeClock
from bot.services import Services
from handlers.memory_api import ApiCall, MemoryBotAPI
from storage import orgs
from storage.models import Member, Org

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)
_callback_ids = itertools.count(1)


@dataclass(frozen=True)
class TgUser:
    id: int
    first_name: str = "测试"
    last_name: str | None = None
    username: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


def private_chat(user: TgUser) -> dict[str, Any]:
    return {"id": user.id, "type": "private", "first_name": user.first_name}


def group_chat(chat_id: int, title: str = "支部群") -> dict[str, Any]:
    return {"id": chat_id, "type": "supergroup", "title": title}


def _entities(text: str) -> list[dict[str, Any]]:
    if text.startswith("/"):
        length = len(text.split()[0].encode("utf-16-le")) // 2
        return [{"type": "bot_command", "offset": 0, "length": length}]
    return []


def message_dict(
    user: TgUser,
    text: str | None = None,
    *,
    chat: dict[str, Any] | None = None,
    message_id: int | None = None,
    when: dt.datetime | None = None,
    reply_to: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Bot API Message as JSON."""
    msg: dict[str, Any] = {
        "message_id": message_id or next(_message_ids),
        "date": int((when or dt.datetime.now(dt.UTC)).timestamp()),
        "chat": chat or private_chat(user),
        "from": user.to_dict(),
    }
    if text is not None:
        msg["text"] = text
        entities = _entities(text)
        if entities:
            msg["entities"] = entities
    if reply_to is not None:
        msg["reply_to_message"] = reply_to
    if extra:
        msg.update(extra)
    return msg


def card_message(call: ApiCall) -> dict[str, Any]:
    """The message a bot call produced (its result), as a reply target or callback message."""
    return call.result


class Harness:
    """The real Application over a MemoryBotAPI, with a fake clock and a real database."""

    def __init__(self, app: Application, api: MemoryBotAPI, clock: FakeClock) -> None:
        self.app = app
        self.api = api
        self.clock = clock
        self.errors: list[BaseException] = []

    @property
    def services(self) -> Services:
        return self.app.bot_data

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.services.session() as session:
            yield session

    async def process(self, data: dict[str, Any]) -> list[ApiCall]:
        """Process one update (JSON) and return the Bot API calls it caused."""
        before = len(self.api.calls)
        data = {"update_id": next(_update_ids), **data}
        for kind in ("message", "edited_message"):
            if kind in data:
                self.api.saw(data[kind])
        await self.app.process_update(Update.de_json(data, self.app.bot))
        return self.api.calls[before:]

    def _when(self) -> dt.datetime:
        return self.clock.now()

    async def send(self, user: TgUser, text: str | None, **kwargs: Any) -> list[ApiCall]:
        """The user sends a message (a command when it starts with /)."""
        kwargs.setdefault("when", self._when())
        msg = message_dict(user, text, **kwargs)
        self.last_message = msg
        return await self.process({"message": msg})

    async def edit(self, user: TgUser, message: dict[str, Any], text: str) -> list[ApiCall]:
        """The user edits an earlier message (same message_id) to `text`."""
        edited = dict(message, text=text, edit_date=int(self._when().timestamp()))
        if "caption" in message:
            edited.pop("text")
            edited["caption"] = text
        return await self.process({"edited_message": edited})

    async def press(self, user: TgUser, card: ApiCall, label: str) -> list[ApiCall]:
        """The user taps the inline button labelled `label` on a card the bot sent."""
        button = card.button(label)
        message = card.result if isinstance(card.result, dict) else None
        query = {
            "id": str(next(_callback_ids)),
            "from": user.to_dict(),
            "chat_instance": "ci",
            "data": button["callback_data"],
        }
        if message is not None:
            query["message"] = message
        return await self.process({"callback_query": query})

    async def photo(
        self,
        user: TgUser,
        caption: str | None = None,
        *,
        reply_to: dict[str, Any] | None = None,
        media_group_id: str | None = None,
        **kwargs: Any,
    ) -> list[ApiCall]:
        n = next(_message_ids)
        extra: dict[str, Any] = {
            "photo": [{"file_id": f"PHOTO{n}", "file_unique_id": f"P{n}", "width": 800, "height": 600}]
        }
        if media_group_id is not None:
            extra["media_group_id"] = media_group_id
        if caption is not None:
            extra["caption"] = caption
        kwargs.setdefault("when", self._when())
        msg = message_dict(user, None, reply_to=reply_to, extra=extra, **kwargs)
        self.last_message = msg
        return await self.process({"message": msg})

    async def document(
        self, user: TgUser, file_name: str, content: bytes, *, size: int | None = None, **kwargs: Any
    ) -> list[ApiCall]:
        """The user sends a file (`size`: the size Telegram reports, when it is not the content's)."""
        n = next(_message_ids)
        file_id = f"DOC{n}"
        self.api.files[file_id] = content
        extra = {
            "document": {
                "file_id": file_id,
                "file_unique_id": f"D{n}",
                "file_name": file_name,
                "file_size": len(content) if size is None else size,
            }
        }
        kwargs.setdefault("when", self._when())
        msg = message_dict(user, None, extra=extra, **kwargs)
        self.last_message = msg
        return await self.process({"message": msg})

    # --- seeding through the repositories ----------------------------------------------
    async def add_org(self, name: str, parent: str | None = None, kind: str | None = None) -> Org:
        async with self.session() as session:
            parent_org = await orgs.get_org_by_name(session=session, name=parent) if parent else None
            return await orgs.create_org(session=session, name=name, parent=parent_org, kind=kind)

    async def add_member(
        self, user: TgUser, org: str, role: str = "cadre", name: str | None = None
    ) -> Member:
        async with self.session() as session:
            org_row = await orgs.get_org_by_name(session=session, name=org)
            assert org_row is not None, f"no org {org}"
            return await orgs.create_member(
                session=session,
                telegram_id=user.id,
                name=name or user.first_name,
                org=org_row,
                role=role,
                username=user.username,
            )

    def replies(self, calls: list[ApiCall], method: str = "sendMessage") -> list[ApiCall]:
        return [c for c in calls if c.method == method]

    def fail_on_errors(self) -> None:
        if self.errors:
            raise AssertionError(f"handler errors: {self.errors!r}") from self.errors[0]
