"""Test hosts on this machine for the network tests: a network namespace behind a veth pair, serving HTTP(S).

The namespace answers on one address of each class the firewall judges: public-looking documentation
ranges (198.51.100.2, 203.0.113.2) and one address each of private, carrier-grade NAT, link-local and
benchmark space. The host routes exactly those /32s into the veth, so no probe can leave the machine.
Everything is removed at `close()`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST_SIDE = "198.51.100.1"  # the host's own end of the veth: a host address, never reachable from a sandbox
PUBLIC = "198.51.100.2"
PUBLIC_2 = "203.0.113.2"
CLASSES = {
    "private 10/8": "10.77.0.2",
    "private 172.16/12": "172.16.77.2",
    "private 192.168/16": "192.168.77.2",
    "carrier-grade NAT 100.64/10": "100.64.77.2",
    "link-local 169.254/16": "169.254.77.2",
    "benchmark 198.18/15": "198.18.77.2",
}
IPV6 = "fd77::2"

SERVER = r"""
import http.server, socketserver, ssl, sys, threading
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"hello from {self.connection.getsockname()[0]} host={self.headers.get('Host')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
plain = Server(("0.0.0.0", 80), Handler)
tls = Server(("0.0.0.0", 443), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
tls.socket = context.wrap_socket(tls.socket, server_side=True)
threading.Thread(target=tls.serve_forever, daemon=True).start()
print("ready", flush=True)
plain.serve_forever()
"""


def _ip(*args: str, ns: str | None = None) -> None:
    argv = ["ip", *(["netns", "exec", ns, "ip"] if ns else []), *args]
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


@dataclass
class TestHosts:
    ns: str
    host_veth: str
    workdir: Path
    server: subprocess.Popen[bytes] | None = None
    host_listener: socket.socket | None = None
    host_port: int = 0
    _threads: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def create(cls, workdir: Path) -> TestHosts:
        tag = f"{os.getpid() % 100000}"
        hosts = cls(ns=f"dtt{tag}", host_veth=f"dtth{tag}", workdir=workdir)
        try:
            hosts._up()
        except BaseException:
            hosts.close()
            raise
        return hosts

    def _up(self) -> None:
        ns, veth, peer = self.ns, self.host_veth, f"dttn{self.ns[3:]}"
        subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True, timeout=30)
        _ip("link", "add", veth, "type", "veth", "peer", "name", peer)
        _ip("link", "set", peer, "netns", ns)
        _ip("addr", "add", f"{HOST_SIDE}/24", "dev", veth)
        _ip("-6", "addr", "add", "fd77::1/64", "dev", veth, "nodad")
        _ip("link", "set", veth, "up")
        _ip("link", "set", "lo", "up", ns=ns)
        _ip("addr", "add", f"{PUBLIC}/24", "dev", peer, ns=ns)
        _ip("-6", "addr", "add", f"{IPV6}/64", "dev", peer, "nodad", ns=ns)
        for address in (PUBLIC_2, *CLASSES.values()):
            _ip("addr", "add", f"{address}/32", "dev", peer, ns=ns)
            _ip("route", "add", f"{address}/32", "via", PUBLIC, "dev", veth)
        _ip("link", "set", peer, "up", ns=ns)
        for address in (PUBLIC, PUBLIC_2, *CLASSES.values()):  # never to the machine's real network
            route = subprocess.run(["ip", "route", "get", address], capture_output=True, text=True, timeout=10)
            assert f"dev {veth}" in route.stdout, f"{address} is not routed into the test veth: {route.stdout}"
        cert, key = self.workdir / "cert.pem", self.workdir / "key.pem"
        openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test"]
        subprocess.run(
            [*openssl, "-keyout", str(key), "-out", str(cert)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        script = self.workdir / "hosts_server.py"
        script.write_text(SERVER)
        self.server = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, str(script), str(cert), str(key)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert self.server.stdout is not None
        line = self.server.stdout.readline()
        assert line.strip() == b"ready", line
        # A service on every address of the host (the control plane would be one): sandboxes must not reach it.
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("0.0.0.0", 0))
        listener.listen(16)
        listener.settimeout(0.5)
        self.host_listener, self.host_port = listener, listener.getsockname()[1]
        thread = threading.Thread(target=self._serve_host, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _serve_host(self) -> None:
        deadline = time.monotonic() + 3600
        while self.host_listener is not None and time.monotonic() < deadline:
            try:
                conn, _ = self.host_listener.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nhost")

    def close(self) -> None:
        listener, self.host_listener = self.host_listener, None
        if listener is not None:
            listener.close()
        if self.server is not None:
            self.server.kill()
            self.server.wait(timeout=10)
        subprocess.run(["ip", "link", "del", self.host_veth], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=30)
