"""Session endpoints, wire-compatible with `daytona_api_client` 0.14.0, plus input, follow and offsets.

    POST   /process/session                                   {sessionId} -> Session (200)
    GET    /process/session                                   -> [Session]
    GET    /process/session/{sessionId}                       -> Session {sessionId, commands}
    DELETE /process/session/{sessionId}                       kills what runs in it
    POST   /process/session/{sessionId}/exec                  {command, async|runAsync, timeout?}
                                                              -> {cmdId, output, exitCode, stdout, stderr}
    GET    /process/session/{sessionId}/command/{commandId}   -> Command {id, command, exitCode, ...}
    GET    .../command/{commandId}/logs[?offset=N][&follow=true][&format=ndjson|json]
    POST   .../command/{commandId}/input                      {data, eof?}
    GET    /activity                                          -> {busy, runningCommands, openTerminals, lastActivity}

`logs` answers text/plain (the whole log, as the official client expects) with the next offset in
the `X-Daytona-Log-Offset` header. `follow=true` streams until the command has ended;
`format=ndjson` sends `{"type": "stdout"|"stderr", "data", "offset"}` lines (stdout and stderr
apart), pings while the command is silent, and a last `{"type": "end", "exitCode", "offset", ...}`.
`format=json` answers `{output, stdout, stderr}`, today's SessionCommandLogsResponse: the default
for today's SDK (it sends `Accept: application/json`, as 0.14 does, but also `X-Daytona-Source`).
"""

from __future__ import annotations

import codecs
import os
import time

from . import websocket, wire
from .http import HttpError, Request, Response, Router
from .process import MAX_OUTPUT_BYTES, _parse_timeout
from .session_log import STREAM_NAMES, Framer, frame, read_range, split_streams
from .sessions import Command, SessionManager, check_session_id
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Iterator, Optional, Tuple

    from .session_log import Segments

MAX_COMMAND_BYTES = 1024 * 1024
MAX_INPUT_BYTES = 1024 * 1024
PING_INTERVAL_S = 15.0
NDJSON = "application/x-ndjson"
WS_MARKERS = {"stdout": b"\x01\x01\x01", "stderr": b"\x02\x02\x02"}  # before each message's bytes


def _bool(body: Dict[str, Any], *names: str) -> Optional[bool]:
    found: Optional[bool] = None
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, bool):
            raise HttpError(400, "%s must be true or false" % name)
        if found is not None and found != value:
            raise HttpError(400, "%s contradicts %s" % (" and ".join(names), names[0]))
        found = value
    return found


def _flag(request: Request, name: str) -> bool:
    value = (request.arg(name) or "").lower()
    if value in ("", "false", "0", "no"):
        return False
    if value in ("true", "1", "yes"):
        return True
    raise HttpError(400, "%s must be true or false" % name)


def _offset(request: Request, cmd: Command) -> int:
    raw = request.arg("offset")
    if raw is None or raw == "":
        return 0
    try:
        offset = int(raw)
    except ValueError:
        raise HttpError(400, "offset must be a non-negative integer (a byte offset in the log)") from None
    if offset < 0:
        raise HttpError(400, "offset must be a non-negative integer (a byte offset in the log)")
    size = cmd.log.size
    if offset > size:
        raise HttpError(416, "offset %d is past the end of the log (%d bytes so far)" % (offset, size))
    return offset


def _end_frame(cmd: Command, offset: int) -> bytes:
    return frame(
        {
            "type": "end",
            "offset": offset,
            "done": cmd.done,
            "exitCode": cmd.exit_code,
            "timedOut": cmd.timed_out,
            "truncated": cmd.log.truncated,
        }
    )


def install(router: Router, user: OsUser) -> SessionManager:
    """Start the sandbox's session manager (reloading sessions of a previous run) and route to it."""
    manager = SessionManager(user)
    register(router, manager)
    return manager


def register(router: Router, manager: SessionManager) -> None:
    @router.route("POST", "/process/session")
    def create(request: Request) -> Response:
        session_id = check_session_id(request.json().get("sessionId"))
        return Response(200, manager.create(session_id).to_api())

    @router.route("GET", "/process/session")
    def list_sessions(request: Request) -> Response:
        return Response(200, [s.to_api() for s in manager.list()])

    @router.route("GET", "/process/session/{sessionId}")
    def get(request: Request) -> Response:
        with manager.lock:
            return Response(200, manager.get(request.params["sessionId"]).to_api())

    @router.route("DELETE", "/process/session/{sessionId}")
    def delete(request: Request) -> Response:
        manager.delete(request.params["sessionId"])
        return Response(200, b"")

    @router.route("POST", "/process/session/{sessionId}/exec")
    def execute(request: Request) -> Response:
        session_id = request.params["sessionId"]
        manager.get(session_id)  # 404 before looking at the body
        body = request.json()
        command = body.get("command")
        if not isinstance(command, str):
            raise HttpError(400, "command is required (a string)")
        if not command.strip():
            raise HttpError(400, "command must not be empty")
        if "\0" in command:
            raise HttpError(400, "command must not contain NUL characters")
        if len(command.encode("utf-8", errors="surrogateescape")) > MAX_COMMAND_BYTES:
            raise HttpError(413, "command is longer than %d bytes: write it to a file first" % MAX_COMMAND_BYTES)
        run_async = bool(_bool(body, "runAsync", "async"))
        _bool(body, "suppressInputEcho")  # today's SDK: input goes to a pipe, never echoed anyway
        timeout = _parse_timeout(body.get("timeout"))
        cmd = manager.execute(session_id, command, run_async, timeout)
        if run_async:
            return Response(200, {"cmdId": cmd.id, "output": None, "exitCode": None})
        # Opened now, the log stays readable even if the session is deleted meanwhile.
        fd = _open(cmd.log.log_path)
        try:
            manager.wait(cmd)
            with manager.lock:
                segments = cmd.log.segments(0, cmd.log.size)
            parts = split_streams(cmd.log.log_path, segments, MAX_OUTPUT_BYTES, fd)
        finally:
            if fd is not None:
                os.close(fd)
        return Response(
            200,
            {
                "cmdId": cmd.id,
                "output": parts["combined"],
                "exitCode": cmd.exit_code,
                "stdout": parts["stdout"],
                "stderr": parts["stderr"],
                "timedOut": cmd.timed_out,
            },
        )

    @router.route("GET", "/process/session/{sessionId}/command/{commandId}")
    def get_command(request: Request) -> Response:
        with manager.lock:
            return Response(200, manager.command(request.params["sessionId"], request.params["commandId"]).to_api())

    @router.route("GET", "/process/session/{sessionId}/command/{commandId}/logs")
    def logs(request: Request) -> Response:
        cmd = manager.command(request.params["sessionId"], request.params["commandId"])
        follow = _flag(request, "follow")
        if websocket.is_upgrade(request):
            with manager.lock:
                offset = _offset(request, cmd)
            return websocket.websocket(request, lambda ws: _ws_logs(manager, cmd, offset, follow, ws))
        fmt = (request.arg("format") or "").lower() or ("json" if _wants_json(request, follow) else "text")
        if fmt not in ("text", "ndjson", "json"):
            raise HttpError(400, "format must be text, ndjson or json")
        if fmt == "json" and follow:
            raise HttpError(400, "format=json answers once: follow with format=ndjson (or text)")
        with manager.lock:
            offset = _offset(request, cmd)
            end = cmd.log.size
            headers = {"X-Daytona-Log-Offset": str(end), "X-Daytona-Command-Done": str(cmd.done).lower()}
            if cmd.exit_code is not None:
                headers["X-Daytona-Command-Exit-Code"] = str(cmd.exit_code)
        headers["Cache-Control"] = "no-store"
        if fmt == "json":
            return Response(200, _json_logs(manager, cmd, offset, end), headers=headers)
        if fmt == "ndjson":
            return Response(200, content_type=NDJSON, stream=_ndjson(manager, cmd, offset, follow), headers=headers)
        if follow:
            headers.pop("X-Daytona-Log-Offset")  # not known until the stream ends
        stream = _text(manager, cmd, offset, end if not follow else None)
        return Response(200, content_type="text/plain; charset=utf-8", stream=stream, headers=headers)

    @router.route("POST", "/process/session/{sessionId}/command/{commandId}/input")
    def send_input(request: Request) -> Response:
        session_id, command_id = request.params["sessionId"], request.params["commandId"]
        manager.command(session_id, command_id)
        body = request.json()
        data = body.get("data", "")
        if not isinstance(data, str):
            raise HttpError(400, "data must be a string")
        raw = data.encode("utf-8")
        if len(raw) > MAX_INPUT_BYTES:
            raise HttpError(413, "input is longer than %d bytes: send it in parts" % MAX_INPUT_BYTES)
        eof = bool(_bool(body, "eof"))
        if not raw and not eof:
            raise HttpError(400, "data must not be empty (or set eof to close the command's input)")
        manager.send_input(session_id, command_id, raw, eof)
        return Response(200, b"")

    @router.route("GET", "/activity")
    def activity(request: Request) -> Response:
        return Response(200, manager.activity())


def _wants_json(request: Request, follow: bool) -> bool:
    """Today's SDK reads the logs as SessionCommandLogsResponse; 0.14 (same Accept) as plain text."""
    accept = (request.headers.get("Accept") or "").lower()
    return not follow and "application/json" in accept and wire.is_current(request.headers)


def _json_logs(manager: SessionManager, cmd: Command, offset: int, end: int) -> Dict[str, str]:
    """`{output, stdout, stderr}` of the log from `offset` to `end`."""
    fd = _open(cmd.log.log_path)
    try:
        with manager.lock:
            segments = cmd.log.segments(offset, end)
        parts = split_streams(cmd.log.log_path, segments, MAX_OUTPUT_BYTES, fd)
    finally:
        if fd is not None:
            os.close(fd)
    return {"output": parts["combined"], "stdout": parts["stdout"], "stderr": parts["stderr"]}


def _open(path: str) -> Optional[int]:
    try:
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None


def _wait_for_more(manager: SessionManager, cmd: Command, pos: int, timeout: float) -> Tuple[int, bool]:
    """Block until the log grows past `pos`, the command ends, or `timeout`; return (end, done)."""
    deadline = time.monotonic() + timeout
    with manager.changed:
        while cmd.log.size <= pos and not cmd.done and not cmd.session.deleted:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            manager.changed.wait(timeout=min(left, 1.0))
        return cmd.log.size, cmd.done or cmd.session.deleted


def _text(manager: SessionManager, cmd: Command, offset: int, end: Optional[int]) -> Iterator[bytes]:
    """The log as UTF-8 text from `offset`: up to `end`, or (follow) until the command is done."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    fd = _open(cmd.log.log_path)
    pos = offset
    try:
        while True:
            if end is not None:
                stop, done = end, True
            else:
                stop, done = _wait_for_more(manager, cmd, pos, PING_INTERVAL_S)
            for data in read_range(cmd.log.log_path, pos, stop, fd):
                pos += len(data)
                text = decoder.decode(data)
                if text:
                    yield text.encode("utf-8")
            if done and pos >= stop:
                tail = decoder.decode(b"", final=True)
                if tail:
                    yield tail.encode("utf-8")
                return
    finally:
        if fd is not None:
            os.close(fd)


def _pieces(manager: SessionManager, cmd: Command, offset: int, follow: bool) -> Iterator[Tuple[Segments, int, bool]]:
    """The log from `offset` as it grows: (segments of new bytes, the position after them, whether the
    command is done). With `follow`, waits for more and yields empty segments while it is silent;
    without, yields once."""
    pos = offset
    while True:
        if follow:
            stop, done = _wait_for_more(manager, cmd, pos, PING_INTERVAL_S)
        else:
            with manager.lock:
                stop, done = cmd.log.size, True
        segments: Segments = []
        if stop > pos:
            with manager.lock:
                segments = cmd.log.segments(pos, stop)
            pos = stop
        yield segments, pos, done
        if done:
            return


def _ws_logs(manager: SessionManager, cmd: Command, offset: int, follow: bool, ws: websocket.WebSocket) -> None:
    """The log over a WebSocket, as today's SDK reads it: binary messages of stdout (after 01 01 01) and
    stderr (after 02 02 02) bytes from `offset`, closed with 1000 once the command has ended (at once
    without `follow`). It reads from the durable log, so a client that connects again misses nothing."""
    fd = _open(cmd.log.log_path)
    try:
        for segments, _, done in _pieces(manager, cmd, offset, follow):
            for stream, a, b in segments:
                marker = WS_MARKERS[STREAM_NAMES[stream]]
                for data in read_range(cmd.log.log_path, a, b, fd):
                    ws.send(marker + data)
            if not segments and not done:
                ws.ping()  # a client that went away ends the stream here
        ws.close(websocket.NORMAL)
    finally:
        if fd is not None:
            os.close(fd)


def _ndjson(manager: SessionManager, cmd: Command, offset: int, follow: bool) -> Iterator[bytes]:
    framer = Framer()
    fd = _open(cmd.log.log_path)
    try:
        for segments, pos, done in _pieces(manager, cmd, offset, follow):
            yield from framer.frames(cmd.log.log_path, segments, fd)
            if not segments and not done:
                yield frame({"type": "ping", "offset": pos})
            if done:
                yield from framer.flush(pos)
                yield _end_frame(cmd, pos)
    finally:
        if fd is not None:
            os.close(fd)
