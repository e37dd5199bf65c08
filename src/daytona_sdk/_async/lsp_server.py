"""`workspace.create_lsp_server(...)`: a language server in the sandbox, for completions and symbols."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .._errors import DaytonaError
from .._lsp_models import CompletionList, LspLanguageId, LspServerStatus, LspSymbol, Position
from ._http import AsyncHttp

# Starting a server waits for its `initialize` answer; the agent gives up after 60 s.
START_TIMEOUT_S = 90.0
# Each request to a language server has a 30 s deadline in the agent.
REQUEST_TIMEOUT_S = 60.0


class AsyncLspServer:
    """A language server for one language and project directory. Call `start()` first.

    Paths are absolute, or relative to `path_to_project`. Files are read from disk by the sandbox,
    and re-read when they change, so callers never send file contents.
    """

    def __init__(
        self, http: AsyncHttp, workspace_id: str, language_id: LspLanguageId | str, path_to_project: str
    ) -> None:
        self._http = http
        self._base = f"/toolbox/{workspace_id}/toolbox/lsp"
        self.language_id = str(language_id)
        self.path_to_project = path_to_project

    def __repr__(self) -> str:
        return f"<LspServer {self.language_id} {self.path_to_project}>"

    def _server(self) -> dict[str, str]:
        return {"languageId": self.language_id, "pathToProject": self.path_to_project}

    @staticmethod
    def _uri(path: str) -> str:
        # A relative path gives `file://src/a.py`, which the sandbox resolves against the project.
        if not isinstance(path, str) or not path:
            raise DaytonaError("path must be a non-empty string")
        return "file://" + quote(path)

    async def start(self) -> None:
        """Start the language server (a no-op when it already runs) and wait until it is ready."""
        await self._http.request("POST", f"{self._base}/start", json=self._server(), timeout=START_TIMEOUT_S)

    async def stop(self) -> None:
        """Stop the language server: shutdown and exit, killed after a deadline."""
        await self._http.request("POST", f"{self._base}/stop", json=self._server(), timeout=START_TIMEOUT_S)

    async def did_open(self, path: str) -> None:
        """Open a file in the server (read from the sandbox's disk)."""
        body = {**self._server(), "uri": self._uri(path)}
        await self._http.request("POST", f"{self._base}/did-open", json=body, timeout=REQUEST_TIMEOUT_S)

    async def did_close(self, path: str) -> None:
        """Close a file in the server."""
        body = {**self._server(), "uri": self._uri(path)}
        await self._http.request("POST", f"{self._base}/did-close", json=body, timeout=REQUEST_TIMEOUT_S)

    async def completions(self, path: str, position: Position | dict[str, int]) -> CompletionList:
        """Completions at a zero-based position, as the server returns them (label, kind, detail, ...)."""
        if not isinstance(position, dict):  # a Position, or any object with line and character
            position = {"line": position.line, "character": position.character}
        body: dict[str, Any] = {**self._server(), "uri": self._uri(path), "position": position}
        data = await self._http.request("POST", f"{self._base}/completions", json=body, timeout=REQUEST_TIMEOUT_S)
        return CompletionList.model_validate(data)

    async def document_symbols(self, path: str) -> list[LspSymbol]:
        """Symbols (functions, classes, variables, ...) defined in a file."""
        params = {**self._server(), "uri": self._uri(path)}
        data = await self._http.request(
            "GET", f"{self._base}/document-symbols", params=params, timeout=REQUEST_TIMEOUT_S
        )
        return [LspSymbol.model_validate(s) for s in data]

    async def workspace_symbols(self, query: str) -> list[LspSymbol]:
        """Symbols across the project whose name contains `query`."""
        params = {**self._server(), "query": query}
        data = await self._http.request(
            "GET", f"{self._base}/workspace-symbols", params=params, timeout=REQUEST_TIMEOUT_S
        )
        return [LspSymbol.model_validate(s) for s in data]

    sandbox_symbols = workspace_symbols

    async def status(self) -> LspServerStatus:
        """The server's state: running, crashed (with its exit code and error), or stopped."""
        data = await self._http.request("GET", f"{self._base}/servers", params=self._server())
        if data:
            return LspServerStatus.model_validate(data[0])
        return LspServerStatus(languageId=self.language_id, pathToProject=self.path_to_project, state="stopped")
