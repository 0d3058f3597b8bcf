"""Long polling stopped under load loses nothing: a real `dutybot run` process against a Bot API
stand-in over HTTP, 1,500 updates queued, SIGTERM mid-way (SIGKILL if it has not exited within a
docker-stop-like grace). Every update Telegram was told to forget had been processed; the rest are
fetched again by the next start; every user gets exactly one answer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from deploy_support import FakeTelegram

from helpers import TgUser, message_dict

ROOT = Path(__file__).resolve().parents[2]
UPDATES = 1500
FIRST_USER = 30_000
GRACE_SECONDS = 5.0


def _start(tmp_path: Path, url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": "123456:POLLINGtest",
        "TELEGRAM_API_BASE_URL": url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        "BACKUP_KEEP": "0",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, stdout=out, stderr=out
        )


def _wait(predicate, timeout: float, proc: subprocess.Popen[bytes], log: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes]) -> str:
    """SIGTERM; SIGKILL after the grace, as `docker stop` does. How it ended."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=GRACE_SECONDS)
        return "exited"
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "killed"


@pytest.mark.slow
def test_a_stop_under_load_confirms_only_processed_updates_and_none_is_lost(tmp_path: Path) -> None:
    users = [TgUser(FIRST_USER + i, f"用户{i}") for i in range(UPDATES)]
    updates = [{"update_id": i + 1, "message": message_dict(u, "/help")} for i, u in enumerate(users)]
    log = tmp_path / "bot.log"
    with FakeTelegram(updates) as telegram:
        first = _start(tmp_path, telegram.url, log)
        _wait(lambda: len(telegram.replied()) >= 200, 90, first, log)
        ended = _stop(first)
        answered = telegram.replied()
        confirmed = telegram.confirmed
        # Telegram forgets every update below the last offset: each of them must have been processed.
        forgotten = {u["message"]["chat"]["id"] for u in updates if u["update_id"] < confirmed}
        unanswered = forgotten - answered
        assert not unanswered, (
            f"{len(unanswered)} updates confirmed to Telegram but never processed ({ended}; "
            f"{len(answered)} answered, offset {confirmed})"
        )
        assert len(answered) < UPDATES, "stopped mid-way"

        second = _start(tmp_path, telegram.url, log)
        try:
            assert second.poll() is None
            _wait(lambda: len(telegram.replied()) >= UPDATES, 150, second, log)
            _wait(lambda: telegram.confirmed > UPDATES, 30, second, log)
        finally:
            _stop(second)
        counts = {chat: len(texts) for chat, texts in telegram.replies.items()}
    assert set(counts) == {u.id for u in users}, "every update processed: none lost"
    assert set(counts.values()) == {1}, "an update processed before the stop is not answered again"
