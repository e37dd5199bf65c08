"""Models of PTY terminals, with the names today's Daytona SDK gives them (`PtySize`, `PtyResult`,
`PtySessionInfo`), and the I/O-free handling of what a terminal's WebSocket says."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PtyDataCallback = Callable[[bytes], None]

EXIT_CONTROL_PROTOCOL = "X-Daytona-Pty-Exit-Control"
ENVS_PROTOCOL_PREFIX = "X-Daytona-Pty-Envs~"
# Input goes out in messages of at most this size (the proxy and the agent take 4 MiB at most).
INPUT_CHUNK = 1024 * 1024
CONNECT_TIMEOUT_S = 10.0


@dataclass
class PtySize:
    """A terminal's size in character cells (1 to 1000 each)."""

    rows: int = 24
    cols: int = 80


@dataclass
class PtyResult:
    """How a terminal ended: `exit_code` (None while it runs) and `error` (why, when not cleanly)."""

    exit_code: int | None = None
    error: str | None = None


@dataclass
class PtySessionInfo:
    """A terminal of the sandbox; `active` while its shell runs."""

    id: str
    cwd: str = ""
    envs: dict[str, str] = field(default_factory=dict)
    cols: int = 80
    rows: int = 24
    created_at: str | None = None
    active: bool = False
    lazy_start: bool = False

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> PtySessionInfo:
        return cls(
            id=data["id"],
            cwd=data.get("cwd") or "",
            envs=dict(data.get("envs") or {}),
            cols=int(data.get("cols") or 0),
            rows=int(data.get("rows") or 0),
            created_at=data.get("createdAt"),
            active=bool(data.get("active")),
            lazy_start=bool(data.get("lazyStart")),
        )


def subprotocols(envs: dict[str, str] | None) -> list[str]:
    """Exit control (so the `exited` message comes), and the variables as base64url JSON."""
    found = [EXIT_CONTROL_PROTOCOL]
    if envs:
        encoded = base64.urlsafe_b64encode(json.dumps(envs).encode()).rstrip(b"=").decode()
        found.append(ENVS_PROTOCOL_PREFIX + encoded)
    return found


class PtyState:
    """What the terminal's messages said so far: connected, exit code, error."""

    def __init__(self) -> None:
        self.established = False
        self.connected = True
        self.exit_code: int | None = None
        self.error: str | None = None

    def message(self, message: str | bytes) -> bytes | None:
        """Take one message: output comes back as bytes, control messages are absorbed (None)."""
        if isinstance(message, bytes):
            return message
        try:
            control = json.loads(message)
        except ValueError:
            control = None
        if not isinstance(control, dict) or control.get("type") != "control":
            return message.encode("utf-8")
        status = control.get("status")
        if status == "connected":
            self.established = True
        elif status == "exited":
            self.established = True
            self.connected = False
            if isinstance(control.get("exitCode"), int):
                self.exit_code = control["exitCode"]
            if isinstance(control.get("exitReason"), str):
                self.error = control["exitReason"]
        elif status == "error":
            self.connected = False
            self.error = str(control.get("error") or "unknown terminal error")
        return None

    def closed(self, code: int | None, reason: str) -> None:
        """The connection closed: the reason may carry `{"exitCode", "exitReason"}` or `{"error"}`."""
        self.connected = False
        try:
            data = json.loads(reason) if reason else None
        except ValueError:
            data = None
        if isinstance(data, dict):
            if self.exit_code is None and isinstance(data.get("exitCode"), int):
                self.exit_code = data["exitCode"]
                if isinstance(data.get("exitReason"), str):
                    self.error = data["exitReason"]
            if isinstance(data.get("error"), str):
                self.error = data["error"]
        elif reason and code != 1000 and self.error is None:
            self.error = reason
        if self.exit_code is None and code != 1000 and self.error is None:
            self.error = f"the connection closed (code {code})"

    def result(self) -> PtyResult:
        return PtyResult(self.exit_code, self.error)
