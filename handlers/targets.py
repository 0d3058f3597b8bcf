"""/target list|set|remove: quantified targets (量化指标). Admins configure; secretaries may list."""

from __future__ import annotations

import html

from telegram import Update
from telegram.ext import Application

from bot import targets
from handlers.context import Ctx
from handlers.guards import NEED_ROLE
from storage import orgs
from storage import targets as repo
from storage.models import Member, Role

NOT_BOUND = "您还没有加入组织。请向本单位党务管理员索取邀请链接或邀请码，然后发送 /join 邀请码。"
NO_RIGHT_LIST = NEED_ROLE[Role.secretary]
NO_RIGHT_SET = NEED_ROLE[Role.admin]
USAGE = (
    "量化指标的用法：\n"
    "/target list 查看全部指标\n"
    "/target set 支委会 每月 1 次 支部\n"
    "/target set 谈心谈话 每月 2 次 书记\n"
    "/target remove 编号"
)
_LIST_WORDS = {"list", "ls", "列表", "查看", "清单"}
_SET_WORDS = {"set", "add", "设置", "添加", "新增", "修改"}
_REMOVE_WORDS = {"remove", "rm", "del", "delete", "删除", "移除", "取消"}


async def current_member(update: Update, context: Ctx) -> tuple[Member | None, bool]:
    """The sender's active Member row (or None) and whether they are an admin.

    Telegram ids listed in ADMIN_TELEGRAM_IDS are admins even before they are bound to an org.
    """
    user = update.effective_user
    if user is None:
        return None, False
    async with context.bot_data.session() as session:
        member = await orgs.get_member(session=session, telegram_id=user.id)
    if member is not None and not member.active:
        member = None
    is_admin = (member is not None and member.role == "admin") or (
        user.id in context.bot_data.settings.admin_telegram_ids
    )
    return member, is_admin


def _examples() -> str:
    return "\n".join(targets.SET_EXAMPLES)


async def target(update: Update, context: Ctx) -> None:
    """Dispatch /target to list, set or remove."""
    message = update.effective_message
    if message is None:
        return
    member, is_admin = await current_member(update, context)
    args = context.args or []
    verb = args[0].lower() if args else "list"
    if member is None and not is_admin:
        await message.reply_text(NOT_BOUND)
        return
    if verb in _LIST_WORDS:
        if not is_admin and (member is None or member.role != "secretary"):
            await message.reply_text(NO_RIGHT_LIST)
            return
        await message.reply_text(await _list_text(context, is_admin=is_admin))
        return
    if verb not in _SET_WORDS | _REMOVE_WORDS:
        await message.reply_text(f"没看懂“{html.escape(args[0])}”。\n{USAGE}")
        return
    if not is_admin:
        await message.reply_text(NO_RIGHT_SET)
        return
    if verb in _SET_WORDS:
        await message.reply_text(await _set(context, member, " ".join(args[1:])))
    else:
        await message.reply_text(await _remove(context, member, args[1:]))


async def _list_text(context: Ctx, *, is_admin: bool) -> str:
    categories = context.bot_data.rules.categories
    async with context.bot_data.session() as session:
        rows = await repo.list_targets(session=session)
    if not rows:
        hint = f"\n添加示例：\n{_examples()}" if is_admin else ""
        return f"还没有量化指标。{hint}"
    lines = [f"📋 量化指标（共 {len(rows)} 项）"]
    lines += [html.escape(targets.target_summary(t, categories)) for t in rows]
    if is_admin:
        lines.append("修改：/target set 支委会 每月 2 次 支部 · 删除：/target remove 编号")
    return "\n".join(lines)


async def _set(context: Ctx, actor: Member | None, text: str) -> str:
    rules = context.bot_data.rules
    keywords = {word: kw.category for word, kw in rules.keywords.items()}
    try:
        spec = targets.parse_target_spec(text, categories=rules.categories, keywords=keywords)
    except targets.TargetSpecError as error:
        return f"{html.escape(str(error))}。\n可以这样写：\n{_examples()}"
    async with context.bot_data.session() as session:
        row, created = await repo.set_target(session=session, actor=actor, **spec.fields())
        summary = targets.target_summary(row, rules.categories)
    return f"{'已添加' if created else '已更新'}：{html.escape(summary)}"


async def _remove(context: Ctx, actor: Member | None, args: list[str]) -> str:
    raw = args[0].lstrip("#＃") if args else ""
    if not raw.isdigit():
        return "请写要删除的指标编号，例如：/target remove 3（编号见 /target list）"
    async with context.bot_data.session() as session:
        row = await repo.remove_target(session=session, target_id=int(raw), actor=actor)
        summary = targets.target_summary(row, context.bot_data.rules.categories) if row else ""
    if row is None:
        return f"没有编号为 {int(raw)} 的指标，发送 /target list 查看编号。"
    return f"已删除：{html.escape(summary)}"


async def on_startup(app: Application) -> None:
    """Seed the default targets on first start (never again once seeded)."""
    async with app.bot_data.session() as session:
        await targets.seed_defaults(session=session)


# New messages only: an edited command must not run twice (add a second leave, say).
