"""The deployment files agree with the code: every setting they name exists, the README documents
it, and the image, compose file and systemd unit use the same install script, ports and commands."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import Settings
from bot.dbcommands import register

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "CADDY_DOMAIN"}


def _env_example_keys() -> list[str]:
    keys = []
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        found = re.match(r"^#?\s*([A-Z][A-Z0-9_]+)=", line)
        if found:
            keys.append(found.group(1))
    return keys


def test_every_setting_in_the_example_env_is_real_and_documented() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    # Documented in the README's configuration table or in the deployment guide.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    readme += (DEPLOY / "README.md").read_text(encoding="utf-8")
    keys = _env_example_keys()
    assert "TELEGRAM_BOT_TOKEN" in keys and "WEBHOOK_SECRET" in keys
    assert fields <= set(keys), f"settings missing from .env.example: {sorted(fields - set(keys))}"
    for key in keys:
        if key in COMPOSE_ONLY:  # read by compose, not by the bot
            assert "${" + key in (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
            continue
        assert key in fields, f"{key} in .env.example is not a setting"
        assert f"`{key}`" in readme, f"{key} is documented neither in README.md nor in deploy/README.md"


def test_the_image_runs_the_install_script_ci_runs() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "RUN deploy/install.sh /opt/dutybot /home/dutybot/cache" in dockerfile
    assert "TMPDIR=/home/dutybot/cache" in dockerfile, "the bot finds the jieba cache built at image build"
    assert re.search(r"^USER dutybot$", dockerfile, re.M), "the image runs as a non-root user"
    assert "FROM python:3.11-slim" in dockerfile
    assert "deploy/install.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert (DEPLOY / "install.sh").stat().st_mode & 0o111, "install.sh is executable"


def test_compose_and_systemd_use_the_real_commands_and_ports() -> None:
    compose = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    unit = (DEPLOY / "dutybot.service").read_text(encoding="utf-8")
    assert 'command: ["db", "upgrade"]' in compose and "service_completed_successfully" in compose
    assert 'HEALTH_PORT: "9090"' in compose and "127.0.0.1:9090/healthz" in compose
    assert compose.count("restart: unless-stopped") == 3 and compose.count("healthcheck:") == 2
    assert "ExecStartPre=/opt/dutybot/bin/dutybot db upgrade" in unit
    assert "ExecStart=/opt/dutybot/bin/dutybot run" in unit and "User=dutybot" in unit

    import argparse

    sub = argparse.ArgumentParser().add_subparsers(dest="command")
    register(sub)
    assert {"db", "backup", "restore"} <= set(sub.choices)
