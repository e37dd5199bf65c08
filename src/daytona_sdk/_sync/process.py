# Generated from ../_async by scripts/gen_sync_sdk.py: edit the async code, then run `make sdk-sync`.
"""`workspace.process`: run commands and code in a sandbox, and keep sessions of background processes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from .._base import execution_result, timeout_seconds
from .._errors import DaytonaConnectionError, DaytonaError, DaytonaServerError, DaytonaTimeoutError
from .._models import CodeLanguage, CodeRunParams, ExecuteResponse
from .._process_base import (
    FOLLOW_READ_TIMEOUT_S,
    ExecStream,
    LogDemux,
    command_logs,
    session_exec_body,
    session_path,
    session_result,
)
from .._process_models import (
    Command,
    CommandLogs,
    LogChunk,
    OutputCallback,
    Session,
    SessionExecuteRequest,
    SessionExecuteResponse,
)
from .._ws import ConnectionClosed, connect_ws
from ._http import SyncHttp
from .pty import PtySessions

# Extra time the HTTP call waits beyond a command's own timeout before giving up on the server.
HTTP_GRACE_S = 30.0
RECONNECT_DELAY_S = 0.5


class Process(PtySessions):
    def __init__(self, http: SyncHttp, workspace_id: str, language: CodeLanguage) -> None:
        self._http = http
        self._workspace_id = workspace_id
        self._language = language
        self._base = f"/toolbox/{workspace_id}/toolbox/process"

    def exec(
        self,
        command: str,
        cwd: str | None = None,
        timeout: float | None = None,
        env: dict[str, str] | None = None,
        check: bool = False,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
    ) -> ExecuteResponse:
        """Run `command` through a shell as the sandbox user.

        `timeout` is in seconds (0 or None: no limit); when it passes, the whole process tree is
        killed and ProcessExecutionError is raised. With `check=True` a non-zero exit raises too.
        `on_stdout` / `on_stderr` receive the output as it is produced.
        """
        seconds = timeout_seconds(timeout)
        body: dict[str, Any] = {"command": command, "cwd": cwd, "timeout": seconds, "env": env}
        data = self._run("execute", body, seconds, on_stdout, on_stderr)
        return execution_result(data, check, f"command {command!r}")

    execute_command = exec

    def code_run(
        self,
        code: str,
        params: CodeRunParams | None = None,
        timeout: float | None = None,
        input: str | None = None,
        check: bool = False,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
    ) -> ExecuteResponse:
        """Run `code` in the sandbox's language (python, javascript or typescript).

        `params` carries argv and env; `input` is fed to the program's stdin.
        """
        seconds = timeout_seconds(timeout)
        body: dict[str, Any] = {
            "code": code,
            "language": self._language.value,
            "argv": params.argv if params else None,
            "env": params.env if params else None,
            "input": input,
            "timeout": seconds,
        }
        data = self._run("code-run", body, seconds, on_stdout, on_stderr)
        return execution_result(data, check, f"{self._language.value} code")

    def _run(
        self,
        endpoint: str,
        body: dict[str, Any],
        seconds: float | None,
        on_stdout: OutputCallback | None,
        on_stderr: OutputCallback | None,
    ) -> dict[str, Any]:
        payload = {k: v for k, v in body.items() if v is not None}
        http_timeout = seconds + HTTP_GRACE_S if seconds else None
        if on_stdout is None and on_stderr is None:
            data: dict[str, Any] = self._http.request(
                "POST", f"{self._base}/{endpoint}", json=payload, timeout=http_timeout
            )
            return data
        stream = ExecStream(on_stdout, on_stderr)
        for line in self._http.stream_lines(
            "POST", f"{self._base}/{endpoint}", json=payload, params={"stream": "true"}, timeout=http_timeout
        ):
            stream.feed(line)
        return stream.result()

    # -- sessions -------------------------------------------------------------------------------

    def create_session(self, session_id: str) -> None:
        """Start a session: a shell that keeps its working directory and variables between commands.

        Session ids may use letters, digits and `. _ ~ : @ + = , -`; an existing id raises
        DaytonaConflictError.
        """
        self._http.request("POST", f"{self._base}/session", json={"sessionId": session_id})

    def get_session(self, session_id: str) -> Session:
        """The session and its commands (id, command, exit code; None while running)."""
        data = self._http.request("GET", session_path(self._base, session_id))
        return Session.from_api(data)

    def list_sessions(self) -> list[Session]:
        data = self._http.request("GET", f"{self._base}/session")
        return [Session.from_api(s) for s in data]

    def delete_session(self, session_id: str) -> None:
        """Kill every process of the session and forget it, logs included."""
        self._http.request("DELETE", session_path(self._base, session_id))

    def execute_session_command(
        self,
        session_id: str,
        req: SessionExecuteRequest | str,
        timeout: float | None = None,
        check: bool = False,
    ) -> SessionExecuteResponse:
        """Run a command in the session's shell (`cd`, `export` and the like persist).

        Async (`run_async=True`): returns the command id at once; follow it with
        `stream_session_command_logs` / `get_session_command`. Sync: waits for it and returns its
        output and exit code; after `timeout` seconds its processes are killed and
        ProcessExecutionError is raised (as with `check=True` and a non-zero exit). Sync commands
        of one session run one after another.
        """
        seconds = timeout_seconds(timeout)
        body, run_async = session_exec_body(req, seconds)
        if run_async:
            http_timeout: float | None = 60.0
        else:
            http_timeout = seconds + HTTP_GRACE_S if seconds else None
        data = self._http.request(
            "POST", session_path(self._base, session_id, tail="/exec"), json=body, timeout=http_timeout
        )
        return session_result(data, check and not run_async, body["command"])

    def get_session_command(self, session_id: str, command_id: str) -> Command:
        data = self._http.request("GET", session_path(self._base, session_id, command_id))
        return Command.from_api(data)

    def get_session_command_logs(self, session_id: str, command_id: str) -> str:
        """The command's whole output so far (stdout and stderr interleaved as produced)."""
        return (self.read_session_command_logs(session_id, command_id)).output

    def read_session_command_logs(self, session_id: str, command_id: str, offset: int = 0) -> CommandLogs:
        """The output from byte `offset` of the log on; `.offset` is where the next read starts."""
        if offset < 0:
            raise DaytonaError("offset must be a non-negative byte offset")
        path = session_path(self._base, session_id, command_id, "/logs")
        params = {"format": "ndjson", "offset": offset}
        lines = [line for line in self._http.stream_lines("GET", path, params=params)]
        return command_logs(lines)

    def stream_session_command_logs(
        self, session_id: str, command_id: str, offset: int = 0, reconnect_timeout: float = 30.0
    ) -> Iterator[LogChunk]:
        """Yield the command's output as it is produced, from byte `offset`, until the command ends
        (followed over a WebSocket).

        A broken connection (a server restart, a network hiccup) is resumed from the last offset
        for up to `reconnect_timeout` seconds, so nothing is lost or repeated.
        """
        if offset < 0:
            raise DaytonaError("offset must be a non-negative byte offset")
        path = session_path(self._base, session_id, command_id, "/logs")
        demux = LogDemux(offset)
        failing_since: float | None = None
        while True:
            url, headers = self._http.websocket_target(f"{path}?follow=true&offset={demux.offset}")
            try:
                ws = connect_ws(url, headers, [], FOLLOW_READ_TIMEOUT_S)
                try:
                    for message in ws:  # over a WebSocket, as today's SDKs follow logs
                        failing_since = None
                        chunk = demux.feed(message)
                        if chunk is not None:
                            yield chunk
                except ConnectionClosed:
                    pass  # not a clean end: connect again from the last offset
                finally:
                    ws.close()
                if ws.close_code == 1000:  # the command has ended
                    for chunk in demux.flush():
                        yield chunk
                    return
                raise DaytonaConnectionError(f"the log stream closed ({ws.close_code} {ws.close_reason})")
            except (DaytonaConnectionError, DaytonaTimeoutError, DaytonaServerError) as exc:
                if isinstance(exc, DaytonaServerError) and exc.status_code not in (502, 503, 504):
                    raise
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > reconnect_timeout:
                    raise
            time.sleep(RECONNECT_DELAY_S)

    def follow_session_command_logs(
        self,
        session_id: str,
        command_id: str,
        on_stdout: OutputCallback,
        on_stderr: OutputCallback | None = None,
        offset: int = 0,
    ) -> Command:
        """Call `on_stdout` / `on_stderr` with the output as it is produced; return the ended command.

        Without `on_stderr`, stderr goes to `on_stdout` too (the combined log).
        """
        for chunk in self.stream_session_command_logs(session_id, command_id, offset):
            if chunk.stream == "stderr" and on_stderr is not None:
                on_stderr(chunk.data)
            else:
                on_stdout(chunk.data)
        return self.get_session_command(session_id, command_id)

    def send_session_command_input(self, session_id: str, command_id: str, data: str, eof: bool = False) -> None:
        """Write `data` to the stdin of a running command; `eof=True` then closes its stdin."""
        self._http.request(
            "POST", session_path(self._base, session_id, command_id, "/input"), json={"data": data, "eof": eof}
        )
