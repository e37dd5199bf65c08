"""Preview links: HTTP requests for a port of the sandbox, relayed to 127.0.0.1:<port> inside it."""

from __future__ import annotations

import http.client
from typing import Dict, Iterator

from .http import HttpError, Request, Response, Router

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
    path = "/" + request.params.get("path", "")
    query = "&".join("%s=%s" % (k, v) for k, values in request.query.items() for v in values)
    headers: Dict[str, str] = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
    headers["Host"] = "localhost:%d" % port
    length = int(request.headers.get("Content-Length") or 0)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        conn.putrequest(
            request.method, path + ("?" + query if query else ""), skip_host=True, skip_accept_encoding=True
        )
        for key, value in headers.items():
            conn.putheader(key, value)
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
        remaining = length
        while remaining > 0:
            data = request.read(min(CHUNK, remaining))
            if not data:
                break
            conn.send(data)
            remaining -= len(data)
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
    return Response(
        upstream.status,
        content_type=upstream.getheader("Content-Type", "application/octet-stream"),
        stream=body(),
        headers=out_headers,
    )


def register(router: Router) -> None:
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        router.route(method, "/preview/{port}/{path:path}")(_relay)
