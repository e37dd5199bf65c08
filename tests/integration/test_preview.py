"""Preview links reach a port inside the sandbox; private sandboxes need a token or the API key."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx

from daytona_sdk import Workspace

from ..support.server import RunningServer


def serve_in_sandbox(workspace: Workspace, port: int) -> None:
    workspace.process.exec(
        "mkdir -p /tmp/site && echo 'hello from the sandbox' > /tmp/site/index.html && "
        f"cd /tmp/site && nohup python3 -m http.server {port} --bind 127.0.0.1 > /tmp/http.log 2>&1 &"
    )
    deadline = time.monotonic() + 20
    while workspace.process.exec(
        f"python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}))'"
    ).exit_code:
        assert time.monotonic() < deadline, "the server in the sandbox did not start"
        time.sleep(0.2)


def test_preview_link_private_and_public(workspace: Workspace, server: RunningServer) -> None:
    serve_in_sandbox(workspace, 8080)
    link = workspace.get_preview_url(8080)
    assert link.url == f"http://8080-{workspace.id}.localhost:{server.port}"
    assert workspace.get_preview_link(8080) == link.url
    base = f"http://127.0.0.1:{server.port}"
    host = {"Host": f"8080-{workspace.id}.localhost:{server.port}"}

    refused = httpx.get(f"{base}/index.html", headers=host)
    assert refused.status_code == 401 and "preview token" in refused.json()["message"]
    wrong = httpx.get(f"{base}/index.html", headers={**host, "X-Daytona-Preview-Token": "nope"})
    assert wrong.status_code == 401

    with_token = httpx.get(f"{base}/index.html", headers={**host, "X-Daytona-Preview-Token": link.token})
    assert (with_token.status_code, with_token.text) == (200, "hello from the sandbox\n")
    with_key = httpx.get(f"{base}/index.html", headers={**host, "Authorization": f"Bearer {server.api_key}"})
    assert with_key.status_code == 200
    missing = httpx.get(f"{base}/nope.html", headers={**host, "X-Daytona-Preview-Token": link.token})
    assert missing.status_code == 404  # the sandbox's own 404, relayed

    httpx.post(
        f"{server.url}/workspace/{workspace.id}/public/true", headers={"Authorization": f"Bearer {server.api_key}"}
    ).raise_for_status()
    assert httpx.get(f"{base}/index.html", headers=host).status_code == 200


def test_preview_bad_targets(workspace: Workspace, server: RunningServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    token = workspace.get_preview_url(9999).token
    closed = httpx.get(
        base, headers={"Host": f"9999-{workspace.id}.localhost:{server.port}", "X-Daytona-Preview-Token": token}
    )
    assert closed.status_code == 502 and "nothing is listening on port 9999" in closed.json()["message"]
    # A stranger gets the same answer for a missing sandbox as for an existing private one.
    unknown = httpx.get(base, headers={"Host": f"8080-no-such-sandbox.localhost:{server.port}"})
    private = httpx.get(base, headers={"Host": f"8080-{workspace.id}.localhost:{server.port}"})
    assert unknown.status_code == private.status_code == 401
    assert unknown.json()["message"].replace("no-such-sandbox", "X") == private.json()["message"].replace(
        workspace.id, "X"
    )
    bad_token = {"X-Daytona-Preview-Token": token}
    assert (
        httpx.get(base, headers={"Host": f"9999-no-such-sandbox.localhost:{server.port}", **bad_token}).status_code
        == 401
    )
    admin = {"Authorization": f"Bearer {server.api_key}"}
    assert (
        httpx.get(base, headers={"Host": f"8080-no-such-sandbox.localhost:{server.port}", **admin}).status_code == 404
    )
    # The API itself is unaffected by preview routing.
    assert httpx.get(f"{base}/api/health").status_code == 200


ECHO_SERVER = """
import http.server, json
class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(dict(self.headers)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", 9090), Echo).serve_forever()
"""


def test_server_credentials_never_reach_the_sandbox(workspace: Workspace, server: RunningServer) -> None:
    workspace.process.exec(
        f"cat > /tmp/echo.py <<'EOF'\n{ECHO_SERVER}\nEOF\nnohup python3 /tmp/echo.py >/dev/null 2>&1 &"
    )
    token = workspace.get_preview_url(9090).token
    headers = {
        "Host": f"9090-{workspace.id}.localhost:{server.port}",
        "X-Daytona-Preview-Token": token,
        "Cookie": "app=kept; daytona_session=secret-session",
        "X-Custom": "passes",
    }
    deadline = time.monotonic() + 20
    while True:
        response = httpx.get(f"http://127.0.0.1:{server.port}/", headers=headers)
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    seen = {k.lower(): v for k, v in response.json().items()}
    assert seen["x-custom"] == "passes" and seen["cookie"] == "app=kept"
    assert "x-daytona-preview-token" not in seen and "authorization" not in seen
    with_key = httpx.get(
        f"http://127.0.0.1:{server.port}/", headers={**headers, "Authorization": f"Bearer {server.api_key}"}
    )
    assert "authorization" not in {k.lower() for k in with_key.json()}


RAW_ECHO_SERVER = """
import http.server, json
class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def _answer(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        out = json.dumps({"method": self.command, "target": self.path, "body": body.decode()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.send_header("X-Echo", "yes")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)
    do_GET = do_POST = do_PUT = do_HEAD = _answer
http.server.HTTPServer(("127.0.0.1", 9191), Echo).serve_forever()
"""


def test_preview_relays_bytes_unchanged(workspace: Workspace, server: RunningServer) -> None:
    """Encoded paths and queries arrive as sent, chunked bodies arrive whole, and HEAD is relayed."""
    workspace.process.exec(
        f"cat > /tmp/raw.py <<'EOF'\n{RAW_ECHO_SERVER}\nEOF\nnohup python3 /tmp/raw.py >/dev/null 2>&1 &"
    )
    headers = {"Host": f"9191-{workspace.id}.localhost:{server.port}",
               "X-Daytona-Preview-Token": workspace.get_preview_url(9191).token}  # fmt: skip
    base = f"http://127.0.0.1:{server.port}"
    target = "/files/a%20b%2Fc?q=a%26b&empty=&plus=a+b&same=1&same=2"
    deadline = time.monotonic() + 20
    with httpx.Client(base_url=base, headers=headers) as client:
        while (response := client.get(target)).status_code != 200:
            assert time.monotonic() < deadline, response.text
            time.sleep(0.2)
        assert response.json() == {"method": "GET", "target": target, "body": ""}

        def chunks() -> Iterator[bytes]:
            yield b"first,"
            yield b"second"

        streamed = client.post("/upload?x=1", content=chunks())  # no length: sent chunked
        assert streamed.json() == {"method": "POST", "target": "/upload?x=1", "body": "first,second"}
        head = client.head(target)
        assert head.status_code == 200 and head.headers["x-echo"] == "yes" and head.content == b""
        as_get = json.dumps({"method": "HEAD", "target": target, "body": ""})  # what a GET would have sent
        assert int(head.headers["content-length"]) == len(as_get)
        assert client.get("/after-head").json()["target"] == "/after-head"  # the connection is still sound
