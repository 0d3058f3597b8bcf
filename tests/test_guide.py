"""The README's guide stays true: its command table is the registered commands with the right
roles, /help lists the same, and every command it tells you to type runs on a fresh clone."""

from __future__ import annotations

import re
from pathlib import Path

from telegram.ext import CommandHandler

from bot.cli import _build_parser
from bot.roles import Role
from handlers.menu import ALIASES, COMMANDS
from helpers import Harness, TgUser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ROLE_NAMES = {"党员": Role.cadre, "书记": Role.secretary, "管理员": Role.admin}


def _guide_table() -> dict[str, Role]:
    table = README.split("<!-- commands:start -->", 1)[1].split("<!-- commands:end -->", 1)[0]
    rows = re.findall(r"^\| `/(\w+)` \| (\S+) \|", table, flags=re.MULTILINE)
    assert rows, "the guide has a command table between the markers"
    assert len(rows) == len({name for name, _ in rows}), "each command once"
    return {name: ROLE_NAMES[role] for name, role in rows}


def test_the_guides_command_table_is_the_registered_commands_with_their_roles(harness: Harness) -> None:
    registered = {
        command
        for handlers in harness.app.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    } - set(ALIASES)
    guide = _guide_table()
    assert set(guide) == registered, "README 命令一览 and the registered commands differ"
    assert guide == {name: least for name, _, least in COMMANDS}, "the least role of each command"


async def test_help_lists_the_guides_commands_for_each_role(harness: Harness) -> None:
    guide = _guide_table()
    await harness.add_org("第一党委")
    await harness.add_org("第一支部", parent="第一党委")
    people = {
        Role.cadre: await harness.add_member(TgUser(201, "党员"), "第一支部"),
        Role.secretary: await harness.add_member(TgUser(101, "书记"), "第一支部", role="secretary"),
        Role.admin: await harness.add_member(TgUser(2, "管理员"), "第一党委", role="admin"),
    }
    order = [Role.cadre, Role.secretary, Role.admin]
    for role, member in people.items():
        (reply,) = harness.replies(await harness.send(TgUser(member.telegram_id, member.name), "/help"))
        listed = set(re.findall(r"^/(\w+) — ", reply.text, flags=re.MULTILINE))
        allowed = {name for name, least in guide.items() if order.index(least) <= order.index(role)}
        assert listed == allowed, f"/help for {role} differs from the guide"


def _shell_lines() -> list[str]:
    """Every line of a sh code block, and every `$ ` line of the others."""
    lines: list[str] = []
    for lang, body in re.findall(r"```(\w*)\n(.*?)```", README, flags=re.DOTALL):
        for line in body.splitlines():
            if lang == "sh":
                lines.append(line.strip())
            elif line.startswith("$ "):
                lines.append(line[2:].strip())
    return [line for line in lines if line and not line.startswith("#")]


def test_every_command_the_readme_gives_runs_on_a_fresh_clone() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.MULTILINE))
    subcommands = set(_build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    checked = 0
    for line in _shell_lines():
        words = line.split()
        if words[0] == "make":
            assert words[1] in targets, f"no make target for: {line}"
            checked += 1
        elif words[0] == "dutybot":
            raise AssertionError(f"`dutybot` is not on PATH in a fresh clone; say .venv/bin/dutybot: {line}")
        for i, word in enumerate(words):
            if word.endswith(".venv/bin/dutybot") and i + 1 < len(words) and not words[i + 1].startswith("-"):
                assert words[i + 1] in subcommands, f"no subcommand {words[i + 1]}: {line}"
                checked += 1
    # inline `make …` in the Chinese guide too
    guide = README.split("## Overview (English)", 1)[0]
    for target in re.findall(r"`make (\w[\w-]*)", guide):
        assert target in targets, f"no make target {target}"
        checked += 1
    for sub in re.findall(r"`\.venv/bin/dutybot (\w+)", guide):
        assert sub in subcommands, f"no subcommand {sub}"
    assert checked >= 10
