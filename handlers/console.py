"""The console chat: with no token, talk to the real Application in the terminal.

The same Application, handlers and database code run; the Bot API is the in-memory one, and what
the bot sends is printed (HTML tags stripped, buttons as [n 标签]). A demo organisation with a
cadre, a secretary and an admin is created once; `/as cadre|secretary|admin` switches between them.
Type a button's number or label to press it; `/quit` (or end of input) leaves. Works under a pipe.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import logging
import re
import sys
import time
from collections.abc import Coroutine
from typing import Any, TextIO, TypeVar

from bot.demo import seed_demo
from bot.services import Services
from handlers.memory_api import ApiCall, MemoryBotAPI

DEMO_ROOT = "示范党委"
DEMO_BRANCH = "第一支部"
# persona -> (telegram id, name, org, role)
PERSONAS: dict[str, tuple[int, str, str, str]] = {
    "cadre": (900001, "张党员", DEMO_BRANCH, "cadre"),
    "secretary": (900002, "李书记", DEMO_BRANCH, "secretary"),
    "admin": (900003, "王管理员", DEMO_ROOT, "admin"),
}
ROLE_LABEL = {"cadre": "党员", "secretary": "书记", "admin": "管理员"}
# /as accepts the role in English or Chinese, or the persona's name.
PERSONA_ALIASES = {
    **{key: key for key in PERSONAS},
    **{label: key for key, label in ROLE_LABEL.items()},
    **{person[1]: key for key, person in PERSONAS.items()},
}
BOT_NAME = "党建助手"
_TAG = re.compile(r"<[^>]+>")
T = TypeVar("T")


def plain(text: str) -> str:
    return html.unescape(_TAG.sub("", text))


class Console:
    """Feeds typed lines to the Application as updates and prints what the bot sends."""

    def __init__(self, services: Services, out: TextIO) -> None:
        from handlers.app import build_application

        self.out = out
        self.api = MemoryBotAPI()
        self.app = build_application(services, request=self.api, rate_limiter=None)
        self.api.listeners.append(self._show)
        self.persona = "cadre"
        self.buttons: list[tuple[str, str, dict[str, Any]]] = []
        # Update and message ids only grow, across sessions too: the database keeps earlier
        # sessions' check-ins and commands, and a reused id would read as Telegram redelivering.
        start = time.time_ns() // 1_000_000
        self._update_ids = itertools.count(start)
        self._message_ids = itertools.count(start)
        self._callback_ids = itertools.count(1)

    # --- output ------------------------------------------------------------------------------
    def _show(self, call: ApiCall) -> None:
        if call.method == "answerCallbackQuery":
            if call.params.get("text"):
                self._print(f"（提示）{call.params['text']}")
            return
        if call.method not in {"sendMessage", "editMessageText", "sendPhoto", "sendDocument"}:
            return
        if call.chat_id is not None and call.chat_id != self.user_id and call.chat_id > 0:
            return  # a message to another persona (a nudge, a digest): not this chat
        prefix = "（已更新）" if call.method == "editMessageText" else ""
        if call.method == "sendPhoto":
            prefix = "[图片] "
        elif call.method == "sendDocument":
            prefix = "[文件] "
        rows = [prefix + plain(call.text)]
        if call.buttons:
            self.buttons = []
            for row in call.buttons:
                labels = []
                for button in row:
                    if "callback_data" not in button:
                        continue
                    self.buttons.append((button["text"], button["callback_data"], call.result))
                    labels.append(f"[{len(self.buttons)} {button['text']}]")
                rows.append(" ".join(labels))
        self._print("\n".join(rows))

    def _print(self, text: str) -> None:
        lines = text.splitlines() or [""]
        pad = " " * (len(BOT_NAME) * 2 + 3)
        self.out.write(f"{BOT_NAME} › {lines[0]}\n" + "".join(f"{pad}{line}\n" for line in lines[1:]))
        self.out.flush()

    # --- identity ----------------------------------------------------------------------------
    @property
    def user_id(self) -> int:
        return PERSONAS[self.persona][0]

    def _user(self) -> dict[str, Any]:
        uid, name, _, _ = PERSONAS[self.persona]
        return {"id": uid, "is_bot": False, "first_name": name}

    def prompt(self) -> str:
        return f"{PERSONAS[self.persona][1]}（{ROLE_LABEL[self.persona]}）> "

    async def seed(self) -> None:
        """The demo organisation and its three personas, created once."""
        await seed_demo(
            self.app.bot_data,
            root=DEMO_ROOT,
            branch=DEMO_BRANCH,
            people=[
                (uid, name, org_name == DEMO_ROOT, role) for uid, name, org_name, role in PERSONAS.values()
            ],
        )

    # --- input -------------------------------------------------------------------------------
    async def handle(self, line: str) -> bool:
        """Act on one typed line; False when the user wants to leave."""
        text = line.strip()
        if text in {"/quit", "/exit"}:
            return False
        if text.startswith("/as"):
            wanted = PERSONA_ALIASES.get(text[3:].strip().lower(), "")
            if wanted in PERSONAS:
                self.persona = wanted
                self._print(f"现在的身份：{PERSONAS[wanted][1]}（{ROLE_LABEL[wanted]}）")
            else:
                self._print("用法：/as cadre | /as secretary | /as admin（也可以写 党员、书记、管理员）")
            return True
        button = self._button(text)
        if button is not None:
            await self._press(*button)
        elif text:
            await self._send(text)
        return True

    def _button(self, text: str) -> tuple[str, str, dict[str, Any]] | None:
        if text.isdigit() and 1 <= int(text) <= len(self.buttons):
            return self.buttons[int(text) - 1]
        return next((b for b in self.buttons if b[0] == text), None)

    def _now(self) -> int:
        return int(self.app.bot_data.clock.now().timestamp())

    async def _process(self, data: dict[str, Any]) -> None:
        from telegram import Update

        data = {"update_id": next(self._update_ids), **data}
        await self.app.process_update(Update.de_json(data, self.app.bot))

    async def _send(self, text: str) -> None:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": self._now(),
            "chat": {"id": self.user_id, "type": "private", "first_name": PERSONAS[self.persona][1]},
            "from": self._user(),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0].encode("utf-16-le")) // 2
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        self.api.saw(message)
        await self._process({"message": message})

    async def _press(self, label: str, data: str, message: dict[str, Any]) -> None:
        query = {
            "id": str(next(self._callback_ids)),
            "from": self._user(),
            "chat_instance": "console",
            "data": data,
            "message": message,
        }
        await self._process({"callback_query": query})


async def _run(services: Services, stdin: TextIO, stdout: TextIO) -> int:
    from handlers.app import start_services, stop_services

    console = Console(services, stdout)
    interactive = stdin.isatty()
    async with console.app:
        await start_services(console.app)
        try:
            await console.seed()
            stdout.write(
                "dutybot 控制台：没有配置 TELEGRAM_BOT_TOKEN，在这里直接和机器人对话。\n"
                f"示范组织「{DEMO_ROOT}」已就绪。/as cadre|secretary|admin 切换身份，"
                "输入按钮的编号或文字按下按钮，/quit 退出。\n"
                f"今天是 {console.app.bot_data.clock.now():%Y-%m-%d}，当前身份：{console.prompt()[:-2]}\n"
            )
            stdout.flush()
            while True:
                if interactive:
                    stdout.write(console.prompt())
                    stdout.flush()
                line = await asyncio.to_thread(stdin.readline)
                if not line:
                    break
                if not interactive and line.strip():
                    stdout.write(f"{console.prompt()}{line.strip()}\n")
                if not await console.handle(line):
                    break
        finally:
            await stop_services(console.app)
    return 0


def run_until_done(coro: Coroutine[Any, Any, T], grace: float = 2.0) -> T:
    """Like asyncio.run, but background tasks still pending at the end get `grace` seconds after
    cancellation instead of an unbounded wait, so a straggler cannot keep the process alive."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=grace))
        loop.close()


def run_console(services: Services, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Run the console chat until /quit or end of input."""
    root = logging.getLogger()
    if root.level < logging.WARNING:
        root.setLevel(logging.WARNING)  # keep the chat readable; errors still show
    try:
        return run_until_done(_run(services, stdin or sys.stdin, stdout or sys.stdout))
    except KeyboardInterrupt:
        return 0


__all__ = ["Console", "run_console"]
