"""Today's code interpreter on the wire (`daytona` 0.226 / `@daytonaio/sdk` 0.218): REST for contexts,
a WebSocket per run. The contexts and processes themselves are interpreter.py's.

    POST   /process/interpreter/context        {cwd?, language?} -> InterpreterContext (200)
    GET    /process/interpreter/context        -> {contexts: [InterpreterContext]}, not the default one
    DELETE /process/interpreter/context/{id}   -> {message}; 400 for `default`, 404 when unknown
    GET    /process/interpreter/execute        WebSocket, one run

The caller's first message is `{code, contextId?, envs?, timeout?, charts?}` (timeout in seconds,
default 600, 0 for none; `charts: true` is ours: matplotlib figures shown come as `chart`
messages, which today's SDKs would ignore). The server sends text messages
`{type: stdout|stderr|error|control|chart, text, name, value, traceback[, chart]}`: output as it
is written, an error with its traceback, then `control` `completed` (or `interrupted`, when the code
raised KeyboardInterrupt itself) and closes with 1000. Other closes:
  4008  timed out: interrupted, the context keeps its variables (an `error` first when the code
        would not stop and its process was killed: that context starts empty next time)
  1007  the first message is not UTF-8 JSON         4400  a field is wrong (the reason says which)
  4404  no such context                             4408  no first message within 30 s
  4429  too many runs wait for that context         4500, 4503  the interpreter could not start
  1009  a message over 4 MiB
4xxx codes are 4000 + the HTTP status of the same failure, as the host server's relay uses them.
A process that ends during a run (crash, os._exit, deletion) gives an `error` and a 1000 close; a
caller that leaves interrupts the run. Messages after the first are ignored.
"""

from __future__ import annotations

import collections
import json
import socket
import threading

from . import websocket
from .http import HttpError, Request, Response, Router, str_field
from .interpreter import Outcome, Registry, Run
from .process import _parse_env
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, NamedTuple, Optional

DEFAULT_TIMEOUT_S = 600.0
FIRST_MESSAGE_S = 30.0
TIMEOUT = 4008
INVALID_JSON = 1007
FIELDS = ("text", "name", "value", "traceback")  # every message has them, as the daemon sends them


class Refused(Exception):
    """Close the WebSocket with `code` and `reason` instead of running anything."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


if TYPE_CHECKING:

    class ExecuteRequest(NamedTuple):
        code: str
        context_id: Optional[str]
        envs: Optional[Dict[str, str]]
        timeout: Optional[float]
        charts: bool

else:  # the same, without typing at run time
    ExecuteRequest = collections.namedtuple("ExecuteRequest", "code context_id envs timeout charts")


def parse_request(payload: bytes) -> ExecuteRequest:
    """The run the first message asks for; Refused when it is not one."""
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Refused(INVALID_JSON, "the first message must be JSON: {code, contextId?, envs?, timeout?}") from None
    if not isinstance(body, dict):
        raise Refused(4400, "the first message must be a JSON object: {code, contextId?, envs?, timeout?}")
    code = body.get("code")
    if code is None or code == "":
        raise Refused(4400, "code is required")
    if not isinstance(code, str):
        raise Refused(4400, "code must be a string")
    context_id = body.get("contextId")
    if context_id is not None and not isinstance(context_id, str):
        raise Refused(4400, "contextId must be a string")
    try:
        envs = _parse_env(body.get("envs"), "envs")
    except HttpError as exc:
        raise Refused(4400, exc.message) from None
    timeout = body.get("timeout")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT_S
    elif isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise Refused(4400, "timeout must be a number of seconds (0 for none)")
    elif timeout < 0:
        raise Refused(4400, "timeout must be greater than or equal to 0")
    charts = body.get("charts", False)
    if not isinstance(charts, bool):
        raise Refused(4400, "charts must be true or false")
    return ExecuteRequest(code, context_id or None, envs, float(timeout) or None, charts)


def _send(ws: websocket.WebSocket, message: Dict[str, Any]) -> None:
    full = {"type": message["type"], **{name: "" for name in FIELDS}}
    full.update(message)
    ws.send(json.dumps(full, ensure_ascii=False))


def _shutdown(ws: websocket.WebSocket) -> None:
    try:
        ws.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _first_message(ws: websocket.WebSocket) -> bytes:
    ws.sock.settimeout(FIRST_MESSAGE_S)
    try:
        message = ws.recv()
    except OSError:
        raise Refused(4408, "no request within %g s: send {code, ...} once connected" % FIRST_MESSAGE_S) from None
    finally:
        ws.sock.settimeout(None)
    if message is None:
        raise websocket.Closed(ws.close_code or 1006)
    return message[1]


def _watch(ws: websocket.WebSocket, gone: threading.Event) -> None:
    """Read (and ignore) what the caller sends until it closes: `gone` tells the run it left."""
    try:
        while ws.recv() is not None:
            pass
    except Exception:
        pass
    finally:
        gone.set()


def _report(ws: websocket.WebSocket, outcome: Outcome, timeout: Optional[float]) -> None:
    """The end of a run on the wire: its last message and the close."""
    if outcome.timed_out:
        if outcome.killed:
            value = (
                "the code did not stop when interrupted at its %gs timeout: its process was killed, so "
                "this context starts empty next time (its variables are lost)" % (timeout or 0)
            )
            _send(ws, {"type": "error", "name": "TimeoutError", "value": value})
        how = "would not stop and was killed: the context starts empty" if outcome.killed else "was interrupted"
        ws.close(TIMEOUT, "timed out after %gs; the code %s" % (timeout or 0, how))
        return
    if outcome.status == "exited":
        if outcome.deleted:
            name, value = "ContextDeleted", "the context was deleted while the code ran"
        else:
            name, value = "InterpreterExited", "%s: its variables are lost; the next run starts afresh" % outcome.detail
        _send(ws, {"type": "error", "name": name, "value": value})
    else:
        _send(ws, {"type": "control", "text": outcome.status})
    ws.close(websocket.NORMAL)


def execute(registry: Registry, ws: websocket.WebSocket) -> None:
    """One run over an upgraded connection, from the first message to the close."""
    try:
        request = parse_request(_first_message(ws))
        context = registry.get(request.context_id)
    except Refused as exc:
        ws.close(exc.code, exc.reason)
        return
    except HttpError as exc:
        ws.close(4000 + exc.status, exc.message)
        return
    gone = threading.Event()
    watcher = threading.Thread(target=_watch, args=(ws, gone), name="interpreter-ws", daemon=True)
    watcher.start()
    try:
        if not context.wait_turn(gone):
            ws.close(4404, "interpreter context %s was deleted" % context.id)
            return
        try:
            run = Run(lambda message: _send(ws, message), request.charts, cut=lambda: _shutdown(ws))
            outcome = context.execute(run, request.code, request.envs, request.timeout, gone)
        finally:
            context.end_turn()
        if not gone.is_set() and not run.gone:
            _report(ws, outcome, request.timeout)
    except HttpError as exc:
        ws.close(4000 + exc.status, exc.message)
    except websocket.Closed:
        pass
    finally:
        ws.close(websocket.NORMAL)
        watcher.join(5)
        if watcher.is_alive():
            _shutdown(ws)  # a caller that never answers the close


def register(router: Router, user: OsUser) -> None:
    registry = Registry(user)

    @router.route("POST", "/process/interpreter/context")
    def create_context(request: Request) -> Response:
        body = request.json()
        context = registry.create(str_field(body, "cwd"), str_field(body, "language"))
        return Response(200, context.info())

    @router.route("GET", "/process/interpreter/context")
    def list_contexts(request: Request) -> Response:
        return Response(200, {"contexts": registry.list()})

    @router.route("DELETE", "/process/interpreter/context/{id}")
    def delete_context(request: Request) -> Response:
        registry.delete(request.params["id"])
        return Response(200, {"message": "Context deleted successfully"})

    @router.route("GET", "/process/interpreter/execute")
    def execute_code(request: Request) -> Response:
        return websocket.websocket(request, lambda ws: execute(registry, ws))
