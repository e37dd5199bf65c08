"""A small HTTP/1.1 server on a unix socket, standard library only.

The agent is reached by the host server through this socket alone: no TCP port is opened inside
the sandbox. Handlers are plain functions that take a `Request` and return a `Response`.
"""

from __future__ import annotations

import json
import os
import re
import socket
import socketserver
import stat
import sys
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Dict, Iterable, List, Optional, Pattern, Tuple
from urllib.parse import parse_qs, unquote, urlsplit

from . import wire


class HttpError(Exception):
    """Raised by handlers to answer with a JSON error: `{"statusCode", "message", "error"}`.

    Today's wire also gets `code` (a DaemonErrorCode) and `source`, and `current_status` when its
    status differs from 0.14's for the same failure (see wire.py).
    """

    def __init__(
        self, status: int, message: str, code: Optional[str] = None, current_status: Optional[int] = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.current_status = current_status


def str_field(body: Dict[str, Any], name: str, required: bool = False, empty_ok: bool = True) -> Optional[str]:
    """A string field of a JSON body: None when absent (or empty, unless `empty_ok`); 400 when required."""
    value = body.get(name)
    if value is None or (value == "" and not empty_ok):
        if required:
            raise HttpError(400, "%s is required" % name)
        return None
    if not isinstance(value, str):
        raise HttpError(400, "%s must be a string" % name)
    return value


class Request:
    def __init__(
        self, method: str, path: str, query: Dict[str, list], headers: Any, rfile: Any, raw_query: str = ""
    ) -> None:
        self.method = method
        self.path = path  # as sent, still percent-encoded
        self.query = query
        self.raw_query = raw_query
        self.headers = headers
        self._rfile = rfile
        # Bodies come with a Content-Length or, streamed by the proxy, chunked.
        self._chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        self._remaining = 0 if self._chunked else int(headers.get("Content-Length") or 0)
        self._chunk_left = 0
        self._chunks_done = not self._chunked
        self.malformed = False  # a broken chunked body: the connection cannot be reused
        self.params: Dict[str, str] = {}

    def arg(self, name: str, default: Optional[str] = None) -> Optional[str]:
        values = self.query.get(name)
        return values[0] if values else default

    def read(self, size: int = -1) -> bytes:
        """Read up to `size` bytes of the body (all of it when -1)."""
        if self._chunked:
            return self._read_chunked(size)
        if self._remaining <= 0:
            return b""
        if size < 0 or size > self._remaining:
            size = self._remaining
        data = self._rfile.read(size)
        self._remaining -= len(data)
        return data

    @property
    def complete(self) -> bool:
        """Whether the whole body arrived (False when the sender went away or broke the framing)."""
        if self._chunked:
            return self._chunks_done and not self.malformed
        return self._remaining <= 0

    def _read_chunked(self, size: int) -> bytes:
        parts = []
        while not self._chunks_done and size != 0:
            if self._chunk_left == 0:
                self._next_chunk()
                continue
            want = self._chunk_left if size < 0 else min(size, self._chunk_left)
            data = self._rfile.read(want)
            if not data:
                self._broken()
                break
            self._chunk_left -= len(data)
            if self._chunk_left == 0 and self._rfile.readline(3) != b"\r\n":
                self._broken()
            parts.append(data)
            if size > 0:
                size -= len(data)
        return b"".join(parts)

    def _next_chunk(self) -> None:
        line = self._rfile.readline(1024)
        try:
            self._chunk_left = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            self._broken()
            return
        if self._chunk_left < 0:
            self._broken()
        elif self._chunk_left == 0:
            while self._rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields: ignored
            self._chunks_done = True

    def _broken(self) -> None:
        self._chunks_done = True
        self.malformed = True

    def json(self) -> Dict[str, Any]:
        raw = self.read()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise HttpError(400, "request body is not valid JSON: %s" % exc) from None
        if not isinstance(body, dict):
            raise HttpError(400, "request body must be a JSON object")
        return body

    def drain(self) -> None:
        while self.read(65536):
            pass


class Response:
    def __init__(
        self,
        status: int = 200,
        body: Any = None,
        content_type: str = "application/json",
        stream: Optional[Iterable[bytes]] = None,
        headers: Optional[Dict[str, str]] = None,
        takeover: Optional[Callable[[socket.socket, Any], None]] = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.stream = stream
        self.headers = headers or {}
        # Takes the connection over (a WebSocket, a tunnel): gets the socket and its reader, answers itself.
        self.takeover = takeover


Handler = Callable[[Request], Response]


def error_body(status: int, message: str) -> Dict[str, Any]:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return {"statusCode": status, "message": message, "error": reason}


class Router:
    """Routes by method and path; `{name}` matches one path segment, `{name:path}` the rest.

    Matched values are in `request.params`.
    """

    def __init__(self) -> None:
        self.routes: Dict[Tuple[str, str], Handler] = {}
        self.patterns: List[Tuple[str, Pattern[str], Handler]] = []

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def register(func: Handler) -> Handler:
            if "{" in path:
                regex = re.sub(r"\{(\w+):path\}", r"(?P<\1>.*)", path)
                regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
                self.patterns.append((method, re.compile("^" + regex + "$"), func))
            else:
                self.routes[(method, path)] = func
            return func

        return register

    def dispatch(self, request: Request) -> Response:
        handler = self.routes.get((request.method, request.path))
        if handler is not None:
            return handler(request)
        path_known = any(p == request.path for (_, p) in self.routes)
        for method, pattern, func in self.patterns:
            match = pattern.match(request.path)
            if match:
                if method == request.method:
                    request.params = {k: unquote(v) for k, v in match.groupdict().items()}
                    return func(request)
                path_known = True
        if path_known:
            raise HttpError(405, "method %s not allowed on %s" % (request.method, request.path))
        raise HttpError(404, "no such toolbox endpoint: %s %s" % (request.method, request.path))


def _make_handler(router: Router) -> type:
    class AgentRequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "daytona-agent"

        def address_string(self) -> str:
            return "host"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            request = Request(self.command, parts.path, query, self.headers, self.rfile, raw_query=parts.query)
            try:
                response = router.dispatch(request)
            except HttpError as exc:
                response = self._error(request, exc)
            except Exception as exc:  # a bug in the agent: report it, keep serving
                traceback.print_exc(file=sys.stderr)
                response = self._error(request, HttpError(500, "agent error: %s" % exc))
            # Unread body bytes would corrupt the next request on this keep-alive connection.
            request.drain()
            if request.malformed:
                self.close_connection = True
            self._send(response)

        def _error(self, request: Request, exc: HttpError) -> Response:
            if not wire.is_current(request.headers):
                return Response(exc.status, error_body(exc.status, exc.message))
            status = exc.current_status or exc.status
            body = error_body(status, exc.message)
            body.update(wire.error_fields(status, exc.code, request.method, request.path))
            return Response(status, body)

        def _send(self, response: Response) -> None:
            if response.takeover is not None:
                self.wfile.flush()
                self.close_connection = True  # the connection is the handler's now, then it ends
                response.takeover(self.connection, self.rfile)
                return
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            for key, value in response.headers.items():
                self.send_header(key, value)
            if self.command == "HEAD":  # headers only; a body would break the keep-alive connection
                self.end_headers()
                for _ in response.stream or ():
                    pass
                self.wfile.flush()
                return
            if response.stream is not None:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in response.stream:
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return
            if isinstance(response.body, (bytes, bytearray)):
                payload = bytes(response.body)
            else:
                payload = json.dumps(response.body).encode()
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _handle

    return AgentRequestHandler


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(socket_path: str, router: Router) -> None:
    """Listen on `socket_path` (replacing a stale socket left by a previous start) and serve forever."""
    try:
        if stat.S_ISSOCK(os.lstat(socket_path).st_mode):
            os.unlink(socket_path)
    except FileNotFoundError:
        pass
    server = UnixHTTPServer(socket_path, _make_handler(router))
    os.chmod(socket_path, 0o600)
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    server.serve_forever(poll_interval=0.5)
