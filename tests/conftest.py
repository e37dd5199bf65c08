"""Shared test set-up: tests never read the developer's own Daytona configuration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in ("DAYTONA_API_KEY", "DAYTONA_SERVER_URL", "DAYTONA_TARGET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAYTONA_CONFIG_DIR", str(tmp_path / "daytona-config"))
    monkeypatch.chdir(tmp_path)
    yield
