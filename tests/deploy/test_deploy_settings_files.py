"""Secrets from files (`TELEGRAM_BOT_TOKEN_FILE`, `WEBHOOK_SECRET_FILE`, `DATABASE_URL_FILE`) and the
outbound proxy setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings

SECRETS = ("TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET", "DATABASE_URL", "TELEGRAM_PROXY_URL")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


def test_each_secret_is_read_from_its_file_stripped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    values = {
        "TELEGRAM_BOT_TOKEN": "123:from-file",
        "WEBHOOK_SECRET": "hook-secret",
        "DATABASE_URL": "postgresql+asyncpg://dutybot:pw@db:5432/dutybot",
    }
    for name, value in values.items():
        (tmp_path / name).write_text(f"  {value}\n\n", encoding="utf-8")
        monkeypatch.setenv(f"{name}_FILE", str(tmp_path / name))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")  # left empty in the env file: counts as unset
    settings = Settings(_env_file=None)
    assert settings.token == "123:from-file"
    assert settings.webhook_secret is not None and settings.webhook_secret.get_secret_value() == "hook-secret"
    assert settings.database_url == values["DATABASE_URL"]
    assert "from-file" not in repr(settings)


def test_a_secret_and_its_file_together_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "token").write_text("123:from-file", encoding="utf-8")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:plain-token")
    with pytest.raises(ValueError, match="both TELEGRAM_BOT_TOKEN and TELEGRAM_BOT_TOKEN_FILE") as caught:
        Settings(_env_file=None)
    assert "plain-token" not in str(caught.value) and "from-file" not in str(caught.value)


@pytest.mark.parametrize("name", ["TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET", "DATABASE_URL"])
def test_a_missing_or_empty_file_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    monkeypatch.setenv(f"{name}_FILE", str(tmp_path / "absent"))
    with pytest.raises(ValueError, match=f"{name}_FILE=.*absent: cannot read the file"):
        Settings(_env_file=None)
    (tmp_path / "empty").write_text(" \n", encoding="utf-8")
    monkeypatch.setenv(f"{name}_FILE", str(tmp_path / "empty"))
    with pytest.raises(ValueError, match=f"{name}_FILE=.*empty: the file is empty"):
        Settings(_env_file=None)


def test_the_default_database_is_kept_without_a_file() -> None:
    assert Settings(_env_file=None).database_url.startswith("sqlite+aiosqlite:///")


@pytest.mark.parametrize(
    "url", ["http://proxy:3128", "https://proxy:3128", "socks5://127.0.0.1:1080", "socks5h://u:p@h:1080"]
)
def test_http_and_socks_proxies_are_accepted(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("TELEGRAM_PROXY_URL", url)
    assert Settings(_env_file=None).telegram_proxy_url == url


def test_no_proxy_by_default_and_a_bad_scheme_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).telegram_proxy_url is None
    monkeypatch.setenv("TELEGRAM_PROXY_URL", "")
    assert Settings(_env_file=None).telegram_proxy_url is None
    monkeypatch.setenv("TELEGRAM_PROXY_URL", "proxy:3128")
    with pytest.raises(ValidationError, match="TELEGRAM_PROXY_URL must start with"):
        Settings(_env_file=None)


def test_the_socks_transport_is_installed() -> None:
    import socksio  # python-telegram-bot[socks] pulls in httpx[socks]

    assert socksio
