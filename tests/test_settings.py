"""Settings come from the environment once and shape how the bot connects."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.services import Services
from handlers.app import build_application


def test_defaults_use_an_embedded_sqlite_database_and_beijing_time(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "TIMEZONE", "TELEGRAM_BOT_TOKEN", "ADMIN_TELEGRAM_IDS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.database_url.startswith("sqlite+aiosqlite:///data/")
    assert settings.timezone == "Asia/Shanghai"
    assert settings.token is None
    assert settings.admin_telegram_ids == []


def test_admin_ids_are_read_as_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_TELEGRAM_IDS", "11, 22,33")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    settings = Settings(_env_file=None)
    assert settings.admin_telegram_ids == [11, 22, 33]
    assert settings.token == "123:abc"
    assert "123:abc" not in repr(settings), "the token never shows in a repr or a log line"


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, timezone="Mars/Olympus")


def test_a_self_hosted_bot_api_server_is_used_for_requests_and_files() -> None:
    settings = Settings(
        _env_file=None, telegram_bot_token="123:abc", telegram_api_base_url="http://127.0.0.1:8081/"
    )
    app = build_application(Services(settings), rate_limiter=None)
    assert app.bot.base_url == "http://127.0.0.1:8081/bot123:abc"
    assert app.bot.base_file_url == "http://127.0.0.1:8081/file/bot123:abc"


@pytest.mark.parametrize("proxy", ["http://127.0.0.1:3128", "socks5://127.0.0.1:1080"])
def test_the_bot_api_is_reached_through_the_configured_proxy(proxy: str) -> None:
    settings = Settings(_env_file=None, telegram_bot_token="123:abc", telegram_proxy_url=proxy)
    app = build_application(Services(settings), rate_limiter=None)
    getting_updates, everything_else = app.bot._request  # PTB's two transports
    for request in (getting_updates, everything_else):
        assert request._client_kwargs["proxy"] == proxy  # type: ignore[attr-defined]
