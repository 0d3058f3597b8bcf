"""Start-up as an operator meets it: the console is its own command with its own database, and every
configuration or dependency problem is one line with EX_CONFIG (78) or EX_UNAVAILABLE (69), the
token never printed. Real processes, a Bot API stand-in on loopback."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:SECRETsecretSECRETsecret"


def _dutybot(
    args: list[str], tmp_path: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=90,
        input=stdin,
    )


@contextlib.contextmanager
def bot_api(status: int) -> Iterator[str]:
    """A Bot API stand-in answering every method with `status` (200: getMe's bot)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if status == 200:
                body = {
                    "ok": True,
                    "result": {"id": 1, "is_bot": True, "first_name": "b", "username": "b_bot"},
                }
            else:
                body = {"ok": False, "error_code": status, "description": "Unauthorized"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


def test_run_without_a_token_exits_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "prod.sqlite3"
    proc = _dutybot(["run", "--webhook"], tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{db}")
    assert proc.returncode == 78
    assert "TELEGRAM_BOT_TOKEN" in _one_line(proc) and "dutybot console" in proc.stderr
    assert not db.exists(), "no database is created, let alone demo people"


def test_the_console_uses_its_own_database_never_database_url(tmp_path: Path) -> None:
    prod = tmp_path / "prod.sqlite3"
    proc = _dutybot(["console"], tmp_path, stdin="/quit\n", DATABASE_URL=f"sqlite+aiosqlite:///{prod}")
    assert proc.returncode == 0, proc.stderr
    assert not prod.exists()
    with sqlite3.connect(tmp_path / "data" / "console.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM member").fetchone()[0] == 3, "the demo people live there"


def test_a_token_telegram_rejects_is_one_line_and_never_printed(tmp_path: Path) -> None:
    with bot_api(401) as url:
        proc = _dutybot(
            ["run"],
            tmp_path,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=url,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
        )
    assert proc.returncode == 78
    assert "rejected the bot token" in _one_line(proc)
    output = proc.stdout + proc.stderr
    assert TOKEN not in output and TOKEN.split(":")[1] not in output


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("TIMEZONE", "Mars/Olympus"),
        ("WEBHOOK_PORT", "eighty"),
        ("ADMIN_TELEGRAM_IDS", "12,abc"),
        ("LOG_LEVEL", "LOUD"),
        ("DATABASE_URL", "postgresql://dutybot@127.0.0.1/dutybot"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_it_with_ex_config(
    tmp_path: Path, setting: str, value: str
) -> None:
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"}
    proc = _dutybot(["run"], tmp_path, **{**env, setting: value})
    assert proc.returncode == 78
    assert setting in _one_line(proc)


def test_an_unreachable_database_is_ex_unavailable_and_json_when_asked(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    proc = _dutybot(
        ["run"],
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        DATABASE_URL=f"postgresql+asyncpg://dutybot:pw-SECRET@127.0.0.1:{port}/dutybot",
        LOG_JSON="true",
    )
    assert proc.returncode == 69
    event = json.loads(_one_line(proc))
    assert event["setting"] == "DATABASE_URL" and f"127.0.0.1:{port}" in event["message"]
    assert "pw-SECRET" not in proc.stderr


def test_a_busy_webhook_port_is_named(tmp_path: Path) -> None:
    with bot_api(200) as url, socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _dutybot(
            ["run", "--webhook"],
            tmp_path,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=url,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
            WEBHOOK_URL="https://bot.example.org/telegram",
            WEBHOOK_SECRET="s3cret-value",
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
        )
    assert proc.returncode == 69, proc.stderr
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("dutybot:")][-1]
    assert str(port) in line and "WEBHOOK_PORT" in line
    assert TOKEN not in proc.stdout + proc.stderr and "s3cret-value" not in proc.stdout + proc.stderr


def test_misspelt_settings_are_warned_about_and_the_version_is_printed(tmp_path: Path) -> None:
    proc = _dutybot(["run"], tmp_path, TELEGRAM_BOT_TOKN=TOKEN, DUTYBOT_TIMEZONE="UTC")
    assert "TELEGRAM_BOT_TOKN" in proc.stderr and "did you mean TELEGRAM_BOT_TOKEN" in proc.stderr
    assert "DUTYBOT_TIMEZONE is not a setting" in proc.stderr
    assert TOKEN not in proc.stderr
    version = _dutybot(["--version"], tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("dutybot ")
