"""A small HTTP/1.1 server on a unix socket, standard library only.

The agent is reached by the host server through this socket alone: no TCP port is opened inside
the sandbox. Handlers are plain functions that take a `Request` and return a `Response`; the router
may load whole features at their first request (`Router.lazy`), so that an idle agent stays small.
The wire itself is http_protocol.py's; each connection has a thread of its own.
"""

from __future__ import annotations

import json
import os
import re
import select
import socket
import stat
import sys
import threading

from . import http_protocol

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO, Callable, Dict, Iterable, List, Optional, Pattern, Tuple

    Handler = Callable[["Request"], "Response"]
    Takeover = Callable[[socket.socket, BinaryIO], None]


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
        takeover: Optional[Takeover] = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.stream = stream
        self.headers = headers or {}
        # Takes the connection over (a WebSocket, a tunnel): gets the socket and its reader, answers itself.
        self.takeover = takeover


def error_body(status: int, message: str) -> Dict[str, Any]:
    return {"statusCode": status, "message": message, "error": http_protocol.phrase(status) or "Error"}


class LazyFeature:
    """Routes under some path prefixes that `load(router)` adds at the first request for one of them."""

    def __init__(self, prefixes: Tuple[str, ...], load: Callable[[Router], Any]) -> None:
        self.prefixes = prefixes
        self._load = load
        self._lock = threading.Lock()
        self.loaded = False
        self.value: Any = None  # what `load` returned

    def load(self, router: Router) -> None:
        with self._lock:
            if not self.loaded:
                self.value = self._load(router)
                self.loaded = True
                router.pending.remove(self)


class Router:
    """Routes by method and path; `{name}` matches one path segment, `{name:path}` the rest.

    Matched values are in `request.params`.
    """

    def __init__(self) -> None:
        self.routes: Dict[Tuple[str, str], Handler] = {}
        self.patterns: List[Tuple[str, Pattern[str], Handler]] = []
        self.pending: List[LazyFeature] = []

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

    def lazy(self, prefixes: Tuple[str, ...], load: Callable[[Router], Any]) -> LazyFeature:
        """Have `load(router)` add the routes under `prefixes` when a request for one of them first comes.

        Every route it adds must lie under one of the prefixes: no other path loads the feature.
        """
        feature = LazyFeature(prefixes, load)
        self.pending.append(feature)
        return feature

    def load_all(self) -> None:
        """Load every feature not loaded yet (tests: the whole route table)."""
        for feature in list(self.pending):
            feature.load(self)

    def adopt(self, other: Router) -> None:
        """Serve `other`'s routes (and its features still to load) instead of this router's own."""
        self.routes, self.patterns, self.pending = other.routes, other.patterns, other.pending

    def dispatch(self, request: Request) -> Response:
        for feature in [f for f in self.pending if request.path.startswith(f.prefixes)]:
            feature.load(self)
        handler = self.routes.get((request.method, request.path))
        if handler is not None:
            return handler(request)
        path_known = any(p == request.path for (_, p) in self.routes)
        for method, pattern, func in self.patterns:
            match = pattern.match(request.path)
            if match:
                if method == request.method:
                    request.params = {k: http_protocol.unquote(v) for k, v in match.groupdict().items()}
                    return func(request)
                path_known = True
        if path_known:
            raise HttpError(405, "method %s not allowed on %s" % (request.method, request.path))
        raise HttpError(404, "no such toolbox endpoint: %s %s" % (request.method, request.path))


# -- the server --------------------------------------------------------------------------------------


class Server:
    """Serves `router` on a unix socket (replacing a stale socket left by a previous start)."""

    def __init__(self, socket_path: str, router: Router) -> None:
        self.router = router
        try:
            if stat.S_ISSOCK(os.lstat(socket_path).st_mode):
                os.unlink(socket_path)
        except FileNotFoundError:
            pass
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.socket.bind(socket_path)
        self.socket.listen(128)
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._poller = select.poll()
        self._poller.register(self.socket, select.POLLIN)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Accept connections until `shutdown()`, each served on a thread of its own.

        The accept waits at most `poll_interval`: the main thread must come back to run signal handlers.
        """
        self._stopped.clear()
        try:
            while not self._stop.is_set():
                if not self._poller.poll(poll_interval * 1000):
                    continue
                try:
                    conn, _ = self.socket.accept()
                except OSError:
                    continue  # the peer gave up, or too many open files: keep serving
                try:
                    threading.Thread(target=self._connection, args=(conn,), daemon=True).start()
                except RuntimeError:  # no thread to be had (the sandbox's process limit): refuse it
                    conn.close()
        finally:
            self._stop.clear()
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop `serve_forever` (running on another thread) and wait until it has."""
        self._stop.set()
        self._stopped.wait()

    def server_close(self) -> None:
        self.socket.close()

    def _connection(self, conn: socket.socket) -> None:
        rfile = conn.makefile("rb")
        try:
            while self._exchange(conn, rfile):
                pass
        except OSError:
            pass  # the peer went away
        except Exception:  # a bug in the agent: report it, drop this connection, keep serving
            import traceback

            traceback.print_exc(file=sys.stderr)
        finally:
            rfile.close()
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            conn.close()

    def _exchange(self, conn: socket.socket, rfile: BinaryIO) -> bool:
        """Read one request and answer it; whether the connection may carry another."""
        try:
            head = http_protocol.read_head(rfile)
        except http_protocol.BadRequest as exc:
            body = json.dumps(error_body(exc.status, exc.message)).encode()
            fields = [("Content-Type", "application/json"), ("Connection", "close")]
            conn.sendall(http_protocol.response_head(exc.status, [*fields, ("Content-Length", str(len(body)))]) + body)
            return False
        if head is None:
            return False
        if head.method not in http_protocol.METHODS:
            self._send(conn, head, Response(501, error_body(501, "unsupported method (%r)" % head.method)), True)
            return False
        if head.expects_continue():
            conn.sendall(http_protocol.CONTINUE)
        path, query = http_protocol.split_target(head.target)
        request = Request(head.method, path, http_protocol.parse_query(query), head.headers, rfile, raw_query=query)
        try:
            response = self.router.dispatch(request)
        except HttpError as exc:
            response = _error(request, exc)
        except Exception as exc:  # a bug in the agent: report it, keep serving
            import traceback

            traceback.print_exc(file=sys.stderr)
            response = _error(request, HttpError(500, "agent error: %s" % exc))
        # Unread body bytes would corrupt the next request on this keep-alive connection.
        request.drain()
        if response.takeover is not None:
            response.takeover(conn, rfile)  # the connection is the handler's now, then it ends
            return False
        closing = request.malformed or not head.keep_alive
        return self._send(conn, head, response, closing)

    def _send(self, conn: socket.socket, head: http_protocol.RequestHead, response: Response, closing: bool) -> bool:
        """Write `response`; whether the connection may carry another request."""
        fields = [("Content-Type", response.content_type), *response.headers.items()]
        if any(k.lower() == "connection" and v.lower() == "close" for k, v in response.headers.items()):
            closing = True
        stream = response.stream
        try:
            if head.method == "HEAD":  # headers only; a body would break the keep-alive connection
                conn.sendall(http_protocol.response_head(response.status, fields))
                for _ in stream or ():
                    pass
            elif stream is not None:
                conn.sendall(http_protocol.response_head(response.status, [*fields, ("Transfer-Encoding", "chunked")]))
                for chunk in stream:
                    if chunk:
                        conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                conn.sendall(b"0\r\n\r\n")
            else:
                body = response.body
                payload = bytes(body) if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
                fields.append(("Content-Length", str(len(payload))))
                conn.sendall(http_protocol.response_head(response.status, fields) + payload)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # a generator's `finally` runs now, also when the client went away
        return not closing


def _error(request: Request, exc: HttpError) -> Response:
    from . import wire

    if not wire.is_current(request.headers):
        return Response(exc.status, error_body(exc.status, exc.message))
    status = exc.current_status or exc.status
    body = error_body(status, exc.message)
    body.update(wire.error_fields(status, exc.code, request.method, request.path))
    return Response(status, body)


def serve(socket_path: str, router: Router) -> None:
    """Listen on `socket_path` and serve forever."""
    server = Server(socket_path, router)
    os.chmod(socket_path, 0o600)
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    server.serve_forever(poll_interval=0.5)
