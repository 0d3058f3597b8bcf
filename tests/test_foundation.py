"""The application starts on a real database and answers over the in-memory Bot API."""

from __future__ import annotations

from sqlalchemy import text
from telegram.ext import CommandHandler

from handlers.app import start_services, stop_services
from handlers.menu import ALIASES, COMMANDS, command_menu


async def test_application_starts_on_a_migrated_database_and_restarts_without_duplicates(harness) -> None:
    assert harness.api.sent("getMe"), "initialising the application asks Telegram who the bot is"
    tables = ("org", "member", "invitecode", "dutyrecord", "evidence", "auditlog", "target", "schedule")

    async def counts() -> dict[str, int]:
        async with harness.session() as session:
            return {
                t: (await session.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one() for t in tables
            }

    first = await counts()
    assert first["dutyrecord"] == 0 and first["member"] == 0
    # A second start (a restart) seeds nothing twice.
    await stop_services(harness.app)
    await start_services(harness.app, migrate=False)
    assert await counts() == first


def test_admin_menu_contains_everything_a_cadre_has_and_more() -> None:
    cadre = {c.command for c in command_menu("cadre")}
    admin = {c.command for c in command_menu("admin")}
    assert {"help", "my", "undo"} <= cadre
    assert cadre < admin


async def test_start_up_menus_default_to_cadre_and_give_bootstrap_admins_theirs(harness) -> None:
    import json

    from handlers.menu import set_command_menus

    await set_command_menus(harness.app.bot, [1])
    menus = {}
    for call in harness.api.sent("setMyCommands"):
        scope = call.params.get("scope")
        scope = json.loads(scope) if isinstance(scope, str) else scope
        commands = call.params["commands"]
        commands = json.loads(commands) if isinstance(commands, str) else commands
        menus[(scope or {}).get("chat_id")] = {c["command"] for c in commands}
    assert "my" in menus[None] and "invite" not in menus[None]
    assert {"my", "invite", "org"} <= menus[1]


def test_the_menu_lists_exactly_the_registered_commands(harness) -> None:
    registered = {
        command
        for handlers in harness.app.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }
    assert registered == {name for name, _, _ in COMMANDS} | set(ALIASES)
