"""The audit log as admins read it (/audit): newest first, a page at a time, actions in words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.admin import authorize
from bot.members import Sender
from bot.roles import Role
from bot.services import Services
from storage import orgs

PAGE_SIZE = 20
MAX_DETAIL = 120

ACTION_NAMES: dict[str, str] = {
    "org.add": "新建组织",
    "org.rename": "组织改名",
    "org.move": "组织移动",
    "org.merge": "组织合并",
    "org.archive": "撤销组织",
    "org.bind_group": "绑定群",
    "invite.issue": "生成邀请码",
    "invite.redeem": "用邀请码加入",
    "invite.revoke": "作废邀请码",
    "invite.expire": "设置邀请码有效期",
    "member.move": "用邀请码调整",
    "member.transfer": "组织关系转接",
    "member.deactivate": "停用成员",
    "member.reactivate": "恢复成员",
    "member.bootstrap_admin": "设置管理员",
    "member.bootstrap_admin_removed": "取消设置管理员",
    "record.edit": "修改记录",
    "record.delete": "撤销记录",
    "record.restore": "恢复记录",
    "record.category": "改记录类别",
    "record.date": "改记录日期",
    "schedule.add": "添加提醒计划",
    "schedule.pause": "暂停提醒计划",
    "schedule.resume": "恢复提醒计划",
    "schedule.remove": "删除提醒计划",
    "holiday.add": "设置节假日",
    "holiday.remove": "删除节假日",
    "import.apply": "导入花名册",
    "export": "导出台账",
    "targets.seeded": "默认指标",
}


@dataclass(frozen=True)
class AuditLine:
    at: dt.datetime  # local time
    actor: str  # the actor's name, or 系统
    action: str  # in words
    detail: str  # plain text (the adapter escapes it), shortened


@dataclass(frozen=True)
class AuditPage:
    page: int  # 1-based
    pages: int
    total: int
    lines: list[AuditLine]


async def audit_page(services: Services, sender: Sender, page: int) -> AuditPage:
    """One page of the audit log, newest first; admins only. A page past the end shows the last."""
    await authorize(services, sender, Role.admin)
    async with services.session() as session:
        total, _ = await orgs.audit_page(session=session, offset=0, limit=0)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(page, 1), pages)
        _, rows = await orgs.audit_page(session=session, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    tz = services.settings.tz
    lines = [
        AuditLine(
            row.created_at.astimezone(tz),
            name or "系统",
            ACTION_NAMES.get(row.action, row.action),
            _short(row.detail),
        )
        for row, name in rows
    ]
    return AuditPage(page, pages, total, lines)


def _short(text: str) -> str:
    return text if len(text) <= MAX_DETAIL else text[:MAX_DETAIL] + "…"
