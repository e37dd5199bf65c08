"""The agent's own HTTP/1.1 server (http.py over http_protocol.py): the wire as raw bytes on a unix socket."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from websockets.sync.client import unix_connect

from daytona_agent import http_protocol, websocket
from daytona_agent.http import HttpError, Request, Response, Router
from daytona_agent.http_protocol import BadRequest, Headers, read_head

from ..support.agent_server import serving


def test_target_query_and_escapes_decode_as_urllib_parse_does() -> None:
    pieces = ["%", "%2", "%41", "%e2%82%ac", "%C3", "%a9", "+", "&", "=", "?", "#", "/", "a", "\xe9", "%zz", ";", ":"]
    rnd = random.Random(7)
    for _ in range(20000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 10)))
        assert http_protocol.unquote(text) == unquote(text), text
        assert http_protocol.parse_query(text) == parse_qs(text), text
        parts = urlsplit("/" + text)
        assert http_protocol.split_target("/" + text) == (parts.path, parts.query), text
    assert http_protocol.split_target("http://agent/files?path=a") == ("/files", "path=a")


def test_headers_ignore_case_answer_the_first_and_keep_their_order() -> None:
    headers = Headers([("Content-Type", "a"), ("X-Two", "1"), ("x-two", "2")])
    assert headers.get("content-type") == "a" and headers.get("X-TWO") == "1" and headers.get("nope") is None
    assert "CONTENT-TYPE" in headers and headers.items() == [("Content-Type", "a"), ("X-Two", "1"), ("x-two", "2")]


class Lines:
    """A byte string read the way a socket file is read."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def readline(self, limit: int = -1) -> bytes:
        end = self.data.find(b"\n") + 1 or len(self.data)
        end = min(end, limit) if limit >= 0 else end
        line, self.data = self.data[:end], self.data[end:]
        return line


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/x\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\n" + b"X: 1\r\n" * 101 + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nno colon\r\n\r\n", 400),
    ],
)
def test_bad_heads_are_refused_with_http_servers_statuses(raw: bytes, status: int) -> None:
    with pytest.raises(BadRequest) as caught:
        read_head(Lines(raw))  # type: ignore[arg-type]
    assert caught.value.status == status


def test_heads_say_whether_the_connection_goes_on() -> None:
    def head(raw: bytes) -> http_protocol.RequestHead:
        found = read_head(Lines(raw))  # type: ignore[arg-type]
        assert found is not None
        return found

    assert head(b"GET //a//b HTTP/1.1\r\n\r\n").target == "/a//b"
    assert head(b"GET / HTTP/1.1\r\n\r\n").keep_alive
    assert not head(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive
    assert not head(b"GET / HTTP/1.0\r\n\r\n").keep_alive
    assert head(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive
    folded = head(b"\r\nGET / HTTP/1.1\r\nX-Long: a\r\n  b\r\n\r\n")
    assert folded.headers.get("x-long") == "a b"
    assert read_head(Lines(b"")) is None  # type: ignore[arg-type]


# -- the server, byte by byte --------------------------------------------------------------------------


@pytest.fixture
def closed_streams() -> list[str]:
    return []


@pytest.fixture
def socket_path(tmp_path: Path, closed_streams: list[str]) -> Iterator[str]:
    router = Router()

    @router.route("POST", "/echo/{name}")
    def echo(request: Request) -> Response:
        body = request.read()
        return Response(200, {"name": request.params["name"], "q": request.query, "body": body.decode()})

    @router.route("HEAD", "/stream")
    @router.route("GET", "/stream")
    def stream(request: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            try:
                for i in range(int(request.arg("n") or "3")):
                    yield b"chunk%d;" % i
            finally:
                closed_streams.append("closed")

        return Response(200, content_type="text/plain", stream=chunks(), headers={"X-Extra": "1"})

    @router.route("GET", "/boom")
    def boom(request: Request) -> Response:
        raise RuntimeError("a bug")

    @router.route("GET", "/ws")
    def ws(request: Request) -> Response:
        def run(ws: websocket.WebSocket) -> None:
            while (message := ws.recv()) is not None:
                ws.send(message[1].decode() if message[0] else message[1])

        return websocket.websocket(request, run)

    with serving(router, tmp_path / "agent.sock") as path:
        yield path


class Conn:
    """A raw connection to the agent that reads responses off the wire."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.rfile = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
        status = int(self.rfile.readline().split()[1])
        headers: dict[str, str] = {}
        while (line := self.rfile.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.lower()] = value.strip()
        if head_only or status in (100, 101):
            return status, headers, b""
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int(self.rfile.readline(), 16):
                body += self.rfile.read(size)
                assert self.rfile.readline() == b"\r\n"
            assert self.rfile.readline() == b"\r\n"
            return status, headers, body
        return status, headers, self.rfile.read(int(headers["content-length"]))

    def closed(self) -> bool:
        return self.rfile.read(1) == b""


def test_keep_alive_carries_request_after_request(socket_path: str) -> None:
    conn = Conn(socket_path)
    for i in range(3):
        conn.send(b"POST /echo/a%%2Fb?x=1+2&x=%d HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi" % i)
        status, headers, body = conn.response()
        assert status == 200 and headers["content-type"] == "application/json"
        assert headers["server"].startswith("daytona-agent Python/") and headers["date"].endswith(" GMT")
        assert json.loads(body) == {"name": "a/b", "q": {"x": ["1 2", str(i)]}, "body": "hi"}


def test_chunked_bodies_in_and_out(socket_path: str, closed_streams: list[str]) -> None:
    conn = Conn(socket_path)
    conn.send(b"POST /echo/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    conn.send(b"2;ext=1\r\nab\r\n3\r\ncde\r\n0\r\nTrailer: x\r\n\r\n")
    assert json.loads(conn.response()[2])["body"] == "abcde"
    conn.send(b"GET /stream?n=4 HTTP/1.1\r\n\r\n")
    status, headers, body = conn.response()
    assert status == 200 and headers["transfer-encoding"] == "chunked" and headers["x-extra"] == "1"
    assert body == b"chunk0;chunk1;chunk2;chunk3;" and closed_streams == ["closed"]
    conn.send(b"HEAD /stream HTTP/1.1\r\n\r\n")  # headers only: the connection stays usable
    status, headers, _ = conn.response(head_only=True)
    assert status == 200 and "content-length" not in headers and "transfer-encoding" not in headers
    conn.send(b"POST /echo/d HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    assert json.loads(conn.response()[2])["name"] == "d"
    assert closed_streams == ["closed", "closed"]  # HEAD's stream too, before the next request


def test_a_broken_chunked_body_ends_the_connection(socket_path: str) -> None:
    conn = Conn(socket_path)
    conn.send(b"POST /echo/e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert conn.response()[0] == 200 and conn.closed()


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (b"GET /stream HTTP/1.0\r\n\r\n", 200),
        (b"GET /stream HTTP/1.1\r\nConnection: close\r\n\r\n", 200),
        (b"BREW /stream HTTP/1.1\r\n\r\n", 501),
        (b"GET /stream HTTP/3.0\r\n\r\n", 505),
        (b"nonsense\r\n\r\n", 400),
    ],
)
def test_what_ends_a_connection(socket_path: str, request_head: bytes, status: int) -> None:
    conn = Conn(socket_path)
    conn.send(request_head)
    assert conn.response()[0] == status and conn.closed()


def test_errors_answer_json_and_the_connection_goes_on(socket_path: str) -> None:
    conn = Conn(socket_path)
    conn.send(b"GET /boom HTTP/1.1\r\n\r\n")
    status, _, body = conn.response()
    assert status == 500 and json.loads(body)["message"] == "agent error: a bug"
    conn.send(b"GET /nope HTTP/1.1\r\n\r\n")
    assert json.loads(conn.response()[2]) == {
        "statusCode": 404,
        "message": "no such toolbox endpoint: GET /nope",
        "error": "Not Found",
    }
    conn.send(b"GET /echo/x HTTP/1.1\r\n\r\n")
    assert conn.response()[0] == 405


def test_expect_continue_is_answered_before_the_body_is_sent(socket_path: str) -> None:
    conn = Conn(socket_path)
    conn.send(b"POST /echo/f HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
    assert conn.response()[0] == 100
    conn.send(b"abc")
    assert json.loads(conn.response()[2])["body"] == "abc"


def test_a_client_gone_mid_stream_closes_the_stream(socket_path: str, closed_streams: list[str]) -> None:
    conn = Conn(socket_path)
    conn.send(b"GET /stream?n=100000000 HTTP/1.1\r\n\r\n")
    assert conn.response(head_only=True)[0] == 200
    conn.rfile.close()
    conn.sock.close()
    deadline = time.monotonic() + 10
    while not closed_streams and time.monotonic() < deadline:
        time.sleep(0.02)
    assert closed_streams == ["closed"]


def test_websockets_take_the_connection_over(socket_path: str) -> None:
    with unix_connect(socket_path, "ws://agent/ws", compression=None, open_timeout=10) as ws:
        ws.send("text")
        assert ws.recv(timeout=10) == "text"
        ws.send(b"\x00bytes")
        assert ws.recv(timeout=10) == b"\x00bytes"
    assert websocket.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455's example


# -- features loaded at their first request ------------------------------------------------------------


def request(method: str, path: str) -> Request:
    return Request(method, path, {}, Headers([]), None)


def test_a_lazy_feature_loads_once_at_the_first_request_under_its_prefixes() -> None:
    router = Router()
    loads: list[int] = []

    def load(into: Router) -> str:
        loads.append(1)
        into.route("GET", "/feature/{name}")(lambda r: Response(200, {"name": r.params["name"]}))
        return "state"

    feature = router.lazy(("/feature/",), load)
    with pytest.raises(HttpError) as caught:
        router.dispatch(request("GET", "/other"))
    assert caught.value.status == 404 and not feature.loaded and router.pending == [feature]
    threads = [threading.Thread(target=router.dispatch, args=(request("GET", "/feature/x"),)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == [1] and feature.loaded and feature.value == "state" and router.pending == []
    assert router.dispatch(request("GET", "/feature/y")).body == {"name": "y"}
    with pytest.raises(HttpError) as caught:
        router.dispatch(request("POST", "/feature/y"))
    assert caught.value.status == 405


def test_a_feature_that_fails_to_load_is_tried_again() -> None:
    router = Router()
    attempts: list[int] = []

    def load(into: Router) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("not yet")
        into.route("GET", "/f")(lambda r: Response(200, {}))

    router.lazy(("/f",), load)
    with pytest.raises(OSError):
        router.dispatch(request("GET", "/f"))
    assert router.dispatch(request("GET", "/f")).status == 200 and len(attempts) == 2


def test_adopt_serves_the_other_routers_routes_and_features() -> None:
    first, second = Router(), Router()
    first.route("GET", "/identity")(lambda r: Response(200, {}))
    second.lazy(("/late",), lambda into: into.route("GET", "/late")(lambda r: Response(201, {})))
    first.adopt(second)
    assert first.dispatch(request("GET", "/late")).status == 201
    with pytest.raises(HttpError):
        first.dispatch(request("GET", "/identity"))
