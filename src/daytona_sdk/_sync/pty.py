# Generated from ../_async by scripts/gen_sync_sdk.py: edit the async code, then run `make sdk-sync`.
"""PTY terminals: `workspace.process.create_pty_session(...)` opens an interactive shell in the sandbox.

A terminal belongs to the sandbox, not to the connection: `disconnect()` leaves its shell running,
and `connect_pty_session(id)` attaches again and first replays the scrollback (its last 256 KiB of
output). One connection per terminal at a time; a second one raises DaytonaConflictError.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

from .._errors import DaytonaConnectionError, DaytonaError, DaytonaTimeoutError
from .._pty_models import (
    CONNECT_TIMEOUT_S,
    EXIT_CONTROL_PROTOCOL,
    INPUT_CHUNK,
    PtyDataCallback,
    PtyResult,
    PtySessionInfo,
    PtySize,
    PtyState,
    subprotocols,
)
from .._ws import ConnectionClosed, WsConnection, connect_ws, recv_within
from ._http import SyncHttp


class PtyHandle:
    """One connection to a terminal: `send_input`, output from `wait(on_data=...)` or by iterating
    over the handle (bytes, until the shell exits), `resize`, `kill`, then `exit_code`."""

    def __init__(
        self, ws: WsConnection, session_id: str, sessions: PtySessions, on_data: PtyDataCallback | None
    ) -> None:
        self._ws: WsConnection | None = ws
        self._session_id = session_id
        self._sessions = sessions
        self._on_data = on_data
        self._state = PtyState()
        self._early: list[bytes] = []  # output that came before the `connected` message

    @property
    def session_id(self) -> str:
        return self._session_id

    @property
    def exit_code(self) -> int | None:
        """The shell's exit code once it has exited (137 when killed), else None."""
        return self._state.exit_code

    @property
    def error(self) -> str | None:
        return self._state.error

    def is_connected(self) -> bool:
        return self._ws is not None and self._state.connected

    def wait_for_connection(self, timeout: float = CONNECT_TIMEOUT_S) -> None:
        """Wait for the terminal's `connected` message (the SDK's create/connect calls do)."""
        deadline = time.monotonic() + timeout
        while not self._state.established:
            if self._ws is None or not self._state.connected:
                raise DaytonaConnectionError(self._state.error or "the terminal's connection closed during setup")
            left = deadline - time.monotonic()
            if left <= 0:
                raise DaytonaTimeoutError(f"PTY session {self._session_id} did not answer within {timeout:g}s")
            try:
                message = recv_within(self._ws, left)
            except ConnectionClosed as exc:
                self._closed(exc)
                continue
            if message is not None:
                data = self._state.message(message)
                if data is not None:
                    self._early.append(data)

    def send_input(self, data: str | bytes) -> None:
        """Type `data` into the terminal (keys, commands, a paste of any size, raw bytes such as b"\\x03")."""
        if self._ws is None or not self._state.connected:
            raise DaytonaConnectionError(f"PTY session {self._session_id} is not connected")
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        try:
            for offset in range(0, len(raw), INPUT_CHUNK):
                self._ws.send(raw[offset : offset + INPUT_CHUNK])
        except ConnectionClosed as exc:
            self._closed(exc)
            raise DaytonaConnectionError(f"PTY session {self._session_id}: the connection closed") from None

    def resize(self, pty_size: PtySize) -> PtySessionInfo:
        """Change the terminal's size; its programs get SIGWINCH."""
        return self._sessions.resize_pty_session(self._session_id, pty_size)

    def kill(self) -> None:
        """Kill the terminal's shell and everything started in it (exit code 137)."""
        self._sessions.kill_pty_session(self._session_id)

    def wait(self, on_data: PtyDataCallback | None = None, timeout: float | None = None) -> PtyResult:
        """Pass output to `on_data` until the shell exits; with `timeout` (seconds), return when it
        passes, exit code None and still connected."""
        callback = on_data or self._on_data
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            data = self._next(deadline)
            if data is None:
                return self._state.result()
            if callback is not None:
                callback(data)

    def __iter__(self) -> Iterator[bytes]:
        """The output as it comes, until the shell exits (or the connection ends)."""
        while True:
            data = self._next(None)
            if data is None:
                return
            yield data

    def disconnect(self) -> None:
        """Close this connection; the terminal keeps running (connect again for its scrollback)."""
        ws, self._ws = self._ws, None
        if ws is not None:
            ws.close()

    def __enter__(self) -> PtyHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    def _next(self, deadline: float | None) -> bytes | None:
        """The next piece of output; None at the deadline or once the connection has ended."""
        if self._early:
            return self._early.pop(0)
        while self._ws is not None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            try:
                message = recv_within(self._ws, left)
            except ConnectionClosed as exc:
                self._closed(exc)
                return None
            if message is None:
                return None
            data = self._state.message(message)
            if data is not None:
                return data
        return None

    def _closed(self, exc: ConnectionClosed) -> None:
        frame = exc.rcvd
        self._state.closed(frame.code if frame else 1006, frame.reason if frame else "the connection was lost")
        self._ws = None


class PtySessions:
    """The PTY calls of `workspace.process` (today's Daytona SDK names them so)."""

    _http: SyncHttp
    _base: str

    def create_pty_session(
        self,
        id: str,
        cwd: str | None = None,
        envs: dict[str, str] | None = None,
        pty_size: PtySize | None = None,
        on_data: PtyDataCallback | None = None,
    ) -> PtyHandle:
        """Start a terminal (a login shell as the sandbox user, TERM=xterm-256color) and connect to it.

        `cwd` defaults to the user's home; `pty_size` to 80x24. An id in use raises DaytonaConflictError.
        """
        size = pty_size or PtySize()
        query: dict[str, Any] = {"id": id, "cols": size.cols, "rows": size.rows}
        if cwd:
            query["cwd"] = cwd
        return self._open(id, f"{self._base}/pty/create-connect?{urlencode(query)}", envs, on_data)

    def connect_pty_session(self, session_id: str, on_data: PtyDataCallback | None = None) -> PtyHandle:
        """Attach to a running terminal: its scrollback first, then live output."""
        return self._open(session_id, f"{self._pty_path(session_id)}/connect", None, on_data)

    def list_pty_sessions(self) -> list[PtySessionInfo]:
        data = self._http.request("GET", f"{self._base}/pty")
        return [PtySessionInfo.from_api(item) for item in data.get("sessions") or []]

    def get_pty_session_info(self, session_id: str) -> PtySessionInfo:
        return PtySessionInfo.from_api(self._http.request("GET", self._pty_path(session_id)))

    def kill_pty_session(self, session_id: str) -> None:
        """Kill the terminal's shell and every process started in it, and forget the terminal."""
        self._http.request("DELETE", self._pty_path(session_id))

    def resize_pty_session(self, session_id: str, pty_size: PtySize) -> PtySessionInfo:
        body = {"cols": pty_size.cols, "rows": pty_size.rows}
        return PtySessionInfo.from_api(self._http.request("POST", f"{self._pty_path(session_id)}/resize", json=body))

    def _pty_path(self, session_id: str) -> str:
        if not session_id:
            raise DaytonaError("a PTY session id is required")
        return f"{self._base}/pty/{quote(session_id, safe='')}"

    def _open(
        self, session_id: str, path: str, envs: dict[str, str] | None, on_data: PtyDataCallback | None
    ) -> PtyHandle:
        url, headers = self._http.websocket_target(path)
        protocols = subprotocols(envs) if envs else [EXIT_CONTROL_PROTOCOL]
        ws = connect_ws(url, headers, protocols, CONNECT_TIMEOUT_S)
        handle = PtyHandle(ws, session_id, self, on_data)
        try:
            handle.wait_for_connection()
        except BaseException:
            handle.disconnect()
            raise
        return handle
