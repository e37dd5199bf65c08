"""Preview links reach a port inside the sandbox; private sandboxes need a token or the API key."""

from __future__ import annotations

import time

import httpx

from daytona_sdk import Workspace

from .conftest import RunningServer


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
    unknown = httpx.get(base, headers={"Host": f"8080-no-such-sandbox.localhost:{server.port}"})
    assert unknown.status_code == 404
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
