"""The client: create, find, start, stop and remove sandboxes."""

from __future__ import annotations

import builtins
import json
from typing import Any

import httpx

from .._base import check_create_params, create_body, timeout_seconds
from .._config import DaytonaConfig, resolve_config
from .._errors import DaytonaConnectionError, DaytonaError, DaytonaServerError, DaytonaTimeoutError
from .._models import CreateWorkspaceParams, WorkspaceState
from ._http import AsyncHttp
from .images import AsyncImages
from .snapshots import AsyncSnapshots
from .volumes import AsyncVolumes
from .workspace import AsyncWorkspace


class AsyncDaytona:
    """Entry point of the SDK. Without a config, reads the environment, `.env` and `daytona login`."""

    def __init__(self, config: DaytonaConfig | None = None, *, transport: httpx.AsyncBaseTransport | None = None):
        resolved = resolve_config(config)
        assert resolved.api_key and resolved.server_url and resolved.target
        self.api_key: str = resolved.api_key
        self.server_url: str = resolved.server_url
        self.target: str = resolved.target
        self._http = AsyncHttp(self.api_key, self.server_url, transport=transport)
        self.images = AsyncImages(self._http)
        self.snapshot = AsyncSnapshots(self._http)
        self.volume = AsyncVolumes(self._http)

    async def __aenter__(self) -> AsyncDaytona:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def create(self, params: CreateWorkspaceParams | None = None, timeout: float | None = 60) -> AsyncWorkspace:
        """Create a sandbox and wait until it has started (timeout in seconds, 0 = no limit)."""
        params = params or CreateWorkspaceParams()
        effective = params.timeout if params.timeout else timeout
        check_create_params(params, effective)
        body = create_body(params, self.target)
        try:
            data = await self._http.request("POST", "/workspace", json=body, timeout=timeout_seconds(effective))
            workspace = AsyncWorkspace(self._http, data)
            if workspace.instance.state != WorkspaceState.STARTED:  # the server answers once it has started
                await workspace.wait_for_workspace_start(effective)
        except (DaytonaServerError, DaytonaTimeoutError, DaytonaConnectionError):
            # This call made a sandbox that failed half-way (a 4xx made nothing, and a 409 means the
            # id belongs to a sandbox that must be left alone): remove it, then report.
            await self._discard(body["id"])
            raise
        return workspace

    async def _discard(self, workspace_id: str) -> None:
        try:
            await self._http.request("DELETE", f"/workspace/{workspace_id}", params={"force": "true"})
        except DaytonaError:
            pass

    async def get_current_workspace(self, workspace_id: str) -> AsyncWorkspace:
        """The sandbox with this id (DaytonaNotFoundError when there is none)."""
        if not workspace_id:
            raise DaytonaError("workspace_id is required")
        data = await self._http.request("GET", f"/workspace/{workspace_id}")
        return AsyncWorkspace(self._http, data)

    get = get_current_workspace
    get_current_sandbox = get_current_workspace

    async def list(self, labels: dict[str, str] | None = None) -> builtins.list[AsyncWorkspace]:
        """All sandboxes of this API key's user, optionally only those carrying all `labels`."""
        params: dict[str, Any] | None = None
        if labels:
            params = {"labels": json.dumps(labels)}
        data = await self._http.request("GET", "/workspace", params=params)
        return [AsyncWorkspace(self._http, item) for item in data]

    async def start(self, workspace: AsyncWorkspace, timeout: float | None = 60) -> None:
        await workspace.start(timeout)

    async def stop(self, workspace: AsyncWorkspace, timeout: float | None = 60) -> None:
        await workspace.stop(timeout)

    async def remove(self, workspace: AsyncWorkspace, timeout: float | None = 60) -> None:
        """Delete the sandbox and its container."""
        await self._http.request(
            "DELETE", f"/workspace/{workspace.id}", params={"force": "true"}, timeout=timeout_seconds(timeout)
        )
