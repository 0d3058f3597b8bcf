"""Packaging and deploy pieces: the lock covers pyproject, compose scales behind a proxy with bounded
logs, the systemd unit is sandboxed, the build context leaves state and secrets out."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _name(requirement: str) -> str:
    found = re.match(r"\s*([A-Za-z0-9_.-]+)", requirement)
    assert found, requirement
    return re.sub(r"[-_.]+", "-", found.group(1)).lower()


def _pins(lock: Path) -> dict[str, str]:
    pins = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)", line)
        if found:
            pins[_name(found.group(1))] = found.group(2)
    return pins


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_the_lock_pins_every_runtime_dependency_with_hashes() -> None:
    lock = ROOT / "requirements.lock"
    pins = _pins(lock)
    missing = [_name(r) for r in _project()["dependencies"] if _name(r) not in pins]
    assert not missing, f"requirements.lock lacks {missing}: refresh it (deploy/README.md)"
    assert "socksio" in pins, "the socks extra's transport is locked"
    assert "pytest" not in pins, "the runtime lock has no dev tools"
    text = lock.read_text(encoding="utf-8")
    assert "--hash=sha256:" in text
    assert "uv pip compile pyproject.toml" in text.splitlines()[1], "the header says how to refresh it"


def test_the_dev_lock_adds_the_dev_extra_at_the_same_versions() -> None:
    runtime, dev = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements-dev.lock")
    for requirement in _project()["optional-dependencies"]["dev"]:
        assert _name(requirement) in dev, requirement
    assert {k: v for k, v in dev.items() if k in runtime} == runtime


def test_every_dependency_has_a_lower_bound_checked_by_ci_lowest() -> None:
    project = _project()
    for requirement in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert re.search(r"(>=|==)\s*\d", requirement), f"{requirement} has no lower bound"
    assert "python-telegram-bot[job-queue,rate-limiter,webhooks,socks]" in project["dependencies"][0]
    script = ROOT / ".ci" / "lowest"
    text = script.read_text(encoding="utf-8")
    assert script.stat().st_mode & 0o111 and text.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in text and "--resolution lowest-direct" in text
    assert "pytest -q -x -p no:cacheprovider" in text


def test_install_script_and_image_install_from_the_lock() -> None:
    install = (DEPLOY / "install.sh").read_text(encoding="utf-8")
    assert re.search(r"pip install .*--require-hashes -r \"\$LOCK\"", install)
    assert 'pip install --quiet --no-deps "$SRC"' in install
    assert install.index('-r "$LOCK"') < install.index("--no-deps")
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^COPY .*requirements\.lock", dockerfile, re.M)


def _services(compose: str) -> dict[str, str]:
    """The top-level `services:` block split by service (two-space indented keys)."""
    block = compose.split("\nservices:\n", 1)[1]
    block = re.split(r"\n(?=[a-z])", block, maxsplit=1)[0]
    parts = re.split(r"^  ([a-z][a-z0-9_-]*):\n", block, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_compose_scales_the_bot_behind_caddy_with_bounded_logs_and_resources() -> None:
    compose = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    assert "\t" not in compose, "YAML is indented with spaces"
    services = _services(compose)
    assert {"db", "migrate", "bot", "caddy"} <= set(services)
    bot, caddy = services["bot"], services["caddy"]
    assert "container_name" not in bot and "ports:" not in bot, "--scale bot=N needs neither"
    assert 'command: ["run", "--webhook"]' in bot
    assert '"443:443"' in caddy and "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy
    assert re.search(
        r"x-logging: &logging\n  driver: json-file\n  options:\n    max-size: \"\d+m\"\n"
        r"    max-file: \"\d+\"",
        compose,
    )
    for name, body in services.items():
        assert "logging: *logging" in body, f"{name} has no log rotation"
        if name != "migrate":
            assert re.search(r"limits:\n\s+memory: \d+[mg]\n\s+cpus: \"[\d.]+\"", body), name


def test_compose_passes_secrets_as_files() -> None:
    compose = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    services = _services(compose)
    for secret in ("telegram_bot_token", "webhook_secret", "database_url", "postgres_password"):
        assert f"  {secret}:\n    file: ./secrets/{secret}" in compose
    for variable in ("TELEGRAM_BOT_TOKEN_FILE", "WEBHOOK_SECRET_FILE", "DATABASE_URL_FILE"):
        assert f"{variable}: /run/secrets/" in compose
    assert "POSTGRES_PASSWORD_FILE: /run/secrets/postgres_password" in services["db"]
    assert "secrets: [telegram_bot_token, webhook_secret, database_url]" in services["bot"]
    assert "POSTGRES_PASSWORD}" not in compose, "no password interpolated into the environment"
    assert (DEPLOY / "secrets" / ".gitignore").read_text(encoding="utf-8").splitlines()[1:] == [
        "*",
        "!.gitignore",
    ]


def test_caddy_proxies_only_the_webhook_path_to_every_replica() -> None:
    caddyfile = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert caddyfile.count("{") == caddyfile.count("}"), "balanced braces"
    assert "{$CADDY_DOMAIN} {" in caddyfile and "handle {$WEBHOOK_PATH:/telegram} {" in caddyfile
    assert re.search(r"dynamic a \{\s+name bot\s+port 8443", caddyfile)
    assert "respond 404" in caddyfile, "/healthz and /metrics are not published"


def _unit() -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for line in (DEPLOY / "dutybot.service").read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            directives.setdefault(key, []).append(value)
    return directives


def test_the_systemd_unit_is_sandboxed_and_does_not_restart_a_config_error() -> None:
    unit = _unit()
    expected = {
        "RestartPreventExitStatus": "78",
        "StateDirectory": "dutybot",
        "UMask": "0077",
        "CapabilityBoundingSet": "",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "SystemCallArchitectures": "native",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "ProtectProc": "invisible",
    }
    for key, value in expected.items():
        assert unit.get(key) == [value], f"{key}={value} expected, got {unit.get(key)}"
    for key in (
        "PrivateTmp", "PrivateDevices", "ProtectHome", "ProtectKernelTunables", "ProtectKernelModules",
        "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock", "ProtectHostname",
        "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality",
        "MemoryDenyWriteExecute",
    ):  # fmt: skip
        assert unit.get(key) == ["yes"], key
    assert "@system-service" in unit["SystemCallFilter"]
    assert unit["Restart"] == ["on-failure"]


def test_dockerignore_keeps_state_secrets_and_caches_out_of_the_image() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", "data", ".git", ".env", "deploy/secrets", ".pytest_cache", ".ruff_cache"} <= patterns
    assert "**/__pycache__" in patterns
    for needed in ("bot", "handlers", "storage", "pyproject.toml", "requirements.lock", "deploy"):
        assert needed not in patterns, f"the Dockerfile copies {needed}"
