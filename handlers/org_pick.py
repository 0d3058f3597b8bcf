"""Organisations named in commands: a name not found is answered, an ambiguous one gets its
choices as buttons; a tap runs the same command again with the chosen org (`#id`)."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.admin import AmbiguousOrg, UnknownOrg
from bot.errors import Refused
from bot.errors import shown as echo
from handlers.callbacks import LIMIT
from handlers.context import Ctx

Handler = Callable[[Update, Ctx], Coroutine[Any, Any, None]]
PREFIX = "pick"
TREE_HINT = "发送 /org list 查看组织树。"


def unknown_text(error: UnknownOrg, *, hint: bool = True) -> str:
    where = "上级组织" if error.parent else "组织"
    return f"没有找到{where}「{html.escape(echo(error.name))}」。{TREE_HINT if hint else ''}"


def _data(command: str, args: list[str], name: str, org_id: int) -> str | None:
    """The button's data: the command and its arguments with the ambiguous one as `#id`; None
    when it does not fit Telegram's 64 bytes (or an argument holds the separator)."""
    replaced, done = [], False
    for arg in args:
        if not done and arg == name:
            replaced.append(f"#{org_id}")
            done = True
        else:
            replaced.append(arg)
    data = f"{PREFIX}:{command}:{' '.join(replaced)}"
    if not done or any(":" in a for a in args) or len(data.encode()) > LIMIT:
        return None
    return data


def choices(command: str, args: list[str], error: AmbiguousOrg) -> tuple[str, InlineKeyboardMarkup | None]:
    """The answer to an ambiguous name: its paths as buttons (or as text to copy when too long)."""
    name = html.escape(echo(error.name))
    data = [_data(command, args, error.name, org_id) for org_id, _ in error.choices]
    paths = [path for _, path in error.choices]
    if all(d is not None for d in data):
        keyboard = [
            [InlineKeyboardButton(path, callback_data=d)] for path, d in zip(paths, data, strict=True) if d
        ]
        return f"有 {len(paths)} 个组织叫「{name}」，请选择：", InlineKeyboardMarkup(keyboard)
    listed = "\n".join(f"· {html.escape(p)}" for p in paths)
    return f"有 {len(paths)} 个组织叫「{name}」，请写出完整路径，例如：\n{listed}", None


def org_lookups(command: str, *, hint: bool = True) -> Callable[[Handler], Handler]:
    """Answer UnknownOrg and AmbiguousOrg raised by a command's handler."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(update: Update, context: Ctx) -> None:
            try:
                await handler(update, context)
            except UnknownOrg as error:
                raise Refused(unknown_text(error, hint=hint)) from None
            except AmbiguousOrg as error:
                text, markup = choices(command, list(context.args or []), error)
                message = update.effective_message
                if message is not None:
                    await message.reply_text(text, reply_markup=markup)

        return wrapper

    return decorate


async def pick(update: Update, context: Ctx, commands: Mapping[str, Handler]) -> None:
    """A choice button: run its command again with the org it names (`commands`: by name, each
    already wrapped with `org_lookups`)."""
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split(":", 2)
    handler = commands.get(parts[1]) if len(parts) == 3 else None
    if handler is None:
        await query.answer("这个按钮已失效，请重新发送命令。")
        return
    context.args = parts[2].split()
    try:
        await handler(update, context)
    except Refused as refusal:
        await query.answer(refusal.text[:200], show_alert=True)
        return
    await query.answer()
