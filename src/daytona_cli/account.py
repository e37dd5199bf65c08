"""`daytona login` / `daytona logout`: the config file the SDK reads after the environment."""

from __future__ import annotations

import json
import os

import click

from daytona_sdk import Daytona, DaytonaConfig
from daytona_sdk._config import config_file_path

from ._common import err


@click.command()
@click.option("--server-url", help="e.g. http://127.0.0.1:3000/api (asked for when missing).")
@click.option("--api-key", help="An API key (asked for when missing).")
@click.option("--target", type=click.Choice(["eu", "us", "asia"]), default="us", show_default=True)
def login(server_url: str | None, api_key: str | None, target: str) -> None:
    """Check a server URL and API key, then save them for the CLI and the SDK."""
    server_url = server_url or click.prompt("Server URL", default="http://127.0.0.1:3000/api", err=True)
    api_key = api_key or click.prompt("API key", hide_input=True, err=True)
    assert server_url and api_key
    with Daytona(DaytonaConfig(api_key=api_key, server_url=server_url, target=target)) as daytona:
        daytona.list()  # raises a clear error for a wrong URL or key
    path = config_file_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"serverUrl": server_url.rstrip("/"), "apiKey": api_key, "target": target}, fh)
    os.chmod(path, 0o600)
    err.print(f"Logged in to {server_url} (saved in {path})")


@click.command()
def logout() -> None:
    """Forget the saved server URL and API key."""
    path = config_file_path()
    if path.exists():
        path.unlink()
        err.print(f"Logged out (removed {path})")
    else:
        err.print("Not logged in")
