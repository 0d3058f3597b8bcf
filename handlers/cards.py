"""How records look in a chat: the confirmation card, its buttons and the /my summary.

Callback data (≤ 64 bytes), all owned by the check-in path:
  rec:undo:<id>   undo every live record of the card        rec:del:<id>   undo one record
  rec:rst:<id>    restore the batch <id> was deleted with     rec:menu:<id>  actions for one record
  rec:cat:<id>    category picker   rec:setc:<id>:<code>      rec:back:<id>  back to the card
  rec:date:<id>   date picker       rec:dpg:<id>:<page>       rec:setd:<id>:<YYYYMMDD>
  cat:<code>:<message id>:<YYYYMMDD>   file an unreadable message under a picked category
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Mapping, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.entities import DutyRecord
from bot.parsing.ledger import MEETINGS
from bot.periods import WEEKDAY_NAMES
from bot.records import Totals, live
from handlers.callbacks import pack

CARD_LIMIT = 3800  # Telegram allows 4096 characters; keep room for the header and notes
DATE_PAGE = 8


def day(d: dt.date) -> str:
    return f"{d.month}月{d.day}日"


def day_with_weekday(d: dt.date) -> str:
    return f"{day(d)} 周{WEEKDAY_NAMES[d.weekday()]}"


def duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours == 0:
        return f"{minutes}分钟"
    if rest == 0:
        return f"{hours}小时"
    if rest == 30:
        return f"{hours}.5小时"
    return f"{hours}小时{rest}分钟"


def label(record: DutyRecord, categories: Mapping[str, str]) -> str:
    """【组织生活·主题党日】: the category, and the form the rule keyword names."""
    name = categories.get(record.category, record.category)
    if record.keyword and record.keyword != name:
        return f"【{html.escape(name)}·{html.escape(record.keyword)}】"
    return f"【{html.escape(name)}】"


def short(record: DutyRecord, categories: Mapping[str, str]) -> str:
    """11月27日 主题党日: for undo notices."""
    what = record.keyword or categories.get(record.category, record.category)
    return f"{day(record.date)} {html.escape(what)}"


def record_line(record: DutyRecord, categories: Mapping[str, str], photos: int = 0) -> str:
    parts = [day_with_weekday(record.date)]
    if record.participants is not None:
        parts.append(f"{record.participants}人")
    if record.duration_min:
        parts.append(duration(record.duration_min))
    if record.issues_found is not None:
        parts.append(f"发现问题{record.issues_found}个")
    if record.issues_fixed is not None:
        parts.append(f"已整改{record.issues_fixed}个")
    if photos:
        parts.append(f"📎{photos}张图")
    return label(record, categories) + " · ".join(parts)


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def _rows(buttons: Sequence[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def card(
    records: Sequence[DutyRecord], categories: Mapping[str, str], photos: Mapping[int, int] | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The card for every record of one message: live ones listed, undone ones restorable."""
    photos = photos or {}
    alive = live(records)
    gone = [r for r in records if r.deleted_at is not None]
    latest_gone = max(gone, key=lambda r: (r.deleted_at, r.id)) if gone else None
    if not alive:
        if latest_gone is None:
            return "没有记录。", None
        return undone([r for r in gone if r.deleted_at == latest_gone.deleted_at], categories)

    lines = [f"✅ 已记录 {len(alive)} 项"]
    if len(alive) == 1:
        lines.append(record_line(alive[0], categories, photos.get(alive[0].id or 0, 0)))
        rid = alive[0].id
        keyboard = [
            [
                _button("撤销", pack("rec", "undo", rid)),
                _button("改类别", pack("rec", "cat", rid)),
                _button("改日期", pack("rec", "date", rid)),
            ]
        ]
        if alive[0].category in MEETINGS:  # a meeting: its ledger can be completed in one message
            keyboard.append([_button("补全台账", pack("rv", "fill", rid))])
    else:
        shown = 0
        for n, record in enumerate(alive, 1):
            line = f"{n}.{record_line(record, categories, photos.get(record.id or 0, 0))}"
            if sum(len(x) for x in lines) + len(line) > CARD_LIMIT:
                lines.append(f"……另有 {len(alive) - shown} 项未列出")
                break
            lines.append(line)
            shown += 1
        menu = [_button(f"修改第{n}项", pack("rec", "menu", r.id)) for n, r in enumerate(alive[:shown], 1)]
        keyboard = [[_button("撤销全部", pack("rec", "undo", alive[0].id))], *_rows(menu, 3)]
    if latest_gone is not None:
        lines.append(f"↩️ 已撤销 {len(gone)} 项")
        keyboard.append([_button("恢复已撤销", pack("rec", "rst", latest_gone.id))])
    return "\n".join(lines), InlineKeyboardMarkup(keyboard)


def undone(batch: Sequence[DutyRecord], categories: Mapping[str, str]) -> tuple[str, InlineKeyboardMarkup]:
    """↩️ 已撤销（11月27日 主题党日） [恢复]"""
    text = "↩️ 已撤销（" + "；".join(short(r, categories) for r in batch) + "）"
    return text, InlineKeyboardMarkup([[_button("恢复", pack("rec", "rst", batch[0].id))]])


def record_menu(text: str, record: DutyRecord, position: int) -> tuple[str, InlineKeyboardMarkup]:
    """Actions for one record of a several-record card."""
    rid = record.id
    first = (
        _button("恢复", pack("rec", "rst", rid))
        if record.deleted_at
        else _button("撤销", pack("rec", "del", rid))
    )
    keyboard = [
        [first, _button("改类别", pack("rec", "cat", rid)), _button("改日期", pack("rec", "date", rid))],
        [_button("« 返回", pack("rec", "back", rid))],
    ]
    return f"{text}\n\n修改第{position}项：", InlineKeyboardMarkup(keyboard)


def category_buttons(
    categories: Mapping[str, str], data: Callable[[str], str]
) -> list[list[InlineKeyboardButton]]:
    """One button per category; `data` gives a category code's callback data."""
    return _rows([_button(name, data(code)) for code, name in categories.items()], 5)


def category_picker(
    text: str, record: DutyRecord, categories: Mapping[str, str]
) -> tuple[str, InlineKeyboardMarkup]:
    keyboard = category_buttons(categories, lambda code: pack("rec", "setc", record.id, code))
    keyboard.append([_button("« 返回", pack("rec", "back", record.id))])
    return f"{text}\n\n选择新的类别：", InlineKeyboardMarkup(keyboard)


def date_picker(
    text: str, record: DutyRecord, today: dt.date, page: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """Page 0: 今天 / 昨天 / 前天 / 其他日期; later pages: earlier days, DATE_PAGE at a time."""
    rid = record.id

    def pick(d: dt.date, name: str) -> InlineKeyboardButton:
        return _button(name, pack("rec", "setd", rid, f"{d:%Y%m%d}"))

    if page <= 0:
        keyboard = [
            [
                pick(today, "今天"),
                pick(today - dt.timedelta(days=1), "昨天"),
                pick(today - dt.timedelta(days=2), "前天"),
            ],
            [_button("其他日期", pack("rec", "dpg", rid, 1)), _button("« 返回", pack("rec", "back", rid))],
        ]
    else:
        first = 3 + (page - 1) * DATE_PAGE
        days = [today - dt.timedelta(days=first + i) for i in range(DATE_PAGE)]
        keyboard = _rows([pick(d, day_with_weekday(d)) for d in days], 2)
        keyboard.append(
            [_button("更早", pack("rec", "dpg", rid, page + 1)), _button("« 返回", pack("rec", "back", rid))]
        )
    return f"{text}\n\n活动是哪天开展的？", InlineKeyboardMarkup(keyboard)


def unreadable(
    categories: Mapping[str, str], message_id: int, date: dt.date
) -> tuple[str, InlineKeyboardMarkup]:
    text = "没有看出是哪类党建工作。如果这是一条工作记录，请选一个类别："
    keyboard = category_buttons(categories, lambda code: pack("cat", code, message_id, f"{date:%Y%m%d}"))
    return text, InlineKeyboardMarkup(keyboard)


def totals(t: Totals, categories: Mapping[str, str], name: str) -> str:
    """The /my summary: this week and this month by category, then the latest records."""

    def block(title: str, counts: Mapping[str, int]) -> list[str]:
        total = sum(counts.values())
        if not total:
            return [f"{title}：还没有记录"]
        parts = [f"{html.escape(categories.get(c, c))} {counts[c]}" for c in categories if counts.get(c)]
        parts += [f"{html.escape(c)} {n}" for c, n in counts.items() if c not in categories and n]
        return [f"{title}：{total} 项", "· " + " · ".join(parts)]

    lines = [f"📋 {html.escape(name)}的记录"]
    lines += block(f"本周（{day(t.week_start)}—{day(t.week_end)}）", t.week)
    lines += block(f"本月（{t.month_start.month}月）", t.month)
    if t.recent:
        lines.append("最近：")
        lines += [f"· {record_line(r, categories)}" for r in t.recent]
    return "\n".join(lines)
