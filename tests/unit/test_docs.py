"""The README cannot fall behind: every server setting, CLI command and API route is mentioned in it."""

from __future__ import annotations

import re
from pathlib import Path

import click

from daytona_cli.main import cli
from daytona_server.api.app import create_app
from daytona_server.config import Settings

from ..support.stub_runtime import StubRuntime

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_server_setting_is_documented() -> None:
    source = (ROOT / "src" / "daytona_server" / "config.py").read_text()
    settings = set(re.findall(r'"(DAYTONA_[A-Z_]+)"', source))
    assert len(settings) > 10
    missing = sorted(name for name in settings if name not in README)
    assert missing == [], f"settings missing from README.md: {missing}"


def test_every_cli_command_is_documented() -> None:
    def names(command: click.Command, prefix: str) -> list[str]:
        found = [prefix]
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                found += names(sub, f"{prefix} {name}")
        return found

    missing = [name for name in names(cli, "daytona")[1:] if name not in README]
    assert missing == [], f"commands missing from README.md: {missing}"


def test_every_api_route_is_documented(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), StubRuntime())
    paths = {route.path for route in app.routes if getattr(route, "path", "").startswith("/api/")}  # type: ignore[attr-defined]

    # The README names routes by their path after /api (with {id}-style placeholders abbreviated).
    def documented(path: str) -> bool:
        words = [w for w in path.removeprefix("/api/").split("/") if w and not w.startswith("{")]
        return all(word in README for word in words)

    missing = sorted(path for path in paths if not documented(path))
    assert missing == [], f"API routes missing from README.md: {missing}"
