"""I/O-free pieces of `workspace.process` shared by the async and the sync client."""

from __future__ import annotations

import codecs
import json
from typing import Any
from urllib.parse import quote

from ._errors import DaytonaConnectionError, DaytonaError, ProcessExecutionError
from ._process_models import CommandLogs, LogChunk, OutputCallback, SessionExecuteRequest, SessionExecuteResponse

# Output kept in memory per stream when it is streamed to callbacks (the server caps it alike).
MAX_OUTPUT_CHARS = 16 * 1024 * 1024
# The server pings a followed log every 15 s while the command is silent.
FOLLOW_READ_TIMEOUT_S = 60.0


def session_path(base: str, session_id: str, command_id: str | None = None, tail: str = "") -> str:
    if not isinstance(session_id, str) or not session_id:
        raise DaytonaError("session_id must be a non-empty string")
    path = f"{base}/session/{quote(session_id, safe='')}"
    if command_id is not None:
        if not isinstance(command_id, str) or not command_id:
            raise DaytonaError("command_id must be a non-empty string")
        path += f"/command/{quote(command_id, safe='')}"
    return path + tail


def session_exec_body(req: SessionExecuteRequest | str, timeout: float | None) -> tuple[dict[str, Any], bool]:
    """The JSON body of a session command (both async field names, for old and new servers)."""
    if isinstance(req, str):
        req = SessionExecuteRequest(command=req)
    run_async = req.is_async
    body: dict[str, Any] = {"command": req.command, "async": run_async, "runAsync": run_async}
    if timeout:
        body["timeout"] = timeout
    return body, run_async


def session_result(data: dict[str, Any], check: bool, command: str) -> SessionExecuteResponse:
    response = SessionExecuteResponse.from_api(data)
    stdout, stderr = response.stdout or "", response.stderr or ""
    if response.timed_out:
        raise ProcessExecutionError(
            f"session command {command!r} timed out (its processes were killed)",
            response.exit_code if response.exit_code is not None else 124,
            stdout,
            stderr,
            timed_out=True,
        )
    if check and response.exit_code:
        detail = stderr.strip().splitlines()[-1:] or [""]
        raise ProcessExecutionError(
            f"session command {command!r} exited with code {response.exit_code}"
            + (f": {detail[0]}" if detail[0] else ""),
            response.exit_code,
            stdout,
            stderr,
        )
    return response


def parse_frame(line: str) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except ValueError:
        raise DaytonaConnectionError(f"the server sent a malformed stream line: {line[:200]!r}") from None
    if not isinstance(event, dict):
        raise DaytonaConnectionError(f"the server sent a malformed stream line: {line[:200]!r}")
    return event


# A followed log over a WebSocket: each message is one stream's bytes after its marker.
LOG_MARKERS = {b"\x01\x01\x01": "stdout", b"\x02\x02\x02": "stderr"}


class LogDemux:
    """Turns followed-log messages into LogChunks: each stream decoded on its own, a character split
    across messages (or a reconnect) kept whole; `offset` counts the log's bytes consumed."""

    def __init__(self, offset: int) -> None:
        self.offset = offset
        self._decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in LOG_MARKERS.values()}

    def feed(self, message: str | bytes) -> LogChunk | None:
        raw = message.encode() if isinstance(message, str) else message
        stream = LOG_MARKERS.get(raw[:3])
        if stream is None:
            raise DaytonaConnectionError(f"the server sent a log message without a stream marker: {raw[:40]!r}")
        self.offset += len(raw) - 3
        text = self._decoders[stream].decode(raw[3:])
        return LogChunk(stream, text, self.offset) if text else None

    def flush(self) -> list[LogChunk]:
        tails = [(stream, decoder.decode(b"", final=True)) for stream, decoder in self._decoders.items()]
        return [LogChunk(stream, text, self.offset) for stream, text in tails if text]


class _Text:
    """Capped text accumulator; marks truncation like the server does."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.cut = False

    def add(self, text: str) -> None:
        room = self.limit - self.size
        if room < len(text):
            self.cut = True
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))

    def value(self) -> str:
        text = "".join(self.parts)
        return text + (f"\n[output truncated: more than {self.limit} characters]\n" if self.cut else "")


class ExecStream:
    """Consumes the NDJSON frames of a streamed `exec`/`code_run`: calls back, and builds the result."""

    def __init__(
        self, on_stdout: OutputCallback | None, on_stderr: OutputCallback | None, limit: int = MAX_OUTPUT_CHARS
    ) -> None:
        self.callbacks = {"stdout": on_stdout, "stderr": on_stderr}
        self.texts = {"stdout": _Text(limit), "stderr": _Text(limit), "combined": _Text(limit)}
        self.end: dict[str, Any] | None = None

    def feed(self, line: str) -> None:
        event = parse_frame(line)
        kind = event.get("type")
        if kind in ("stdout", "stderr"):
            data = str(event.get("data", ""))
            self.texts[kind].add(data)
            self.texts["combined"].add(data)
            callback = self.callbacks[kind]
            if callback is not None:
                callback(data)
        elif kind == "end":
            self.end = event

    def result(self) -> dict[str, Any]:
        """The same shape as a plain `execute` answer."""
        if self.end is None:
            raise DaytonaConnectionError("the output stream ended before the command did")
        combined = self.texts["combined"].value()
        if self.end.get("message"):
            combined += f"\n[{self.end['message']}]\n"
        return {
            "exitCode": self.end.get("exitCode", -1),
            "result": combined,
            "stdout": self.texts["stdout"].value(),
            "stderr": self.texts["stderr"].value(),
            "timedOut": bool(self.end.get("timedOut")),
        }


def command_logs(lines: list[str]) -> CommandLogs:
    """A non-follow NDJSON read of a log: its chunks, then the `end` frame."""
    texts = {"stdout": [], "stderr": [], "combined": []}  # type: dict[str, list[str]]
    end: dict[str, Any] | None = None
    for line in lines:
        event = parse_frame(line)
        kind = event.get("type")
        if kind in ("stdout", "stderr"):
            texts[kind].append(str(event.get("data", "")))
            texts["combined"].append(str(event.get("data", "")))
        elif kind == "end":
            end = event
    if end is None:
        raise DaytonaConnectionError("the log stream ended early")
    code = end.get("exitCode")
    return CommandLogs(
        output="".join(texts["combined"]),
        stdout="".join(texts["stdout"]),
        stderr="".join(texts["stderr"]),
        offset=int(end.get("offset", 0)),
        done=bool(end.get("done")),
        exit_code=int(code) if code is not None else None,
        truncated=bool(end.get("truncated")),
    )
