"""Settings come from config/townhall.toml and are overridden by TOWNHALL_* variables."""

import subprocess
import sys
from pathlib import Path

import pytest

from townhall.settings import Settings


def test_toml_then_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "townhall.toml"
    config.write_text(
        'city_name = "Springfield"\n[slack]\ntriage_channel = "C0FROMTOML"\n[http]\nport = 9000\n'
    )
    monkeypatch.setenv("TOWNHALL_CONFIG", str(config))
    monkeypatch.setenv("TOWNHALL_HTTP__PORT", "9100")
    monkeypatch.setenv("TOWNHALL_SLACK__STAFF", "U0AAAAAAA1, S0GROUP001")
    monkeypatch.setenv("TOWNHALL_TELEGRAM__TOKEN", "123:abc")
    settings = Settings.load()
    assert settings.city_name == "Springfield"
    assert settings.slack.triage_channel == "C0FROMTOML"
    assert settings.http.port == 9100
    assert settings.slack.staff == ["U0AAAAAAA1", "S0GROUP001"]
    assert settings.telegram.enabled
    assert settings.telegram.token is not None
    assert "123:abc" not in repr(settings)  # secrets never show up in logs


def test_slack_mode_follows_the_tokens() -> None:
    settings = Settings.load(slack={"bot_token": "xoxb-1", "signing_secret": "s"})
    assert settings.slack.enabled and not settings.slack.socket_mode
    settings = Settings.load(slack={"bot_token": "xoxb-1", "app_token": "xapp-1"})
    assert settings.slack.enabled and settings.slack.socket_mode
    assert not Settings.load().slack.enabled


def test_shipped_config_is_valid() -> None:
    settings = Settings.load()
    assert settings.faq.path.exists()
    assert 0 < settings.faq.threshold < 1


def test_run_without_any_channel_exits_naming_the_variables(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from townhall.cli import main; main()", "run"],
        capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "200"},
    )
    assert result.returncode == 2
    assert "TOWNHALL_TELEGRAM__TOKEN" in result.stderr


def test_x_is_enabled_by_its_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not Settings.load().x.enabled
    monkeypatch.setenv("TOWNHALL_X__BEARER_TOKEN", "AAAA")
    monkeypatch.setenv("TOWNHALL_X__LISTEN_QUERIES", '["\\"Springfield\\" pothole", "#SPFLD"]')
    settings = Settings.load()
    assert settings.x.enabled and not settings.x.user_auth  # listening only
    assert settings.x.listen_queries == ['"Springfield" pothole', "#SPFLD"]
    keys = {"consumer_key": "ck", "consumer_secret": "cs", "access_token": "at",
            "access_token_secret": "x-access-secret-7f3a"}
    settings = Settings.load(x=keys)
    assert settings.x.user_auth and settings.x.api_url == "https://api.x.com"
    assert "x-access-secret-7f3a" not in repr(settings)


def test_secrets_may_come_from_a_private_file(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "townhall.secrets"
    secrets.write_text("TOWNHALL_SLACK__BOT_TOKEN=xoxb-from-file\n"
                       "TOWNHALL_TELEGRAM__TOKEN=123:from-file\n")
    secrets.chmod(0o600)
    monkeypatch.setenv("TOWNHALL_SECRETS_FILE", str(secrets))
    monkeypatch.setenv("TOWNHALL_TELEGRAM__TOKEN", "123:from-env")  # the environment wins
    settings = Settings.load()
    assert settings.slack.bot_token.get_secret_value() == "xoxb-from-file"
    assert settings.telegram.token.get_secret_value() == "123:from-env"
    assert "xoxb-from-file" not in repr(settings)
    secrets.chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        Settings.load()
