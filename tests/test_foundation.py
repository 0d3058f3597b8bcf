"""The application starts on a real database and answers over the in-memory Bot API."""

from __future__ import annotations

from sqlalchemy import text

from bot.app import command_menu


async def test_application_starts_and_database_is_migrated(harness) -> None:
    assert harness.api.sent("getMe"), "initialising the application asks Telegram who the bot is"
    async with harness.session() as session:
        tables = {"org", "member", "invitecode", "dutyrecord", "evidence", "auditlog"}
        for table in tables:
            count = (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            assert count == 0


def test_admin_menu_contains_everything_a_cadre_has() -> None:
    cadre = {c.command for c in command_menu("cadre")}
    admin = {c.command for c in command_menu("admin")}
    assert cadre <= admin
