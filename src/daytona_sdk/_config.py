"""Where the SDK finds its API key, server URL and target.

Each setting is taken from the first place that has it: the `DaytonaConfig` given in code, the
environment (`DAYTONA_API_KEY`, `DAYTONA_SERVER_URL`, `DAYTONA_TARGET`), a `.env` file in the current
directory, the config file written by `daytona login`, and finally the defaults (target `us`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from ._errors import DaytonaError

DEFAULT_TARGET = "us"
ENV_NAMES = {"api_key": "DAYTONA_API_KEY", "server_url": "DAYTONA_SERVER_URL", "target": "DAYTONA_TARGET"}


@dataclass
class DaytonaConfig:
    """Settings given in code; they win over every other source. Leave a field None to look it up."""

    api_key: str | None = None
    server_url: str | None = None
    target: str | None = None


def config_file_path() -> Path:
    """The file `daytona login` writes: $DAYTONA_CONFIG_DIR/config.json or ~/.config/daytona/config.json."""
    base = os.environ.get("DAYTONA_CONFIG_DIR")
    if base:
        return Path(base) / "config.json"
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "daytona" / "config.json"


def _read_config_file(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise DaytonaError(f"cannot read the config file {path}: {exc}; fix it or run `daytona login`") from None
    if not isinstance(data, dict):
        return {}
    names = {"api_key": "apiKey", "server_url": "serverUrl", "target": "target"}
    return {field: str(data[key]) for field, key in names.items() if data.get(key)}


def resolve_config(config: DaytonaConfig | None = None, dotenv_path: str | Path = ".env") -> DaytonaConfig:
    """Merge the sources in order of precedence; raise DaytonaError when the key or URL is missing."""
    explicit = config or DaytonaConfig()
    dotenv = {k: v for k, v in dotenv_values(dotenv_path).items() if v} if Path(dotenv_path).is_file() else {}
    file_values = _read_config_file(config_file_path())
    resolved: dict[str, str | None] = {}
    for field, env_name in ENV_NAMES.items():
        resolved[field] = (
            getattr(explicit, field)
            or os.environ.get(env_name)
            or dotenv.get(env_name)
            or file_values.get(field)
            or None
        )
    if not resolved["api_key"]:
        raise DaytonaError(
            "API key is required: pass DaytonaConfig(api_key=...), set DAYTONA_API_KEY, or run `daytona login`"
        )
    if not resolved["server_url"]:
        raise DaytonaError(
            "Server URL is required: pass DaytonaConfig(server_url=...), set DAYTONA_SERVER_URL"
            " (e.g. http://127.0.0.1:3000/api), or run `daytona login`"
        )
    return DaytonaConfig(
        api_key=resolved["api_key"],
        server_url=str(resolved["server_url"]).rstrip("/"),
        target=resolved["target"] or DEFAULT_TARGET,
    )
