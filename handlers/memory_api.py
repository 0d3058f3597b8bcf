"""An in-memory Telegram Bot API at PTB's transport seam.

Used by the console chat (no token configured), the tests and the benchmarks: the real
Application, handlers, buttons and JobQueue run, and every Bot API call is answered here and
recorded. Failures (403, 400, 429 with retry_after, time-outs) can be injected per method.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

BOT_ID = 1000
BOT_USERNAME = "dutybot_test_bot"


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str | None, bytes]] = field(default_factory=dict)
    result: Any = None
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None and str(value).lstrip("-").isdigit() else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[list[dict[str, Any]]]:
        markup = self.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        return (markup or {}).get("inline_keyboard", [])

    def button(self, label: str) -> dict[str, Any]:
        """The first inline button whose text contains `label`."""
        for row in self.buttons:
            for btn in row:
                if label in btn["text"]:
                    return btn
        raise KeyError(f"no button {label!r} in {[b['text'] for r in self.buttons for b in r]}")


@dataclass
class Failure:
    """An error answer: an HTTP status and description, or a time-out when status is None."""

    status: int | None
    description: str = ""
    retry_after: int | None = None
    # Only calls to this chat fail (None: any chat).
    chat_id: int | None = None


Hook = Callable[[str, dict[str, Any]], Failure | None]

_TRUE_METHODS = {
    "answerCallbackQuery",
    "setMyCommands",
    "deleteMyCommands",
    "deleteMessage",
    "deleteMessages",
    "setChatMenuButton",
    "deleteWebhook",
    "setWebhook",
    "sendChatAction",
    "close",
    "logOut",
    "setMessageReaction",
}


class MemoryBotAPI(BaseRequest):
    """Answers Bot API methods from memory and records every call in `calls`."""

    def __init__(self, *, bot_id: int = BOT_ID, username: str = BOT_USERNAME) -> None:
        self.bot_id = bot_id
        self.username = username
        self.calls: list[ApiCall] = []
        self.listeners: list[Callable[[ApiCall], None]] = []
        self.hooks: list[Hook] = []
        self._failures: dict[str, deque[Failure]] = {}
        self._message_ids = itertools.count(500_000)
        self._file_ids = itertools.count(1)
        self.updates: asyncio.Queue[dict[str, Any]] | None = None
        # Messages users sent, so a reply to one carries it as reply_to_message, as Telegram's does.
        self._seen: OrderedDict[tuple[int, int], dict[str, Any]] = OrderedDict()
        # Files users sent (by file_id), served to getFile and its download.
        self.files: dict[str, bytes] = {}

    def saw(self, message: dict[str, Any]) -> None:
        """Remember a message a user sent (the harness and the console call this)."""
        key = (int(message["chat"]["id"]), int(message["message_id"]))
        self._seen[key] = message
        while len(self._seen) > 10_000:
            self._seen.popitem(last=False)

    # --- BaseRequest -----------------------------------------------------------------
    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if "/file/bot" in url:  # a file download (getFile's file_path): the bytes a test uploaded
            return 200, self.files.get(url.rsplit("/", 1)[-1], b"")
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files: dict[str, tuple[str | None, bytes]] = {}
        if request_data and request_data.multipart_data:
            for name, value in request_data.multipart_data.items():
                files[name] = (
                    (value[0], _bytes(value[1])) if isinstance(value, tuple) else (None, _bytes(value))
                )
        if api_method == "getUpdates":
            return 200, self._ok(await self._get_updates(params))

        failure = self._take_failure(api_method, params)
        if failure is not None:
            if failure.status is None:
                raise TimedOut("Timed out (injected)")
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return failure.status, json.dumps(body).encode()

        call = ApiCall(api_method, params, files)
        call.result = self._answer(api_method, params, files)
        self.calls.append(call)
        for listener in self.listeners:
            listener(call)
        return 200, self._ok(call.result)

    # --- failure injection -------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        status: int | None,
        description: str = "",
        *,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail (status None: a time-out)."""
        queue = self._failures.setdefault(method, deque())
        for _ in range(times):
            queue.append(Failure(status, description, retry_after, chat_id))

    def _take_failure(self, method: str, params: dict[str, Any]) -> Failure | None:
        for hook in self.hooks:
            failure = hook(method, params)
            if failure is not None:
                return failure
        queue = self._failures.get(method)
        if not queue:
            return None
        head = queue[0]
        if head.chat_id is not None and str(params.get("chat_id")) != str(head.chat_id):
            return None
        return queue.popleft()

    # --- answers -----------------------------------------------------------------------
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "党建助手",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _message(self, params: dict[str, Any], message_id: int | None = None) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        try:
            chat_num = int(chat_id) if chat_id is not None else 0
        except (TypeError, ValueError):
            chat_num = 0
        chat = {"id": chat_num, "type": "private" if chat_num > 0 else "group"}
        if chat_num <= 0:
            chat["title"] = "group"
        message: dict[str, Any] = {
            "message_id": message_id or next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user(),
        }
        if "text" in params:
            message["text"] = params["text"]
        if params.get("caption"):
            message["caption"] = params["caption"]
        if params.get("reply_markup"):
            markup = params["reply_markup"]
            markup = json.loads(markup) if isinstance(markup, str) else markup
            if "inline_keyboard" in markup:  # a Message carries only inline keyboards (not ForceReply)
                message["reply_markup"] = markup
        reply = params.get("reply_parameters")
        if reply:
            reply = json.loads(reply) if isinstance(reply, str) else reply
            quoted = self._seen.get((chat_num, int(reply.get("message_id", 0))))
            if quoted is not None:
                message["reply_to_message"] = quoted
        return message

    def _file(self) -> dict[str, Any]:
        n = next(self._file_ids)
        return {"file_id": f"FILE{n}", "file_unique_id": f"U{n}"}

    def _answer(self, method: str, params: dict[str, Any], files: dict[str, Any]) -> Any:
        if method == "getMe":
            return self.bot_user()
        if method in _TRUE_METHODS:
            return True
        if method == "sendMessage":
            return self._message(params)
        if method == "sendPhoto":
            msg = self._message(params)
            msg["photo"] = [{**self._file(), "width": 800, "height": 600}]
            return msg
        if method == "sendDocument":
            msg = self._message(params)
            name = next((f[0] for f in files.values() if f[0]), None)
            msg["document"] = {**self._file(), "file_name": name or "document"}
            return msg
        if method in {"editMessageText", "editMessageReplyMarkup", "editMessageCaption"}:
            if params.get("inline_message_id"):
                return True
            return self._message(params, message_id=int(params.get("message_id") or 0) or None)
        if method == "getFile":
            file_id = str(params.get("file_id", ""))
            if file_id in self.files:
                return {
                    "file_id": file_id,
                    "file_unique_id": f"U{file_id}",
                    "file_path": f"documents/{file_id}",
                    "file_size": len(self.files[file_id]),
                }
            return {**self._file(), "file_path": "photos/file.jpg", "file_size": 10}
        if method == "getChat":
            return {"id": int(params.get("chat_id", 0)), "type": "private"}
        if method == "getMyCommands":
            return []
        return True

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.updates is None:
            self.updates = asyncio.Queue()
        timeout = float(params.get("timeout") or 0)
        try:
            first = await asyncio.wait_for(self.updates.get(), timeout=max(timeout, 0.05))
        except TimeoutError:
            return []
        batch = [first]
        while not self.updates.empty():
            batch.append(self.updates.get_nowait())
        return batch

    @staticmethod
    def _ok(result: Any) -> bytes:
        # ASCII escapes: what a (forged) update carried is echoed back as Telegram would, not refused
        return json.dumps({"ok": True, "result": result}).encode()

    # --- inspection helpers ----------------------------------------------------------
    def sent(self, method: str | None = None, chat_id: int | None = None) -> list[ApiCall]:
        return [
            c
            for c in self.calls
            if (method is None or c.method == method) and (chat_id is None or c.chat_id == chat_id)
        ]

    def clear(self) -> None:
        self.calls.clear()


def _bytes(value: object) -> bytes:
    """A multipart value's bytes (PTB hands over bytes or an open binary file)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    read = getattr(value, "read", None)
    return bytes(read()) if callable(read) else bytes(str(value), "utf-8")
