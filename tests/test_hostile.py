"""A hostile-update corpus through the real Application, on SQLite and PostgreSQL.

Every command with hostile arguments from every role, hostile check-ins (and their edits), forged
buttons, stickers, groups, forwards and strangers: no unhandled exception, no check-in lost, and no
reply Telegram would refuse (too long, bad HTML, oversize button data).
"""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import func, select

from handlers.menu import COMMANDS
from helpers import TgUser, group_chat, message_dict
from storage.models import DutyRecord

ADMIN = TgUser(1, "王管理员")  # ADMIN_TELEGRAM_IDS in the test settings
SECRETARY = TgUser(11, "李书记")
CADRE = TgUser(12, "张&lt;党员>")
STRANGER = TgUser(99, "<b>路人</b>")
GROUP = group_chat(-100777, "<i>支部群</i>")

HOSTILE = [
    "",
    " ",
    "9" * 5000,
    "-1",
    "0",
    "0000",
    "99999",
    "9" * 30,
    "2026-13-45",
    "0001-01-01",
    "9999-12-31",
    "<b>粗体</b> & <script>",
    "&amp; &lt; &#0; &#x110000;",
    "A$\\x$支部",
    "\x00\x01\x1f",
    "\ud800",
    "\u202e反向\u200f",
    "😀" * 1500,
    "第一支部" * 1200,
    "第一支部",
    "cadre 999999999999",
    "每周五16:00",
    "add 每周五25:61",
    "add 0 0 31 2 *",
    "remove 99999999999999999999",
    "test 1",
    "list 99999",
    "add 2026-12-31 放假 " + "长" * 5000,
    "本月 不存在的组织",
    "2026-11 第一支部",
    "set study 99999999999 week",
]

# Check-ins that must each be stored, whatever they carry.
CHECK_INS = [
    "今天组织主题党日，参加18人" + suffix
    for suffix in (
        "",
        "\x00",
        "\ud83d",
        "<b>",
        "&",
        "😀" * 50,
        "，发现问题99999999999个",
        "。" + "认真" * 3000,
    )
]

FORGED = [
    "rec:undo:1",
    "rec:setd:1:00010101",
    "rec:setd:1:99991231",
    "rec:setd:99999999999999999999:20261127",
    "rec:dpg:1:99999999999",
    "rec:setc:1:" + "x" * 50,
    "cat:study:1:20991231",
    "cat:study:99999999999999999999:20261127",
    "cat:" + "x" * 60,
    "digest:x:y:z",
    "digest:prev:99999999999:1",
    "nudge:r:99999999999",
    "nudge:s:1",
    "nudge:e:-1",
    "",
    ":::",
    "\x00",
    "😀",
]

_ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "blockquote",
    "span",
}


class _TelegramHtml(HTMLParser):
    """What Telegram's HTML parse mode accepts: known tags, balanced; no stray '<' or bad entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in _ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")

    def handle_entityref(self, name: str) -> None:
        if name not in {"lt", "gt", "amp", "quot"}:
            self.problems.append(f"entity &{name};")


def refusal(call: Any) -> str | None:
    """Why Telegram would refuse this call, or None."""
    params = call.params
    text = params.get("text") if "text" in params else params.get("caption")
    if text is not None:
        visible = re.sub(r"<[^>]+>", "", str(text))
        limit = 1024 if "caption" in params else 4096
        if len(visible) > limit:
            return f"{call.method}: {len(visible)} characters"
        if not visible.strip() and call.method != "answerCallbackQuery":
            return f"{call.method}: empty text"
        if params.get("parse_mode") == "HTML":
            checker = _TelegramHtml()
            checker.feed(str(text))
            checker.close()
            if checker.problems or checker.stack:
                return f"{call.method}: {checker.problems or checker.stack} in {str(text)[:80]!r}"
        try:
            str(text).encode("utf-8")
        except UnicodeEncodeError:
            return f"{call.method}: text that is not UTF-8"
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        for data in re.findall(r'"callback_data":\s*"((?:[^"\\]|\\.)*)"', markup):
            if len(data.encode()) > 64:
                return f"{call.method}: callback data of {len(data.encode())} bytes"
    if call.method == "sendDocument":
        name = next((f[0] for f in call.files.values() if f[0]), "")
        if len(name.encode()) > 255 or any(ch in name for ch in "\x00\n/"):
            return f"sendDocument: file name {name!r}"
    return None


async def test_a_hostile_corpus_is_answered_and_loses_nothing(harness) -> None:
    await harness.add_org("第一党委")
    await harness.add_org("第一支部", "第一党委")
    await harness.add_member(SECRETARY, "第一支部", role="secretary")
    await harness.add_member(CADRE, "第一支部")
    await harness.send(ADMIN, "/start")
    await harness.send(SECRETARY, "/bindgroup 第一支部", chat=GROUP)

    # Past the flood guard's pace (20 a minute each), so every update is really handled.
    for name in ("send", "edit", "process"):
        original = getattr(harness, name)

        async def paced(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            harness.clock.advance(seconds=4)
            return await _original(*args, **kwargs)

        setattr(harness, name, paced)
    sent = 0
    stored_expected = 0
    calls: list[Any] = []
    people = [ADMIN, SECRETARY, CADRE, STRANGER]
    commands = [name for name, _, _ in COMMANDS] + ["nosuch", "start@dutybot_bot"]
    for user, command, argument in itertools.product(people, commands, HOSTILE):
        calls += await harness.send(user, f"/{command} {argument}".rstrip())
        sent += 1
    for user, text in itertools.product([CADRE, SECRETARY], CHECK_INS):
        calls += await harness.send(user, text)
        message = harness.last_message
        stored_expected += 1
        calls += await harness.edit(user, message, text + "，时长2小时")
        calls += await harness.send(user, text, chat=GROUP)
        stored_expected += 1
        sent += 3
    for user, text in itertools.product(people, HOSTILE):
        calls += await harness.send(user, text or "\u200b")
        calls += await harness.send(user, text or ".", chat=GROUP)
        sent += 2
    for user, data in itertools.product(people, FORGED):
        query = {
            "id": f"hostile-{sent}",
            "from": user.to_dict(),
            "chat_instance": "ci",
            "data": data,
            "message": message_dict(user, "卡片"),
        }
        calls += await harness.process({"callback_query": query})
        sent += 1
    for user in people:
        for extra in (
            {
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "s",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                }
            },
            {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 1}},
        ):
            calls += await harness.process({"message": message_dict(user, None, extra=extra)})
            sent += 1

    assert sent >= 1000
    html = sum(1 for c in calls if c.params.get("parse_mode") == "HTML")
    print(
        f"hostile corpus: {sent} updates, {len(calls)} Bot API calls ({html} HTML), {len(harness.errors)} errors"
    )
    assert not harness.errors, harness.errors[:3]
    refused = [why for why in map(refusal, calls) if why]
    long = [c.text[:12] for c in calls if c.method == "sendMessage" and len(c.text) > 4096]
    assert refused == [], (refused[:10], long)
    async with harness.session() as session:
        stored = (await session.execute(select(func.count()).select_from(DutyRecord))).scalar_one()
    assert stored >= stored_expected, "every check-in is stored"
