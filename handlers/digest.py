"""/digest, /readiness, /export and the digest's buttons (callback prefix `digest:`).

In a group these commands answer in private: a digest names people and gaps.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest, Forbidden

from bot import export as ledger
from bot.digest import NOT_MEMBER, Scope, ScopeError, digest_message, last_full_week, scope_for
from bot.export import ExportTooLarge
from bot.periods_parse import PERIOD_HINT, Period, period_from_bounds, period_of, split_period_and_org
from bot.readiness import readiness_parts
from handlers.context import Ctx
from storage import orgs as org_repo
from storage.models import Member

log = logging.getLogger(__name__)

PRIVATE_ONLY = "摘要和台账只在私聊中发送。请先私聊我发送 /start，再发一次命令。"
SENT_PRIVATELY = "已私信发给您。"
BAD_PERIOD = f"没看懂这个期间。可以这样写：{PERIOD_HINT}"
BAD_YEAR = "请写四位年份，例如 /readiness 2026。"
_LOOKS_LIKE_PERIOD = re.compile(r"^\d|^(本|上|这|今|去)")


class _Request:
    """Who asks, where to answer, and what they may see."""

    def __init__(self, update: Update, context: Ctx) -> None:
        self.update = update
        self.context = context
        self.user_id = update.effective_user.id if update.effective_user else 0
        chat = update.effective_chat
        self.private = chat is None or chat.type == "private"
        self.today = context.bot_data.clock.now().date()
        self.answered = False

    async def scope(self, org_name: str | None) -> tuple[Scope, Member | None]:
        """The asker's scope; a configured admin without a binding sees everything."""
        async with self.context.bot_data.session(read_only=True) as session:
            member = await org_repo.get_member(session=session, telegram_id=self.user_id)
            if member is None and self.user_id not in self.context.bot_data.settings.admin_telegram_ids:
                raise ScopeError(NOT_MEMBER)
            return await scope_for(session=session, member=member, org_name=org_name), member

    async def say(self, text: str) -> None:
        """A short answer where the request came from (a button press: an alert, once)."""
        query = self.update.callback_query
        if query is not None and not self.answered:
            self.answered = True
            await query.answer(html.unescape(text)[:200], show_alert=True)  # alerts are plain text
        elif query is not None:
            await self.context.bot.send_message(self.user_id, text)
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
        bot = self.context.bot
        try:
            for i, part in enumerate(parts):
                markup = None
                if buttons and i == len(parts) - 1:
                    markup = InlineKeyboardMarkup(
                        [[InlineKeyboardButton(t, callback_data=d) for t, d in buttons]]
                    )
                await bot.send_message(self.user_id, part, reply_markup=markup)
        except Forbidden:
            if not self.private:
                await self.say(PRIVATE_ONLY)
            return False
        if not self.private and self.update.callback_query is None:
            await self.say(SENT_PRIVATELY)
        return True


def _org_arg(org_name: str | None) -> str | None:
    return org_name.strip() if org_name else None


async def _send_digest(request: _Request, period: Period, org_name: str | None) -> None:
    try:
        scope, _ = await request.scope(org_name)
    except ScopeError as error:
        await request.say(str(error))
        return
    async with request.context.bot_data.session(read_only=True) as session:
        message = await digest_message(session=session, scope=scope, period=period, today=request.today)
    if await request.deliver(message.parts, message.buttons) and message.chart_png:
        await request.context.bot.send_photo(request.user_id, photo=message.chart_png)


async def _send_readiness(request: _Request, year: int, org_name: str | None) -> None:
    try:
        scope, _ = await request.scope(org_name)
    except ScopeError as error:
        await request.say(str(error))
        return
    async with request.context.bot_data.session(read_only=True) as session:
        parts = await readiness_parts(session=session, scope=scope, year=year, today=request.today)
    await request.deliver(parts)


async def _send_export(request: _Request, period: Period, org_name: str | None) -> None:
    try:
        scope, member = await request.scope(org_name)
    except ScopeError as error:
        await request.say(str(error))
        return
    services = request.context.bot_data
    try:
        async with services.session(read_only=True) as session:  # check-ins go on meanwhile
            export = await ledger.export_ledger(
                session=session,
                scope=scope,
                period=period,
                today=request.today,
                tz=services.settings.tz,
                categories=dict(services.rules.categories),
                limit=ledger.LEDGER_LIMIT,
            )
    except ExportTooLarge as error:
        await request.say(str(error))
        return
    async with services.session() as session:
        await ledger.record_export(session=session, scope=scope, period=period, actor=member, export=export)
    caption = f"📎 {scope.title} · {period.label} 台账，共 {export.records} 条记录。"
    try:
        await request.context.bot.send_document(
            request.user_id, document=InputFile(export.data, filename=export.filename), caption=caption
        )
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
    if args and re.fullmatch(r"(20\d\d|2100)年?", args[0]):
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
    parts = (query.data or "").split(":") if query else []
    try:
        action, org_id = parts[1], int(parts[2])
        if action == "r":
            year, period = int(parts[3]), None
            if not 2000 <= year <= 2100:
                raise ValueError("year out of range")
        else:
            period = period_from_bounds(dt.date.fromisoformat(parts[3]), dt.date.fromisoformat(parts[4]))
            if period.start > period.end:
                raise ValueError("empty period")
        async with context.bot_data.session(read_only=True) as session:
            org = await org_repo.get_org(session=session, org_id=org_id)
        if org is None or action not in ("r", "x", "p"):
            raise ValueError("stale button")
    except (IndexError, ValueError):
        await request.say("这个按钮已失效，请重新发送 /digest。")
        return
    if period is None:
        await _send_readiness(request, year, org.name)
    elif action == "x":
        await _send_export(request, period, org.name)
    else:
        await _send_digest(request, period.previous(), org.name)
    await request.done()
