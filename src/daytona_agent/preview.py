"""Preview links: HTTP requests for a port of the sandbox, relayed to 127.0.0.1:<port> inside it.

Path and query go on byte for byte as they came (still percent-encoded); bodies with a length or
chunked; HEAD gets headers only.
"""

from __future__ import annotations

import http.client
import socket
import threading

from .http import HttpError, Request, Response, Router
from .websocket import is_upgrade

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Iterator

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
}
CHUNK = 65536
TIMEOUT_S = 300


def _relay(request: Request) -> Response:
    try:
        port = int(request.params["port"])
    except ValueError:
        raise HttpError(400, "port must be a number") from None
    if not 1 <= port <= 65535:
        raise HttpError(400, "port must be between 1 and 65535")
    prefix = "/preview/%s" % request.params["port"]
    path = request.path[len(prefix) :] if request.path.startswith(prefix + "/") else "/"
    target = path + ("?" + request.raw_query if request.raw_query else "")
    if is_upgrade(request):
        return _tunnel(request, port, target)
    headers: Dict[str, str] = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
    headers["Host"] = "localhost:%d" % port
    chunked = "chunked" in (request.headers.get("Transfer-Encoding") or "").lower()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        conn.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
        for key, value in headers.items():
            conn.putheader(key, value)
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        else:
            conn.putheader("Content-Length", request.headers.get("Content-Length") or "0")
        conn.endheaders()
        while True:
            data = request.read(CHUNK)  # the agent's Request decodes a chunked body
            if chunked:
                conn.send(b"%x\r\n%s\r\n" % (len(data), data) if data else b"0\r\n\r\n")
            elif data:
                conn.send(data)
            if not data:
                break
        upstream = conn.getresponse()
    except ConnectionRefusedError:
        conn.close()
        raise HttpError(502, "nothing is listening on port %d in the sandbox" % port) from None
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        raise HttpError(502, "the server on port %d in the sandbox failed: %s" % (port, exc)) from None

    def body() -> Iterator[bytes]:
        try:
            while True:
                chunk = upstream.read1(CHUNK) if hasattr(upstream, "read1") else upstream.read(CHUNK)
                if not chunk:
                    return
                yield chunk
        finally:
            conn.close()

    out_headers = {k: v for k, v in upstream.getheaders() if k.lower() not in _HOP_BY_HOP | {"content-type"}}
    if request.method == "HEAD" and upstream.getheader("Content-Length"):
        out_headers["Content-Length"] = upstream.getheader("Content-Length", "0")
    return Response(
        upstream.status,
        content_type=upstream.getheader("Content-Type", "application/octet-stream"),
        stream=body(),
        headers=out_headers,
    )


def _tunnel(request: Request, port: int, target: str) -> Response:
    """A WebSocket upgrade for the app on `port`: its request goes on, then the bytes both ways, as they are.

    The app answers the handshake itself (101 or a refusal); the server's end speaks WebSocket to it.
    """
    try:
        app = socket.create_connection(("127.0.0.1", port), timeout=10)
    except ConnectionRefusedError:
        raise HttpError(502, "nothing is listening on port %d in the sandbox" % port) from None
    except OSError as exc:
        raise HttpError(502, "cannot reach port %d in the sandbox: %s" % (port, exc)) from None
    app.settimeout(None)
    skip = _HOP_BY_HOP - {"connection", "upgrade"}
    lines = ["%s %s HTTP/1.1" % (request.method, target), "Host: localhost:%d" % port]
    lines += ["%s: %s" % (k, v) for k, v in request.headers.items() if k.lower() not in skip]

    def takeover(client: socket.socket, rfile: Any) -> None:
        try:
            app.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            thread = threading.Thread(target=_pipe, args=(app, client), daemon=True)
            thread.start()
            _pipe(client, app, rfile)
            thread.join(timeout=TIMEOUT_S)
        finally:
            app.close()

    return Response(101, takeover=takeover)


def _pipe(source: socket.socket, sink: socket.socket, rfile: Any = None) -> None:
    """Copy until the source ends, then end the sink's writing side (reading through `rfile` when
    given: it holds what the agent's HTTP server read ahead)."""
    try:
        while True:
            data = rfile.read1(CHUNK) if rfile is not None else source.recv(CHUNK)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def register(router: Router, user: object = None) -> None:
    """`/preview/{port}/...` in every method (any user's app: `user` is not needed)."""
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        router.route(method, "/preview/{port}/{path:path}")(_relay)
