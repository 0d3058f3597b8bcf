"""The console chat: with no token, talk to the real Application in the terminal.

The same Application, handlers, database code and scheduler jobs run; the Bot API is the in-memory
one, and what the bot sends is printed (HTML tags stripped, buttons as [n 标签]). A demo
organisation is created once: a cadre, a secretary, an admin and a newcomer who is not bound yet,
and a group chat bound to the branch.

- `/as 书记` switches person (cadre/secretary/admin/newcomer, or anyone's name) and shows what the
  bot sent them since they last looked; `/inbox` counts what is unread, per person.
- `/clock` shows the console's time; `/clock +1d`, `/clock 周五 16:00`, `/clock 2026-12-31 09:00`
  move it, and every scheduler job due on the way runs in order (reminders, digests, escalations,
  snoozes), its messages printed or kept in the recipients' inboxes.
- `/edit 文本` edits your last message; `/photo [说明]` sends a sample photo (without a caption it
  replies to the last card, which attaches it); `/group` switches to the branch's group and back.
- Charts and spreadsheets the bot sends are saved under data/console/ and their paths printed.

Type a button's number or label to press it; `/quit` (or end of input) leaves. Works under a pipe.
"""

from __future__ import annotations

import asyncio
import codecs
import datetime as dt
import html
import itertools
import logging
import re
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TextIO, TypeVar

from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import parse_jump
from bot.demo import build_demo, chat_names, job_label, member_by_name, seed_demo, simulate_reports
from bot.recurrence import format_fire
from bot.services import Services
from handlers.memory_api import ApiCall, MemoryBotAPI

DEMO_ROOT = "示范党委"
DEMO_BRANCH = "第一支部"
GROUP_CHAT_ID = -1009000001
GROUP_TITLE = "第一支部工作群"
FILES_DIR = Path("data/console")


@dataclass(frozen=True)
class Persona:
    telegram_id: int
    name: str
    org: str | None  # None: not bound to any org (a newcomer)
    role: str


PERSONAS: dict[str, Persona] = {
    "cadre": Persona(900001, "张党员", DEMO_BRANCH, "cadre"),
    "secretary": Persona(900002, "李书记", DEMO_BRANCH, "secretary"),
    "admin": Persona(900003, "王管理员", DEMO_ROOT, "admin"),
    "newcomer": Persona(900004, "赵新人", None, "cadre"),
}
ROLE_LABEL = {"cadre": "党员", "secretary": "书记", "admin": "管理员", "newcomer": "未加入"}
# /as accepts the role in English or Chinese, or the persona's name (other members by name too).
PERSONA_ALIASES = {
    **{key: key for key in PERSONAS},
    **{label: key for key, label in ROLE_LABEL.items()},
    "新人": "newcomer",
    "guest": "newcomer",
    **{person.name: key for key, person in PERSONAS.items()},
}
BOT_NAME = "党建助手"
SHOWN_METHODS = {"sendMessage", "editMessageText", "editMessageCaption", "sendPhoto", "sendDocument"}
# Housekeeping jobs that repeat this often or more run once at the end of a jump (as APScheduler
# coalesces missed runs), not every few minutes of it.
COALESCE_BELOW = dt.timedelta(hours=1)
MAX_FIRINGS_PER_JUMP = 5_000
MAX_JUMP = dt.timedelta(days=366)
SAMPLE_PHOTO = "CONSOLE_SAMPLE_PHOTO"
_TAG = re.compile(r"<[^>]+>")
T = TypeVar("T")
log = logging.getLogger(__name__)

HELP = (
    "控制台命令：/as 身份（党员、书记、管理员、新人，或任何成员的姓名）· /inbox 各人未读 · "
    "/clock 查看或拨动时间（/clock +1d、/clock 周五 16:00、/clock 2026-12-31 09:00）· "
    "/edit 文本 修改上一条 · /photo [说明] 发示例图片 · /group 进出支部群 · /quit 退出。"
    "其余输入原样发给机器人；输入按钮的编号或文字即按下按钮。"
)


class MovableClock(Protocol):
    tz: Any

    def now(self) -> dt.datetime: ...

    def set(self, when: dt.datetime) -> None: ...


def plain(text: str) -> str:
    return html.unescape(_TAG.sub("", text))


@dataclass
class Chat:
    """One chat as the console sees it: its buttons, last card and last message sent."""

    buttons: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    last_card: dict[str, Any] | None = None
    last_sent: dict[str, Any] | None = None


class Console:
    """Feeds typed lines to the Application as updates and prints what the bot sends."""

    def __init__(self, services: Services, out: TextIO, *, files_dir: Path = FILES_DIR) -> None:
        from handlers.app import build_application

        if not callable(getattr(services.clock, "set", None)):
            raise TypeError("the console needs a clock it can move (bot.clock.OffsetClock)")
        self.clock: MovableClock = services.clock  # type: ignore[assignment]
        self.out = out
        self.files_dir = files_dir
        self.api = MemoryBotAPI()
        self.app = build_application(services, request=self.api, rate_limiter=None)
        self.api.listeners.append(self._arrived)
        self.persona = PERSONAS["cadre"]
        self.in_group = False
        self.chats: dict[int, Chat] = {}
        self.inbox: dict[int, list[ApiCall]] = {}
        self.names: dict[int, str] = {}
        self._files = itertools.count(1)
        # Virtual scheduler state: the last time each job ran, and where time stood.
        self._fired: dict[str, dt.datetime] = {}
        self._cursor = self.clock.now()
        # With the demo office: when it was built, and up to when its people have reported.
        self._demo_built: dt.datetime | None = None
        # Update and message ids only grow, across sessions too: the database keeps earlier
        # sessions' check-ins and commands, and a reused id would read as Telegram redelivering.
        # Message ids stay below 2**31 as Telegram's do: eight per second since 2026 (room for years).
        self._update_ids = itertools.count(time.time_ns() // 1_000_000)
        self._message_ids = itertools.count(max(1, int(time.time()) - 1_767_225_600) * 8)
        self._callback_ids = itertools.count(1)

    # --- life cycle --------------------------------------------------------------------------
    @asynccontextmanager
    async def running(self, *, migrate: bool = True, demo: bool = False) -> AsyncIterator[Console]:
        """The application started with its services, the demo seeded and the scheduler's
        start-up work (catch-up) done; stopped on exit."""
        from bot.outbox import Pacer
        from handlers.app import start_services, stop_services

        services: Services = self.app.bot_data
        async with self.app:
            await services.open(migrate=migrate)
            if demo:
                built = await build_demo(
                    services,
                    root=DEMO_ROOT,
                    personas=[(p.telegram_id, p.name, p.org, p.role) for p in PERSONAS.values() if p.org],
                )
                if built is None:
                    self._note(f"这个数据库里已经有「{DEMO_ROOT}」，沿用其中的数据，不再生成示范单位。")
                else:
                    self._demo_built = self.clock.now()
            await start_services(self.app, migrate=False)
            try:
                if services.scheduler is not None:
                    # The in-memory Bot API has no send limits to respect.
                    services.scheduler.outbox.pacer = Pacer(1_000_000, per_chat=0)
                await self.seed()
                await self._settle()
                self._cursor = self.clock.now()
                yield self
            finally:
                await stop_services(self.app)

    async def _settle(self) -> None:
        """Wait for the scheduler's start-up catch-up so its messages come before the prompt."""
        scheduler = self.app.bot_data.scheduler
        task = scheduler.catch_up_task if scheduler is not None else None
        if task is not None:
            await asyncio.wait({task}, timeout=60)

    async def seed(self) -> None:
        """The demo organisation and its people, created once; the group bound to the branch."""
        services: Services = self.app.bot_data
        await seed_demo(
            services,
            root=DEMO_ROOT,
            branch=DEMO_BRANCH,
            people=[(p.telegram_id, p.name, p.org == DEMO_ROOT, p.role) for p in PERSONAS.values() if p.org],
            group_chat_id=GROUP_CHAT_ID,
        )
        self.names = await chat_names(services)
        self.names.setdefault(PERSONAS["newcomer"].telegram_id, PERSONAS["newcomer"].name)
        self.names[GROUP_CHAT_ID] = GROUP_TITLE

    # --- output ------------------------------------------------------------------------------
    @property
    def chat_id(self) -> int:
        return GROUP_CHAT_ID if self.in_group else self.persona.telegram_id

    def _chat(self, chat_id: int) -> Chat:
        return self.chats.setdefault(chat_id, Chat())

    def _arrived(self, call: ApiCall) -> None:
        if call.method == "answerCallbackQuery":
            if call.params.get("text"):
                self._print(f"（提示）{call.params['text']}")
            return
        if call.method not in SHOWN_METHODS:
            return
        self._save_files(call)
        chat_id = call.chat_id
        if chat_id is None or chat_id == self.chat_id:
            self._display(call)
        else:
            self.inbox.setdefault(chat_id, []).append(call)

    def _save_files(self, call: ApiCall) -> None:
        """A chart or spreadsheet the bot sends is written under files_dir; the path is kept."""
        saved = []
        for field_name, (filename, data) in call.files.items():
            if not data:
                continue
            self.files_dir.mkdir(parents=True, exist_ok=True)
            name = _file_name(filename, data, field_name)
            stem = self.clock.now().strftime("%Y%m%d-%H%M")
            path = self.files_dir / f"{stem}-{next(self._files):03d}-{Path(name).name}"
            path.write_bytes(data)
            saved.append(str(path))
        call.params.setdefault("_saved", saved)

    def _render(self, call: ApiCall, *, chat: Chat, record: bool = True) -> str:
        prefix = "（已更新）" if call.method.startswith("edit") else ""
        kind = {"sendPhoto": "图片", "sendDocument": "文件"}.get(call.method)
        saved: list[str] = call.params.get("_saved") or []
        if kind:
            prefix = f"[{kind}{'：' + saved[0] if saved else ''}] "
        rows = [prefix + plain(call.text)]
        if call.buttons:
            pressable = []
            for row in call.buttons:
                labels = []
                for button in row:
                    if "callback_data" not in button:
                        continue
                    pressable.append((button["text"], button["callback_data"], call.result))
                    labels.append(f"[{len(pressable)} {button['text']}]")
                rows.append(" ".join(labels))
            if record:
                chat.buttons = pressable
                if any(data.startswith("rec:") for _, data, _ in pressable) and isinstance(call.result, dict):
                    chat.last_card = call.result
        return "\n".join(rows)

    def _display(self, call: ApiCall) -> None:
        chat = self._chat(call.chat_id if call.chat_id is not None else self.chat_id)
        self._print(self._render(call, chat=chat))

    def _print(self, text: str) -> None:
        lines = text.splitlines() or [""]
        pad = " " * (len(BOT_NAME) * 2 + 3)
        self.out.write(f"{BOT_NAME} › {lines[0]}\n" + "".join(f"{pad}{line}\n" for line in lines[1:]))
        self.out.flush()

    def _note(self, text: str) -> None:
        """The console's own words (not the bot's)."""
        self.out.write(f"（控制台）{text}\n")
        self.out.flush()

    # --- identity ----------------------------------------------------------------------------
    @property
    def user_id(self) -> int:
        return self.persona.telegram_id

    def _user(self) -> dict[str, Any]:
        return {"id": self.persona.telegram_id, "is_bot": False, "first_name": self.persona.name}

    def _chat_dict(self) -> dict[str, Any]:
        if self.in_group:
            return {"id": GROUP_CHAT_ID, "type": "supergroup", "title": GROUP_TITLE}
        return {"id": self.persona.telegram_id, "type": "private", "first_name": self.persona.name}

    def prompt(self) -> str:
        where = f" @ {GROUP_TITLE}" if self.in_group else ""
        label = ROLE_LABEL.get(self.persona.role, self.persona.role)
        if self.persona.org is None:
            label = ROLE_LABEL["newcomer"]
        return f"{self.persona.name}（{label}）{where}> "

    def _name(self, chat_id: int) -> str:
        return self.names.get(chat_id, f"用户{chat_id}")

    # --- input -------------------------------------------------------------------------------
    async def handle(self, line: str) -> bool:
        """Act on one typed line; False when the user wants to leave. Blank and whitespace lines
        are sent as messages, as a Telegram client would."""
        text = line.rstrip("\r\n")
        command, _, rest = text.strip().partition(" ")
        await self.advance(self.clock.now())  # what fell due while the user was typing
        if command in {"/quit", "/exit"}:
            return False
        local: dict[str, Callable[[str], Coroutine[Any, Any, None]]] = {
            "/as": self._switch,
            "/inbox": self._inbox,
            "/clock": self._clock,
            "/edit": self._edit,
            "/photo": self._photo,
            "/group": self._group,
            "/console": self._help,
        }
        if command in local:
            await local[command](rest.strip())
            return True
        button = self._button(text.strip())
        if button is not None:
            await self._press(*button)
        else:
            await self._send(text)
        await self.advance(self.clock.now())
        return True

    async def _help(self, _: str) -> None:
        self._note(HELP)

    def _button(self, text: str) -> tuple[str, str, dict[str, Any]] | None:
        buttons = self._chat(self.chat_id).buttons
        if text.isdigit() and 1 <= int(text) <= len(buttons):
            return buttons[int(text) - 1]
        return next((b for b in buttons if b[0] == text), None) if text else None

    async def _switch(self, wanted: str) -> None:
        key = PERSONA_ALIASES.get(wanted.lower(), "")
        persona = PERSONAS.get(key)
        if persona is None and wanted:
            found = await member_by_name(self.app.bot_data, wanted)
            if found is not None:
                persona = Persona(found[0], found[1], "", found[2])
        if persona is None:
            self._note(
                "用法：/as 党员 | 书记 | 管理员 | 新人（也可以写 cadre、secretary、admin，或成员的姓名）"
            )
            return
        self.persona = persona
        self.in_group = False
        self._note(f"现在的身份：{self.prompt()[:-2]}")
        self._show_unread(persona.telegram_id)

    def _show_unread(self, chat_id: int) -> None:
        waiting = self.inbox.pop(chat_id, [])
        if not waiting:
            return
        self._note(f"上次之后收到 {len(waiting)} 条：")
        for call in waiting:
            self._display(call)

    async def _inbox(self, _: str) -> None:
        counts = {chat: len(calls) for chat, calls in self.inbox.items() if calls}
        if not counts:
            self._note("没有未读消息。")
            return
        rows = [f"{self._name(chat)}：{n} 条" for chat, n in sorted(counts.items(), key=lambda kv: -kv[1])]
        self._note("未读消息（/as 姓名 查看）：\n" + "\n".join(f"  {row}" for row in rows))

    async def _group(self, _: str) -> None:
        self.in_group = not self.in_group
        if self.in_group:
            self._note(
                f"进入「{GROUP_TITLE}」（已绑定{DEMO_BRANCH}），以{self.persona.name}的身份发言；再发 /group 回到私聊。"
            )
            self._show_unread(GROUP_CHAT_ID)
        else:
            self._note(f"回到和机器人的私聊（{self.persona.name}）。")

    # --- time --------------------------------------------------------------------------------
    async def _clock(self, arg: str) -> None:
        now = self.clock.now()
        if not arg:
            upcoming = self._upcoming(now)
            nxt = ""
            if upcoming is not None:
                nxt = "；下一项：" + await job_label(self.app.bot_data, upcoming[1], upcoming[0])
            self._note(f"现在是 {now:%Y-%m-%d} {format_fire(now)}{nxt}")
            return
        target = parse_jump(arg, now)
        if target is None:
            self._note(
                "看不懂这个时间。例：/clock +1d、/clock +2h、/clock 周五 16:00、/clock 2026-12-31 09:00"
            )
            return
        if target <= now:
            self._note("时间只能往前拨（已经发生的提醒不会重来）。")
            return
        if target - now > MAX_JUMP:
            self._note("一次最多拨一年；要走得更远，请分几次拨。")
            return
        self._note(f"时间拨到 {target:%Y-%m-%d} {format_fire(target)}……")
        fired = await self.advance(target)
        self._note(f"现在是 {target:%Y-%m-%d} {format_fire(target)}（途中运行 {fired} 项计划任务）")

    def _jobs(self) -> list[Any]:
        queue = self.app.job_queue
        return list(queue.jobs()) if queue is not None else []

    def _next_fire(self, job: Any, after: dt.datetime) -> dt.datetime | None:
        aps = job.job
        last = self._fired.get(aps.id)
        if isinstance(aps.trigger, DateTrigger) and last is not None:
            return None
        nxt: dt.datetime | None = aps.trigger.get_next_fire_time(last, after)
        if nxt is not None and nxt < after:
            nxt = after  # missed while nothing ran (coalesced, as APScheduler does)
        return nxt

    @staticmethod
    def _coalesced(job: Any) -> bool:
        trigger = job.job.trigger
        return isinstance(trigger, IntervalTrigger) and trigger.interval < COALESCE_BELOW

    def _upcoming(self, now: dt.datetime) -> tuple[dt.datetime, str] | None:
        times = [
            (when, job.name or "")
            for job in self._jobs()
            if not self._coalesced(job) and (when := self._next_fire(job, now)) is not None
        ]
        return min(times) if times else None

    async def advance(self, target: dt.datetime) -> int:
        """Move the clock to `target`, running every job due on the way in time order (each at
        its own fire time); returns how many ran. Frequent housekeeping runs once, at the end."""
        fired = 0
        while fired < MAX_FIRINGS_PER_JUMP:
            due = [
                (when, job.name or "", job)
                for job in self._jobs()
                if not self._coalesced(job)
                and (when := self._next_fire(job, self._cursor)) is not None
                and when <= target
            ]
            if not due:
                break
            when, name, job = min(due, key=lambda item: (item[0], item[1]))
            if when > self.clock.now():
                self.clock.set(when)
            await self._office_reports(when)
            self._cursor = when
            self._fired[job.job.id] = when
            fired += 1
            await self._run_job(job, name, when, announce=not name.startswith("checkin:"))
        for job in self._jobs():
            if self._coalesced(job) and (when := self._next_fire(job, self._cursor)) is not None:
                if when <= target:
                    self._fired[job.job.id] = target
                    await job.run(self.app)
        if target > self.clock.now():
            self.clock.set(target)
        await self._office_reports(target)
        self._cursor = max(self._cursor, target)
        return fired

    async def _office_reports(self, until: dt.datetime) -> None:
        """The demo office goes on working while time moves: its people's reports up to `until`
        are stored before any job that runs then (the console's own people only do what is typed)."""
        if self._demo_built is None or until <= self._cursor:
            return
        await simulate_reports(self.app.bot_data, start=self._cursor, end=until, built_at=self._demo_built)

    async def _run_job(self, job: Any, name: str, when: dt.datetime, *, announce: bool) -> None:
        before = len(self.api.calls)
        shown = {k: len(v) for k, v in self.inbox.items()}
        if announce:
            self._note("⏰ " + await job_label(self.app.bot_data, name, when))
        await job.run(self.app)
        if isinstance(job.job.trigger, DateTrigger):
            job.schedule_removal()
        if not announce:
            return
        others = {
            chat: len(calls) - shown.get(chat, 0)
            for chat, calls in self.inbox.items()
            if len(calls) > shown.get(chat, 0)
        }
        if others:
            listed = "、".join(
                f"{self._name(c)} {n}" for c, n in sorted(others.items(), key=lambda kv: -kv[1])[:8]
            )
            more = "……" if len(others) > 8 else ""
            self._note(f"   已发给 {len(others)} 人：{listed}{more}（/as 姓名 查看）")
        elif len(self.api.calls) == before:
            self._note("   （没有需要发送的消息）")

    # --- sending -----------------------------------------------------------------------------
    def _now(self) -> int:
        return int(self.clock.now().timestamp())

    async def _process(self, data: dict[str, Any]) -> None:
        from telegram import Update

        data = {"update_id": next(self._update_ids), **data}
        await self.app.process_update(Update.de_json(data, self.app.bot))

    def _message(self, **content: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": self._now(),
            "chat": self._chat_dict(),
            "from": self._user(),
            **content,
        }
        self.api.saw(message)
        return message

    async def _send(self, text: str) -> None:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            length = len(text.split()[0].encode("utf-16-le")) // 2
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        message = self._message(**content)
        self._chat(self.chat_id).last_sent = message
        await self._process({"message": message})

    async def _edit(self, text: str) -> None:
        last = self._chat(self.chat_id).last_sent
        if last is None or not text:
            self._note("用法：/edit 新的文字（修改您在这个对话里发的上一条消息）")
            return
        key = "caption" if "caption" in last else "text"
        edited = {**last, key: text, "edit_date": self._now()}
        if key == "text":
            edited.pop("entities", None)
        self._chat(self.chat_id).last_sent = edited
        self.api.saw(edited)
        await self._process({"edited_message": edited})

    async def _photo(self, caption: str) -> None:
        n = next(self._message_ids)
        content: dict[str, Any] = {
            "photo": [
                {"file_id": f"{SAMPLE_PHOTO}_{n}", "file_unique_id": f"S{n}", "width": 800, "height": 600}
            ]
        }
        chat = self._chat(self.chat_id)
        if caption:
            content["caption"] = caption
        elif chat.last_card is not None:
            content["reply_to_message"] = chat.last_card
            self._note("（示例图片，回复上一张卡片）")
        message = self._message(**content)
        if caption:
            chat.last_sent = message
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


_MAGIC = ((b"\x89PNG", ".png"), (b"PK\x03\x04", ".xlsx"), (b"%PDF", ".pdf"), (b"\xff\xd8", ".jpg"))


def _file_name(filename: str | None, data: bytes, field_name: str) -> str:
    """The name a sent file is saved under: its own when it has an extension, else one from its
    content (PTB names an unnamed upload after its MIME type)."""
    if filename and "." in filename and not filename.startswith("application."):
        return Path(filename).name
    suffix = next((ext for magic, ext in _MAGIC if data.startswith(magic)), ".bin")
    return f"{field_name}{suffix}"


class LineReader:
    """Lines from stdin that never break on bytes: an incomplete or invalid UTF-8 sequence (a
    terminal cutting a long paste mid-character) becomes U+FFFD, and lines of any length come
    through whole. A terminal gets GNU readline (no 4,096-byte line limit, line editing)."""

    def __init__(self, stdin: TextIO) -> None:
        self.stdin = stdin
        self.interactive = stdin.isatty()
        self._buffer: BinaryIO | None = getattr(stdin, "buffer", None)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        if self.interactive:
            try:
                import readline  # noqa: F401  # input() then reads in raw mode, without the tty line limit
            except ImportError:  # pragma: no cover - platforms without readline
                pass

    def read(self, prompt: str) -> str | None:
        """One line (with its newline when it had one), or None at the end of input."""
        if self.interactive:
            try:
                return input(prompt) + "\n"
            except EOFError:
                return None
            except UnicodeDecodeError:
                return "\ufffd\n"
        if self._buffer is None:
            return self.stdin.readline() or None
        raw = self._buffer.readline()
        if not raw:
            tail = self._decoder.decode(b"", final=True)
            return tail or None
        return self._decoder.decode(raw, final=raw.endswith(b"\n"))


INTRO = (
    "dutybot 控制台：没有配置 TELEGRAM_BOT_TOKEN，在这里直接和机器人对话。\n"
    "示范组织「{root}」已就绪。/as 党员|书记|管理员|新人 切换身份，/clock +1d 拨动时间，"
    "/inbox 看谁有未读，/console 看全部控制台命令，/quit 退出。\n"
    "现在是 {now:%Y-%m-%d} {fire}，当前身份：{who}\n"
)


async def _run(services: Services, stdin: TextIO, stdout: TextIO, *, demo: bool, files_dir: Path) -> int:
    console = Console(services, stdout, files_dir=files_dir)
    reader = LineReader(stdin)
    async with console.running(demo=demo):
        now = console.clock.now()
        stdout.write(INTRO.format(root=DEMO_ROOT, now=now, fire=format_fire(now), who=console.prompt()[:-2]))
        stdout.flush()
        while True:
            line = await asyncio.to_thread(reader.read, console.prompt())
            if line is None:
                break
            if not reader.interactive:
                stdout.write(f"{console.prompt()}{line.rstrip(chr(10))}\n")
            if not await console.handle(line):
                break
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


def run_console(
    services: Services,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    *,
    demo: bool = False,
    files_dir: Path = FILES_DIR,
) -> int:
    """Run the console chat until /quit or end of input (`demo`: build the demo office first)."""
    root = logging.getLogger()
    if root.level < logging.WARNING:
        root.setLevel(logging.WARNING)  # keep the chat readable; errors still show
    try:
        return run_until_done(
            _run(services, stdin or sys.stdin, stdout or sys.stdout, demo=demo, files_dir=files_dir)
        )
    except KeyboardInterrupt:
        return 0


__all__ = ["Console", "LineReader", "run_console"]
