"""/digest, /readiness, /export and the digest's buttons (callback prefix `digest:`).

In a group these commands answer in private: a digest names people and gaps.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re

from telegram import Update
from telegram.error import BadRequest, Forbidden

from bot.digest import OrgGone, ScopeError, asked_digest
from bot.errors import Refused
from bot.export import ExportTooLarge, asked_export
from bot.periods_parse import PERIOD_HINT, Period, last_full_week, period_of, split_period_and_org
from bot.readiness import asked_readiness
from handlers.context import Ctx
from handlers.notifier import TelegramNotifier, pairs_keyboard
from handlers.render_digest import digest_message, export_caption, parse_digest_button, readiness_parts
from handlers.review import send_review_list

log = logging.getLogger(__name__)

PRIVATE_ONLY = "摘要和台账只在私聊中发送。请先私聊我发送 /start，再发一次命令。"
SENT_PRIVATELY = "已私信发给您。"
BAD_PERIOD = f"没看懂这个期间。可以这样写：{PERIOD_HINT}"
BAD_YEAR = "请写四位年份，例如 /readiness 2026。"
STALE_BUTTON = "这个按钮已失效，请重新发送 /digest。"
_LOOKS_LIKE_PERIOD = re.compile(r"^\d|^(本|上|这|今|去)")


class _Request:
    """Who asks, where to answer, and what they may see."""

    def __init__(self, update: Update, context: Ctx) -> None:
        self.update = update
        self.context = context
        self.user_id = update.effective_user.id if update.effective_user else 0
        chat = update.effective_chat
        self.private = chat is None or chat.type == "private"
        self.services = context.bot_data
        self.today = self.services.clock.now().date()
        self.answered = False
        self.notifier = TelegramNotifier(context.bot)

    async def refuse(self, error: ScopeError) -> None:
        """The refusal of a scope (plain text) as HTML; a button naming a removed org is stale."""
        await self.say(STALE_BUTTON if isinstance(error, OrgGone) else html.escape(str(error)))

    async def say(self, text: str) -> None:
        """A short answer where the request came from (a button press: an alert, once)."""
        query = self.update.callback_query
        if query is not None and not self.answered:
            self.answered = True
            await query.answer(html.unescape(text)[:200], show_alert=True)  # alerts are plain text
        elif query is not None:
            await self.notifier.message(self.user_id, text)
        elif self.update.effective_message is not None:
            await self.update.effective_message.reply_text(text)

    async def done(self) -> None:
        """Stop a pressed button's spinner (a query too old to answer is harmless)."""
        query = self.update.callback_query
        if query is not None and not self.answered:
            self.answered = True
            try:
                await query.answer()
            except BadRequest:
                log.info("callback query expired")

    async def deliver(self, parts: list[str], buttons: list[tuple[str, str]] | None = None) -> bool:
        """Send the parts to the asker's private chat; False (and a hint) when that is not possible."""
        try:
            for i, part in enumerate(parts):
                markup = pairs_keyboard([buttons]) if buttons and i == len(parts) - 1 else None
                await self.notifier.message(self.user_id, part, markup)
        except Forbidden:
            if not self.private:
                await self.say(PRIVATE_ONLY)
            return False
        if not self.private and self.update.callback_query is None:
            await self.say(SENT_PRIVATELY)
        return True


def _org_arg(org_name: str | None) -> str | None:
    return org_name.strip() if org_name else None


async def _send_digest(
    request: _Request, period: Period, org_name: str | None = None, org_id: int | None = None
) -> None:
    try:
        report = await asked_digest(
            request.services, telegram_id=request.user_id, period=period, org_name=org_name, org_id=org_id
        )
    except ScopeError as error:
        await request.refuse(error)
        return
    message = digest_message(report)
    if await request.deliver(message.parts, message.buttons) and message.chart_png:
        await request.notifier.photo(request.user_id, message.chart_png)


async def _send_readiness(
    request: _Request, year: int, org_name: str | None = None, org_id: int | None = None
) -> None:
    try:
        readiness = await asked_readiness(
            request.services, telegram_id=request.user_id, year=year, org_name=org_name, org_id=org_id
        )
    except ScopeError as error:
        await request.refuse(error)
        return
    await request.deliver(readiness_parts(readiness))


async def _send_export(
    request: _Request, period: Period, org_name: str | None = None, org_id: int | None = None
) -> None:
    try:
        ledger = await asked_export(
            request.services, telegram_id=request.user_id, period=period, org_name=org_name, org_id=org_id
        )
    except ScopeError as error:
        await request.refuse(error)
        return
    except ExportTooLarge as error:
        await request.say(str(error))
        return
    export = ledger.export
    try:
        await request.notifier.document(request.user_id, export.data, export.filename, export_caption(ledger))
    except Forbidden:
        if not request.private:
            await request.say(PRIVATE_ONLY)
        return
    if not request.private and request.update.callback_query is None:
        await request.say(SENT_PRIVATELY)


def _period_and_org(args: list[str], today: dt.date, default: Period) -> tuple[Period | None, str | None]:
    period, org_name = split_period_and_org(args, today)
    if period is None and args and _LOOKS_LIKE_PERIOD.match(args[0]) and len(args) == 1:
        return None, None
    return period or default, _org_arg(org_name)


async def digest(update: Update, context: Ctx) -> None:
    """/digest [期间] [组织]: the digest of an org subtree (default: last week)."""
    request = _Request(update, context)
    period, org_name = _period_and_org(context.args or [], request.today, last_full_week(request.today))
    if period is None:
        await request.say(BAD_PERIOD)
        return
    await _send_digest(request, period, org_name)


async def readiness(update: Update, context: Ctx) -> None:
    """/readiness [年份] [组织]: what is met and what is missing this year."""
    request = _Request(update, context)
    args = list(context.args or [])
    year = request.today.year
    if args and re.fullmatch(r"[1-9]\d{3}年?", args[0]):
        year = int(args.pop(0)[:4])
    elif args and args[0][:1].isdigit():
        await request.say(BAD_YEAR)
        return
    await _send_readiness(request, year, _org_arg(" ".join(args)))


async def export(update: Update, context: Ctx) -> None:
    """/export [期间] [组织]: the .xlsx ledger (default: this year)."""
    request = _Request(update, context)
    period, org_name = _period_and_org(context.args or [], request.today, period_of("year", request.today))
    if period is None:
        await request.say(BAD_PERIOD)
        return
    await _send_export(request, period, org_name)


async def button(update: Update, context: Ctx) -> None:
    """[导出台账] [上一周] [年度达标预览] under a digest."""
    query = update.callback_query
    request = _Request(update, context)
    try:
        pressed = parse_digest_button((query.data or "") if query else "")
    except (IndexError, ValueError):
        await request.say(STALE_BUTTON)
        return
    if pressed.year is not None:
        await _send_readiness(request, pressed.year, org_id=pressed.org_id)
    elif pressed.period is not None and pressed.action == "x":
        await _send_export(request, pressed.period, org_id=pressed.org_id)
    elif pressed.period is not None and pressed.action == "v" and query is not None:
        try:
            await send_review_list(context, request.user_id, query.from_user, pressed.period)
        except Refused as refused:
            await request.say(refused.text)
    elif pressed.period is not None:
        await _send_digest(request, pressed.period.previous(), org_id=pressed.org_id)
    await request.done()
