"""Who is writing, may they do this, and are they writing too fast.

- `resolve` finds the sender's Member. Bootstrap admins (ADMIN_TELEGRAM_IDS) who are not members
  yet are bound to the first root organisation as admins the first time they write; while no
  organisation exists they are admins without a Member row and `/org add` binds them to the first one.
- The flood guard counts every message per user in a sliding window (injected clock). Over the
  limit, check-ins are still stored but get no card of their own, commands are not run, and the user
  gets one polite notice per window saying so: nothing is lost silently.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update, User
from telegram.constants import ChatType
from telegram.error import Forbidden
from telegram.ext import ApplicationHandlerStop

from bot.services import Services
from handlers.context import Ctx
from storage import orgs
from storage.models import Member, Role

log = logging.getLogger(__name__)

NOT_BOUND = "您还没有加入组织。请向本单位党务管理员索取邀请链接或邀请码，然后发送 /join 邀请码。"
NEED_ROLE = {
    Role.secretary: "这个命令需要书记或管理员权限。",
    Role.admin: "这个命令需要管理员权限。",
}
FLOOD_NOTICE = "您发得有点快，我先不逐条回复了：工作记录照常保存，命令请过一会儿再发。稍后发送 /my 可以查看已保存的记录。"
OPEN_PRIVATE = "请先私聊我发送 /start，我再把结果私信给您。"
ROLE_RANK = {Role.cadre: 0, Role.secretary: 1, Role.admin: 2}


class Refused(Exception):
    """Leave a handler (and its unit of work) early with an answer for the user. The answer is
    sent after the transaction has ended: never hold the database while talking to Telegram."""

    def __init__(self, text: str, *, alert: bool = False) -> None:
        super().__init__(text)
        self.text, self.alert = text, alert


def answer_refusals(
    handler: Callable[[Update, Ctx], Awaitable[None]],
) -> Callable[[Update, Ctx], Awaitable[None]]:
    """Answer a Refused raised by `handler`: a reply to the message, or an alert on a button."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: Ctx) -> None:
        try:
            await handler(update, context)
        except Refused as refusal:
            if update.callback_query is not None:
                await update.callback_query.answer(refusal.text, show_alert=refusal.alert)
            elif update.effective_message is not None:
                await update.effective_message.reply_text(refusal.text)

    return wrapper


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


def display_name(user: User) -> str:
    return (user.full_name or user.username or str(user.id))[:200]


def is_bootstrap_admin(services: Services, telegram_id: int) -> bool:
    return telegram_id in services.settings.admin_telegram_ids


async def resolve(*, session: AsyncSession, services: Services, user: User) -> Member | None:
    """The sender's active Member, binding a bootstrap admin to the root organisation on first use."""
    member = await orgs.get_member(session=session, telegram_id=user.id)
    if member is not None and member.active:
        if member.unreachable:
            member.unreachable = False  # they wrote to us, so we can reach them again
        if member.role != Role.admin and is_bootstrap_admin(services, user.id):
            member.role = Role.admin
        return member
    if not is_bootstrap_admin(services, user.id):
        return None
    root = await orgs.first_root_org(session=session)
    if root is None:
        return None
    if member is None:
        member = await orgs.create_member(
            session=session,
            telegram_id=user.id,
            name=display_name(user),
            org=root,
            role=Role.admin,
            username=user.username,
        )
    else:
        member.active, member.role, member.org_id = True, Role.admin, root.id  # type: ignore[assignment]
    await orgs.audit(
        session=session,
        actor=member,
        action="member.bootstrap_admin",
        object_type="member",
        object_id=member.id,
    )
    return member


def has_role(member: Member | None, needed: str) -> bool:
    return member is not None and ROLE_RANK.get(member.role, 0) >= ROLE_RANK[needed]  # type: ignore[index]


def flooding(context: Ctx, user_id: int) -> bool:
    """Whether this user's current message is over the limit (counted by the guard)."""
    return context.bot_data.flood.over(user_id)


async def notify_flood_once(update: Update, context: Ctx) -> None:
    user = update.effective_user
    message = update.effective_message
    if user is None or message is None:
        return
    now = context.bot_data.clock.now().timestamp()
    if context.bot_data.flood.should_notify(user.id, now):
        await message.reply_text(FLOOD_NOTICE)


async def flood_guard(update: Update, context: Ctx) -> None:
    """Count each new message; over the limit, stop commands here (check-ins go on, card-less)."""
    message = update.message
    user = update.effective_user
    if message is None or user is None or user.is_bot:
        return
    now = context.bot_data.clock.now().timestamp()
    if not context.bot_data.flood.hit(user.id, now):
        return
    text = message.text or ""
    if text.startswith("/"):
        await notify_flood_once(update, context)
        raise ApplicationHandlerStop


async def reply_private(update: Update, context: Ctx, text: str, **kwargs: object) -> None:
    """Answer in the private chat: data is never shown in a group."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    if is_private(update):
        await message.reply_text(text, **kwargs)  # type: ignore[arg-type]
        return
    try:
        await context.bot.send_message(user.id, text, **kwargs)  # type: ignore[arg-type]
    except Forbidden:
        await message.reply_text(f"{html.escape(display_name(user))}，{OPEN_PRIVATE}")
        return
    await message.reply_text("已私信发给您。")
