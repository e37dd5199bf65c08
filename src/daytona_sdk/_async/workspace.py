"""A sandbox (named Workspace in the documentation) and what can be done with it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from .._base import joined, language_of, timeout_seconds
from .._errors import DaytonaError, DaytonaTimeoutError
from .._lsp_models import LspLanguageId
from .._models import NetworkInfo, PreviewLink, WorkspaceInfo, WorkspaceResources, WorkspaceState
from ._http import AsyncHttp
from .filesystem import AsyncFileSystem
from .git import AsyncGit
from .interpreter import AsyncCodeInterpreter
from .lsp_server import AsyncLspServer
from .process import AsyncProcess

POLL_INTERVAL_S = 0.1


class AsyncWorkspace:
    """A sandbox. `process` runs commands and code in it, `fs` handles its files, `git` its repositories."""

    def __init__(self, http: AsyncHttp, data: dict[str, Any]) -> None:
        self._http = http
        self.id: str = data["id"]
        self.instance: WorkspaceInfo = WorkspaceInfo.from_api(data)
        self.code_language = language_of(data)
        self.process = AsyncProcess(http, self.id, self.code_language)
        self.fs = AsyncFileSystem(http, self.id)
        self.git = AsyncGit(http, self.id)
        self.code_interpreter = AsyncCodeInterpreter(http, self.id)

    def __repr__(self) -> str:
        return f"<Workspace {self.id} {self.instance.state}>"

    def create_lsp_server(self, language_id: LspLanguageId | str, path_to_project: str) -> AsyncLspServer:
        """A language server for `language_id` (python, typescript, javascript) in `path_to_project`."""
        return AsyncLspServer(self._http, self.id, language_id, path_to_project)

    async def info(self) -> WorkspaceInfo:
        """Fetch the sandbox's current information (state, resources, labels, ...)."""
        data = await self._http.request("GET", f"/workspace/{self.id}")
        self.instance = WorkspaceInfo.from_api(data)
        return self.instance

    async def get_workspace_root_dir(self) -> str:
        """The sandbox user's home directory, where relative paths start."""
        data = await self._http.request("GET", f"/toolbox/{self.id}/toolbox/project-dir")
        return str(data["dir"])

    get_sandbox_root_dir = get_workspace_root_dir

    async def start(self, timeout: float | None = 60, wait: bool = True) -> None:
        """Start a stopped sandbox (an archived one is restored) and, unless `wait=False`, wait until ready."""
        seconds = timeout_seconds(timeout)
        await self._http.request("POST", f"/workspace/{self.id}/start", timeout=seconds)
        if wait:
            await self.wait_for_workspace_start(timeout)

    async def stop(self, timeout: float | None = 60, wait: bool = True) -> None:
        """Stop the sandbox (its filesystem is kept) and, unless `wait=False`, wait until it is stopped."""
        seconds = timeout_seconds(timeout)
        await self._http.request("POST", f"/workspace/{self.id}/stop", timeout=seconds)
        if wait:
            await self.wait_for_workspace_stop(timeout)

    async def _wait_for(self, wanted: WorkspaceState, timeout: float | None) -> None:
        seconds = timeout_seconds(timeout)
        deadline = time.monotonic() + seconds if seconds else None
        while True:
            info = await self.info()
            if info.state == wanted:
                return
            if info.state == WorkspaceState.ERROR:
                raise DaytonaError(f"sandbox {self.id} is in state error: {info.error_reason}")
            if deadline is not None and time.monotonic() >= deadline:
                raise DaytonaTimeoutError(
                    f"sandbox {self.id} did not become {wanted.value} within {seconds:g}s (it is {info.state})"
                )
            await asyncio.sleep(POLL_INTERVAL_S)

    async def wait_for_workspace_start(self, timeout: float | None = 60) -> None:
        await self._wait_for(WorkspaceState.STARTED, timeout)

    async def wait_for_workspace_stop(self, timeout: float | None = 60) -> None:
        await self._wait_for(WorkspaceState.STOPPED, timeout)

    async def set_labels(self, labels: dict[str, Any]) -> dict[str, str]:
        """Replace the sandbox's labels; booleans become "true"/"false", other values strings."""
        string_labels = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in labels.items()}
        data = await self._http.request("PUT", f"/workspace/{self.id}/labels", json={"labels": string_labels})
        return dict(data["labels"])

    async def set_autostop_interval(self, interval: int) -> None:
        """Stop the sandbox after `interval` idle minutes (0 = never)."""
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 0:
            raise DaytonaError("auto-stop interval must be a non-negative integer number of minutes")
        await self._http.request("POST", f"/workspace/{self.id}/autostop/{interval}")
        self.instance.auto_stop_interval = interval

    async def set_auto_archive_interval(self, interval: int) -> None:
        """Archive the sandbox after it has been stopped for `interval` minutes (0 = never)."""
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 0:
            raise DaytonaError("auto-archive interval must be a non-negative integer number of minutes")
        await self._http.request("POST", f"/workspace/{self.id}/autoarchive/{interval}")

    async def archive(self, wait: bool = False, timeout: float | None = 600) -> None:
        """Move a stopped sandbox's filesystem changes to object storage; `start()` restores it.

        The server archives in the background; with `wait=True` this returns once it is archived.
        """
        await self._http.request("POST", f"/workspace/{self.id}/archive")
        if wait:
            await self._wait_for(WorkspaceState.ARCHIVED, timeout)

    async def resize(self, resources: WorkspaceResources) -> WorkspaceInfo:
        """Change CPU cores and memory (GB) of a stopped sandbox."""
        body = {"cpu": resources.cpu, "memory": resources.memory, "disk": resources.disk}
        data = await self._http.request(
            "POST", f"/workspace/{self.id}/resize", json={k: v for k, v in body.items() if v is not None}
        )
        self.instance = WorkspaceInfo.from_api(data)
        return self.instance

    async def update_network_settings(
        self,
        block_all: bool | None = None,
        allow_list: str | Sequence[str] | None = None,
        domain_allow_list: str | Sequence[str] | None = None,
    ) -> NetworkInfo:
        """Change the egress policy, at once and without a restart, even while the sandbox runs.

        `block_all=True` leaves only loopback; `block_all=False` alone restores the public internet and
        clears the lists; a list given replaces that list, the other keeps its value.
        """
        if block_all is None and allow_list is None and domain_allow_list is None:
            raise DaytonaError("give at least one of block_all, allow_list or domain_allow_list")
        body = {
            "networkBlockAll": block_all,
            "networkAllowList": joined(allow_list),
            "domainAllowList": joined(domain_allow_list),
        }
        data = await self._http.request(
            "POST", f"/workspace/{self.id}/network-settings", json={k: v for k, v in body.items() if v is not None}
        )
        self.instance = WorkspaceInfo.from_api(data)
        assert self.instance.network is not None
        return self.instance.network

    async def fork(self, name: str | None = None, timeout: float | None = 600) -> AsyncWorkspace:
        """A new started sandbox with this running sandbox's settings and a copy of its files.

        The sandbox keeps running; it is frozen only while a consistent copy is taken (milliseconds).
        """
        body = {"name": name} if name else {}
        data = await self._http.request("POST", f"/sandbox/{self.id}/fork", json=body, timeout=timeout_seconds(timeout))
        return AsyncWorkspace(self._http, await self._http.request("GET", f"/workspace/{data['id']}"))

    async def create_snapshot(self, name: str, timeout: float | None = 600) -> None:
        """Save this running sandbox's files as your snapshot `name`, to create sandboxes from."""
        await self._http.request(
            "POST", f"/sandbox/{self.id}/snapshot", json={"name": name}, timeout=timeout_seconds(timeout)
        )

    async def get_preview_url(self, port: int) -> PreviewLink:
        """URL of `port` inside the sandbox, and the token a private sandbox's preview needs."""
        data = await self._http.request("GET", f"/workspace/{self.id}/ports/{port}/preview-url")
        return PreviewLink(url=data["url"], token=data["token"])

    async def get_preview_link(self, port: int) -> str:
        """URL of `port` inside the sandbox (send the token of `get_preview_url` if it is private)."""
        return (await self.get_preview_url(port)).url
