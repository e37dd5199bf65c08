"""`workspace.code_interpreter`: run python statefully, as today's Daytona SDK's code interpreter.

Variables, imports and functions stay between runs of one context; contexts are isolated from
each other (a process each); runs without a context share the default one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .._interpreter_base import apply_message, close_error, execute_request
from .._interpreter_models import ErrorHandler, ExecutionResult, InterpreterContext, OutputHandler
from .._ws import AsyncWsConnection, ConnectionClosed, aconnect_ws
from ._http import AsyncHttp

OPEN_TIMEOUT_S = 30.0


class AsyncCodeInterpreter:
    def __init__(self, http: AsyncHttp, workspace_id: str) -> None:
        self._http = http
        self._base = f"/toolbox/{workspace_id}/toolbox/process/interpreter"

    async def run_code(
        self,
        code: str,
        *,
        context: InterpreterContext | str | None = None,
        on_stdout: OutputHandler | None = None,
        on_stderr: OutputHandler | None = None,
        on_error: ErrorHandler | None = None,
        envs: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> ExecutionResult:
        """Run python `code` in `context` (the default one when None); return its output and error.

        Callbacks get the output as it is written (`OutputMessage.output`) and the error the code
        raised (`ExecutionError`: name, value, traceback). `timeout` in seconds (server default 600,
        0 for none): when it passes the code is interrupted, the context keeps its variables and
        DaytonaTimeoutError is raised. `envs` are set for this run only.
        """
        request = execute_request(code, context, envs, timeout)
        url, headers = self._http.websocket_target(f"{self._base}/execute")
        result = ExecutionResult()
        ws = await aconnect_ws(url, headers, [], OPEN_TIMEOUT_S)
        try:
            await self._exchange(ws, request, result, on_stdout, on_stderr, on_error)
        finally:
            await ws.close()
        error = close_error(ws.close_code, ws.close_reason or "")
        if error is not None:
            raise error
        return result

    async def _exchange(
        self,
        ws: AsyncWsConnection,
        request: str,
        result: ExecutionResult,
        on_stdout: OutputHandler | None,
        on_stderr: OutputHandler | None,
        on_error: ErrorHandler | None,
    ) -> None:
        try:
            await ws.send(request)
            async for message in ws:
                apply_message(result, message, on_stdout, on_stderr, on_error)
        except ConnectionClosed:
            pass  # its close code says how the run ended

    async def create_context(self, cwd: str | None = None) -> InterpreterContext:
        """A new isolated context (its own process) working in `cwd` (default: the user's home)."""
        body: dict[str, Any] = {"language": "python"}
        if cwd is not None:
            body["cwd"] = cwd
        data = await self._http.request("POST", f"{self._base}/context", json=body)
        return InterpreterContext.from_api(data)

    async def list_contexts(self) -> list[InterpreterContext]:
        """The contexts created with `create_context` (not the default one)."""
        data = await self._http.request("GET", f"{self._base}/context")
        return [InterpreterContext.from_api(item) for item in (data or {}).get("contexts") or []]

    async def delete_context(self, context: InterpreterContext | str) -> None:
        """Delete a context and kill its process (and what it started); its variables are gone."""
        context_id = context.id if isinstance(context, InterpreterContext) else context
        await self._http.request("DELETE", f"{self._base}/context/{quote(context_id, safe='')}")
