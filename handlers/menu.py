"""The command menu: every command with its description and the least role that may use it.

`/help` and Telegram's command menus are both drawn from this one table; the registration in
`handlers.app` adds exactly these commands (a test keeps the two in step).
"""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from bot.roles import Role, at_least

# (command, description, least role), in menu order.
COMMANDS: tuple[tuple[str, str, Role], ...] = (
    ("start", "开始使用 / 用邀请链接加入", Role.cadre),
    ("join", "用邀请码加入组织", Role.cadre),
    ("help", "怎么用、全部命令", Role.cadre),
    ("whoami", "我的 ID、身份和组织（也可发 /id）", Role.cadre),
    ("my", "我的记录（本周、本月）", Role.cadre),
    ("undo", "撤销上一条记录", Role.cadre),
    ("leave", "请假 / 取消请假", Role.cadre),
    ("digest", "工作摘要：/digest [上周|本月|2026-11] [组织]", Role.cadre),
    ("readiness", "年度达标预览：/readiness [年份]", Role.cadre),
    ("export", "导出台账 Excel：/export [期间] [组织]", Role.cadre),
    ("members", "成员名单", Role.secretary),
    ("member", "成员转接、停用、恢复：/member move|leave|back", Role.secretary),
    ("review", "审核记录：/review [期间]，退回并写意见", Role.secretary),
    ("return", "退回记录：/return 编号 意见", Role.secretary),
    ("bindgroup", "把本群绑定到组织（在群里发送）", Role.secretary),
    ("target", "量化指标：查看与设置", Role.secretary),
    ("schedule", "提醒计划：查看、添加、暂停", Role.secretary),
    ("holiday", "节假日与调休", Role.secretary),
    ("invite", "邀请码：/invite 组织 角色 [次数] [有效期] · list · revoke · expire", Role.secretary),
    ("org", "组织：/org add|list|rename|move|merge|archive", Role.admin),
    ("rules", "识别规则：建议、test、export、undo、reread", Role.admin),
    ("audit", "审计日志：/audit [页码]", Role.admin),
)

# Other names a command answers to (registered with it, not shown in the menu).
ALIASES: dict[str, str] = {"id": "whoami"}


def command_menu(role: Role | str) -> list[BotCommand]:
    """The command menu for a role: its own commands and those of the roles below it."""
    return [BotCommand(name, description) for name, description, least in COMMANDS if at_least(role, least)]


async def set_command_menus(bot: Bot, admin_chat_ids: list[int]) -> None:
    """The default (cadre) menu, and the admin menu in each bootstrap admin's private chat.

    Secretaries and admins bound by invite get their chat-scoped menu when they bind
    (`set_member_menu`); Telegram keeps it, so start-up does not repeat it for every member.
    """
    await bot.set_my_commands(command_menu(Role.cadre), scope=BotCommandScopeDefault())
    for chat_id in admin_chat_ids:
        await set_member_menu(bot, chat_id, Role.admin)


async def set_member_menu(bot: Bot, chat_id: int, role: Role | str) -> None:
    """Give one private chat the menu of its member's role (cadres use the default menu)."""
    scope = BotCommandScopeChat(chat_id)
    if role == Role.cadre:
        await bot.delete_my_commands(scope=scope)
    else:
        await bot.set_my_commands(command_menu(role), scope=scope)
