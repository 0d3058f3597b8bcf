"""Logs: one line per event with its fields; never the token; message text only at DEBUG."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.config import Settings
from bot.logs import KeyValueFormatter, RedactingFilter, configure_logging, make_handler
from helpers import TgUser

TOKEN = "123456:AAH-very_secret_token_value"
CADRE = TgUser(601, "赵六")
CHECK_IN = "今天组织支部党员开展主题党日活动，参加18人，时长2小时"


def _settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "telegram_bot_token": TOKEN,
        "webhook_secret": "hook-secret-42",
        "database_url": "postgresql+asyncpg://bot:db-password-7@db/dutybot",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def _log_through(settings: Settings, emit) -> str:  # type: ignore[no-untyped-def]
    stream = io.StringIO()
    logger = logging.getLogger("dutybot.test.logs")
    handler = make_handler(settings, stream)
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue()


def test_secrets_never_appear_in_message_fields_or_traceback() -> None:
    def emit(logger: logging.Logger) -> None:
        logger.warning(
            "calling https://api.telegram.org/bot%s/sendMessage", TOKEN, extra={"url": f"x{TOKEN}y"}
        )
        logger.info(
            "connecting", extra={"dsn": "postgresql://bot:db-password-7@db", "hook": "hook-secret-42"}
        )
        try:
            raise RuntimeError(f"request to /bot{TOKEN}/getMe failed")
        except RuntimeError:
            logger.exception("boom")

    out = _log_through(_settings(), emit)
    for secret in (TOKEN, "AAH-very_secret_token_value", "hook-secret-42", "db-password-7"):
        assert secret not in out
    assert out.count("[REDACTED]") >= 5
    lines = out.splitlines()
    assert len(lines) == 3, "one line per event, the traceback included"
    assert "RuntimeError" in lines[2]


def test_fields_are_key_value_pairs_on_one_line() -> None:
    out = _log_through(
        _settings(),
        lambda log: log.info("update handled", extra={"update_id": 7, "kind": "message", "note": "a b"}),
    )
    line = out.strip()
    assert " INFO dutybot.test.logs update handled " in line
    assert line.endswith('update_id=7 kind=message note="a b"')


def test_json_lines_when_asked() -> None:
    out = _log_through(
        _settings(log_json=True), lambda log: log.info("leadership gained", extra={"role": "leader"})
    )
    record = json.loads(out)
    assert record["msg"] == "leadership gained" and record["role"] == "leader" and record["level"] == "INFO"


def test_configure_logging_installs_the_redacting_handler() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        configure_logging(_settings(log_level="INFO"), stream)
        logging.getLogger("bot.any").info("token %s", TOKEN)
        logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    assert stream.getvalue().count("\n") == 1, "httpx request lines are not logged at INFO"
    assert TOKEN not in stream.getvalue()


def test_without_secrets_records_pass_unchanged() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "plain %s", ("text",), None)
    assert RedactingFilter([]).filter(record)
    assert KeyValueFormatter().format(record).endswith("INFO x plain text")


async def test_a_check_in_leaves_no_message_text_in_logs_above_debug(
    harness,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    await harness.add_org("第一支部")
    await harness.add_member(CADRE, "第一支部")
    caplog.set_level(logging.INFO)
    await harness.send(CADRE, CHECK_IN)
    await harness.send(CADRE, "今天忙了一整天")
    await harness.send(CADRE, "/undo")
    formatter = KeyValueFormatter()
    rendered = "\n".join(formatter.format(r) for r in caplog.records if r.levelno > logging.DEBUG)
    assert "主题党日" not in rendered and "忙了一整天" not in rendered
