"""Refusals: a service stops a unit of work early with an answer for the user (in Chinese)."""

from __future__ import annotations

from bot.roles import Role

NOT_BOUND = "您还没有加入组织。请向本单位党务管理员索取邀请链接或邀请码，然后发送 /join 邀请码。"
NEED_ROLE = {
    Role.secretary: "这个命令需要书记或管理员权限。",
    Role.admin: "这个命令需要管理员权限。",
}


class Refused(Exception):
    """Leave a handler (and its unit of work) early with an answer for the user. The answer is
    sent after the transaction has ended: never hold the database while talking to Telegram."""

    def __init__(self, text: str, *, alert: bool = False) -> None:
        super().__init__(text)
        self.text, self.alert = text, alert


def shown(text: str, limit: int = 40) -> str:
    """What the user wrote, as an answer may quote it back: at most `limit` characters (a pasted
    page quoted whole would take the answer past Telegram's 4096)."""
    return text if len(text) <= limit else text[:limit] + "…"
