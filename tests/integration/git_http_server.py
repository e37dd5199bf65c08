"""A git smart-HTTP server with Basic auth, uploaded into a sandbox by the git tests and run there.

Serves the bare repositories under ROOT on 127.0.0.1:PORT (the sandbox's own loopback) through
`git http-backend`. Every request needs Basic auth as USER with one of PASSWORDS (comma-separated),
except for the repositories named in PUBLIC (comma-separated), open to anyone.

    python3 git_http_server.py ROOT PORT USER PASSWORDS [PUBLIC]
"""

import base64
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ROOT, PORT, USER = sys.argv[1], int(sys.argv[2]), sys.argv[3]
PASSWORDS = set(sys.argv[4].split(","))
PUBLIC = {name for name in (sys.argv[5] if len(sys.argv) > 5 else "").split(",") if name}
BACKEND = "/usr/lib/git-core/git-http-backend"


class GitHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: no keep-alive bookkeeping

    def _authorized(self) -> bool:
        accepted = {"Basic " + base64.b64encode(f"{USER}:{p}".encode()).decode() for p in PASSWORDS}
        return self.headers.get("Authorization") in accepted

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self) -> None:
        url = urlsplit(self.path)
        repo = url.path.lstrip("/").split("/", 1)[0]
        authorized = self._authorized()
        if not authorized and repo not in PUBLIC:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": ROOT,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type") or "",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding") or "",
            "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol") or "",
        }
        env["REMOTE_USER"] = USER if authorized else "anonymous"  # enables receive-pack
        body = self._body() if self.command == "POST" else b""
        env["CONTENT_LENGTH"] = str(len(body))
        done = subprocess.run([BACKEND], input=body, env=env, capture_output=True)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        if not payload and b"\n\n" in head:
            head, _, payload = done.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _serve


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", PORT), GitHandler).serve_forever()
