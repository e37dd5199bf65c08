"""Configuration precedence: code > environment > .env > config file > defaults."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from daytona_sdk import Daytona, DaytonaConfig, DaytonaError
from daytona_sdk._config import config_file_path, resolve_config


def write_config_file(api_key: str, server_url: str, target: str = "eu") -> None:
    path = config_file_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"apiKey": api_key, "serverUrl": server_url, "target": target}))


def test_explicit_config_wins_over_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAYTONA_API_KEY", "env-key")
    Path(".env").write_text("DAYTONA_API_KEY=dotenv-key\n")
    write_config_file("file-key", "http://file/api")
    resolved = resolve_config(DaytonaConfig(api_key="code-key", server_url="http://code/api/", target="asia"))
    assert (resolved.api_key, resolved.server_url, resolved.target) == ("code-key", "http://code/api", "asia")


def test_each_field_falls_through_the_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    write_config_file("file-key", "http://file/api", "eu")
    Path(".env").write_text("DAYTONA_SERVER_URL=http://dotenv/api\n")
    monkeypatch.setenv("DAYTONA_API_KEY", "env-key")
    resolved = resolve_config()
    assert (resolved.api_key, resolved.server_url, resolved.target) == ("env-key", "http://dotenv/api", "eu")


def test_environment_beats_dotenv(monkeypatch: pytest.MonkeyPatch) -> None:
    Path(".env").write_text("DAYTONA_API_KEY=dotenv-key\nDAYTONA_SERVER_URL=http://dotenv/api\n")
    monkeypatch.setenv("DAYTONA_SERVER_URL", "http://env/api")
    resolved = resolve_config()
    assert (resolved.api_key, resolved.server_url) == ("dotenv-key", "http://env/api")
    assert "DAYTONA_API_KEY" not in os.environ  # reading .env does not leak into the process


def test_target_defaults_to_us(monkeypatch: pytest.MonkeyPatch) -> None:
    resolved = resolve_config(DaytonaConfig(api_key="k", server_url="http://x/api"))
    assert resolved.target == "us"


def test_missing_key_or_url_is_a_clear_error() -> None:
    with pytest.raises(DaytonaError, match="API key is required"):
        Daytona()
    with pytest.raises(DaytonaError, match="Server URL is required"):
        Daytona(DaytonaConfig(api_key="k"))


def test_broken_config_file_says_what_to_do() -> None:
    path = config_file_path()
    path.parent.mkdir(parents=True)
    path.write_text("{broken")
    with pytest.raises(DaytonaError, match="daytona login"):
        resolve_config()
