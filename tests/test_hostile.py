"""A hostile-update corpus through the real Application, on SQLite and PostgreSQL.

Every command with hostile arguments from every role, hostile check-ins (and their edits), forged
buttons, stickers, voice and large media, groups, forwards and strangers, and exports for
organisations and members with hostile names: no unhandled exception, no check-in lost, no media
left without an answer, and no reply Telegram would refuse (too long, bad HTML, oversize button
data, a file name with control characters or past 255 bytes, a workbook that does not open).
"""

from __future__ import annotations

import io
import itertools
import re
import unicodedata
from html.parser import HTMLParser
from typing import Any

from openpyxl import load_workbook
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

# Names an organisation or a member may carry (an org name is at most 100 characters).
HOSTILE_NAMES = [
    "\u202e张\x00三\x01\n\u200f\ufffe",
    "<b>&amp;</b>\x0b李四",
    "A$\\x$支部",
    "长" * 90 + "\u2066",
    "😀" * 40,
    'A&B<第一>/:*?"|支部',
]
HUGE = 2**62  # file sizes; durations and lengths are Bot API 32-bit integers
LONG = 2**31 - 1


def _media(caption: str | None) -> list[dict[str, Any]]:
    """Message fields of every kind of media, with huge sizes and durations."""
    size = {"file_size": HUGE}
    kinds: list[dict[str, Any]] = [
        {"photo": [{"file_id": "P" * 400, "file_unique_id": "p" * 150, "width": LONG, "height": 1, **size}]},
        {"document": {"file_id": "D", "file_unique_id": "d", "file_name": "台账\u202exslx.exe", **size}},
        {"video": {"file_id": "V", "file_unique_id": "v", "width": 1, "height": 1, "duration": LONG, **size}},
        {
            "animation": {
                "file_id": "A",
                "file_unique_id": "a",
                "width": 1,
                "height": 1,
                "duration": 1,
                **size,
            }
        },
        {"audio": {"file_id": "U", "file_unique_id": "u", "duration": LONG, **size}},
        {"voice": {"file_id": "O", "file_unique_id": "o", "duration": LONG, **size}},
        {"video_note": {"file_id": "N", "file_unique_id": "n", "length": LONG, "duration": 1, **size}},
        {
            "sticker": {
                "file_id": "S",
                "file_unique_id": "s",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                **size,
            }
        },
    ]
    if caption is not None:
        for kind in kinds:
            if "sticker" not in kind and "video_note" not in kind and "voice" not in kind:
                kind["caption"] = caption
    return kinds


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
        name, data = next(((f[0], f[1]) for f in call.files.values() if f[0]), ("", b""))
        bad = [ch for ch in name if ch in '/\\:*?"<>|' or (unicodedata.category(ch)[0] in "CZ" and ch != " ")]
        if not name or len(name.encode()) > 255 or bad:
            return f"sendDocument: file name {name!r}"
        if name.endswith(".xlsx"):
            try:
                load_workbook(io.BytesIO(data))
            except Exception as error:
                return f"sendDocument: {name!r} does not open ({error})"
    return None


def unanswered(calls: list[Any], private: bool, stored: bool) -> str | None:
    """Why the bot's answer to one media update is wrong: in private, one short Chinese reply
    (or the check-in stored); in a group, at most one reply."""
    replies = [c for c in calls if c.method == "sendMessage"]
    if len(replies) > 1 or (private and not replies and not stored):
        return f"{len(replies)} replies"
    for reply in replies:
        if len(reply.text) > 300 or not re.search("[\u4e00-\u9fff]", reply.text):
            return f"reply {reply.text[:40]!r}"
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
    wrong: list[str] = []
    for user, chat, caption in itertools.product(people, (None, GROUP), (None, "今天组织主题党日，参加18人")):
        for extra in _media(caption):
            before = await _stored(harness)
            got = await harness.process({"message": message_dict(user, None, chat=chat, extra=extra)})
            calls += got
            sent += 1
            stored = await _stored(harness) > before
            if stored:
                stored_expected += 1
            why = unanswered(got, chat is None, stored)
            if why:
                wrong.append(
                    f"{user.first_name} {sorted(extra)} in {'private' if chat is None else 'group'}: {why}"
                )

    # exports for organisations and members with hostile names (file names, workbooks)
    exporters = []
    for i, name in enumerate(HOSTILE_NAMES):
        org = f"{name}{i}"
        await harness.add_org(org, "第一党委")
        member = TgUser(500 + i, name)
        await harness.add_member(member, org, role="secretary" if i % 2 else "cadre", name=name)
        exporters.append((member, org))
    for member, org in exporters:
        calls += await harness.send(member, "今天组织主题党日，参加18人")
        stored_expected += 1
        for command in ("/export", "/export 本月", f"/export 本月 {org}"):
            calls += await harness.send(member, command)
            sent += 1
        calls += await harness.send(ADMIN, f"/export 本年 {org}")
        sent += 2
    calls += await harness.send(ADMIN, "/export")
    sent += 1
    documents = [c for c in calls if c.method == "sendDocument"]

    assert sent >= 2600
    html = sum(1 for c in calls if c.params.get("parse_mode") == "HTML")
    print(
        f"hostile corpus: {sent} updates, {len(calls)} Bot API calls ({html} HTML), "
        f"{len(documents)} exports, {len(wrong)} media unanswered, {len(harness.errors)} errors"
    )
    assert not harness.errors, harness.errors[:3]
    assert wrong == [], wrong[:10]
    assert len(documents) >= 3 * len(HOSTILE_NAMES), "every export with a hostile name was sent"
    refused = [why for why in map(refusal, calls) if why]
    long = [c.text[:12] for c in calls if c.method == "sendMessage" and len(c.text) > 4096]
    assert refused == [], (refused[:10], long)
    assert await _stored(harness) >= stored_expected, "every check-in is stored"


async def _stored(harness: Any) -> int:
    async with harness.session() as session:
        return int((await session.execute(select(func.count()).select_from(DutyRecord))).scalar_one())
