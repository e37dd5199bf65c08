# Generated from ../_async by scripts/gen_sync_sdk.py: edit the async code, then run `make sdk-sync`.
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
from ._http import SyncHttp
from .images import Images
from .snapshots import Snapshots
from .volumes import Volumes
from .workspace import Workspace


class Daytona:
    """Entry point of the SDK. Without a config, reads the environment, `.env` and `daytona login`."""

    def __init__(self, config: DaytonaConfig | None = None, *, transport: httpx.BaseTransport | None = None):
        resolved = resolve_config(config)
        assert resolved.api_key and resolved.server_url and resolved.target
        self.api_key: str = resolved.api_key
        self.server_url: str = resolved.server_url
        self.target: str = resolved.target
        self._http = SyncHttp(self.api_key, self.server_url, transport=transport)
        self.images = Images(self._http)
        self.snapshot = Snapshots(self._http)
        self.volume = Volumes(self._http)

    def __enter__(self) -> Daytona:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def create(self, params: CreateWorkspaceParams | None = None, timeout: float | None = 60) -> Workspace:
        """Create a sandbox and wait until it has started (timeout in seconds, 0 = no limit)."""
        params = params or CreateWorkspaceParams()
        effective = params.timeout if params.timeout else timeout
        check_create_params(params, effective)
        body = create_body(params, self.target)
        try:
            data = self._http.request("POST", "/workspace", json=body, timeout=timeout_seconds(effective))
            workspace = Workspace(self._http, data)
            if workspace.instance.state != WorkspaceState.STARTED:  # the server answers once it has started
                workspace.wait_for_workspace_start(effective)
        except (DaytonaServerError, DaytonaTimeoutError, DaytonaConnectionError):
            # This call made a sandbox that failed half-way (a 4xx made nothing, and a 409 means the
            # id belongs to a sandbox that must be left alone): remove it, then report.
            self._discard(body["id"])
            raise
        return workspace

    def _discard(self, workspace_id: str) -> None:
        try:
            self._http.request("DELETE", f"/workspace/{workspace_id}", params={"force": "true"})
        except DaytonaError:
            pass

    def get_current_workspace(self, workspace_id: str) -> Workspace:
        """The sandbox with this id (DaytonaNotFoundError when there is none)."""
        if not workspace_id:
            raise DaytonaError("workspace_id is required")
        data = self._http.request("GET", f"/workspace/{workspace_id}")
        return Workspace(self._http, data)

    get = get_current_workspace
    get_current_sandbox = get_current_workspace

    def list(self, labels: dict[str, str] | None = None) -> builtins.list[Workspace]:
        """All sandboxes of this API key's user, optionally only those carrying all `labels`."""
        params: dict[str, Any] | None = None
        if labels:
            params = {"labels": json.dumps(labels)}
        data = self._http.request("GET", "/workspace", params=params)
        return [Workspace(self._http, item) for item in data]

    def start(self, workspace: Workspace, timeout: float | None = 60) -> None:
        workspace.start(timeout)

    def stop(self, workspace: Workspace, timeout: float | None = 60) -> None:
        workspace.stop(timeout)

    def remove(self, workspace: Workspace, timeout: float | None = 60) -> None:
        """Delete the sandbox and its container."""
        self._http.request(
            "DELETE", f"/workspace/{workspace.id}", params={"force": "true"}, timeout=timeout_seconds(timeout)
        )
