"""The web dashboard's server, as the browser tests (tests/browser) see it."""

from __future__ import annotations

from dataclasses import dataclass

from daytona_sdk import Daytona

from .server import RunningServer


@dataclass
class Dashboard:
    server: RunningServer
    admin_password: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def sdk(self, api_key: str | None = None) -> Daytona:
        return Daytona(self.server.config(api_key))
