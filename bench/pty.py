"""Keystroke echo through a terminal: our PTY over the server's WebSocket next to an attached `docker exec -it`.

Each run sends one key to a shell's terminal and waits for its echo (the terminal's line discipline
echoes it), N times, after a few uncounted warm-up keys:
  - ours: `…/process/pty/create-connect` through the server (the path today's SDKs use), binary
    input messages, the echo arriving as output messages;
  - Docker: `exec_create(tty=True, stdin=True)` + `exec_start(socket=True)` through the Docker SDK, on
    a container of the same image, the key written to the attached socket.
Prints p50, p95 and min in milliseconds.

Run: `.venv/bin/python bench/pty.py --runs 200` (starts its own server, as bench/create_exec.py).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import docker
from websockets.sync.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from create_exec import own_server

from daytona_sdk import Daytona, DaytonaConfig
from daytona_server.config import DEFAULT_IMAGE

WARMUP = 5
KEY_TIMEOUT_S = 5.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def keystrokes(send: Callable[[bytes], None], wait_for: Callable[[bytes], None], runs: int) -> list[float]:
    times = []
    for i in range(WARMUP + runs):
        key = b"abcdefghijklmnopqrstuvwxyz"[i % 26 : i % 26 + 1]
        began = time.perf_counter()
        send(key)
        wait_for(key)
        if i >= WARMUP:
            times.append((time.perf_counter() - began) * 1000)
        if i % 50 == 49:
            send(b"\x15")  # Ctrl-U: clear the line now and then
            time.sleep(0.05)
    return times


def ours(url: str, key: str, runs: int) -> list[float]:
    with Daytona(DaytonaConfig(api_key=key, server_url=url, target="us")) as daytona:
        workspace = daytona.create()
        try:
            ws_url = url.replace("http://", "ws://") + f"/toolbox/{workspace.id}/process/pty/create-connect"
            with connect(
                f"{ws_url}?id=bench&cols=80&rows=24",
                additional_headers={"Authorization": f"Bearer {key}"},
                subprotocols=["X-Daytona-Pty-Exit-Control"],  # type: ignore[list-item]
                max_size=None,
            ) as ws:
                ws.recv(timeout=KEY_TIMEOUT_S)  # {"type":"control","status":"connected"}
                drain(ws, 1.0)  # the prompt

                def wait_for(wanted: bytes) -> None:
                    deadline = time.monotonic() + KEY_TIMEOUT_S
                    while time.monotonic() < deadline:
                        message = ws.recv(timeout=KEY_TIMEOUT_S)
                        if isinstance(message, bytes) and wanted in message:
                            return
                        if isinstance(message, str) and wanted.decode() in message:
                            return
                    raise TimeoutError(f"no echo of {wanted!r}")

                return keystrokes(ws.send, wait_for, runs)
        finally:
            daytona.remove(workspace)


def drain(ws: ClientConnection, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            ws.recv(timeout=0.2)
        except TimeoutError:
            return


def docker_exec(runs: int) -> list[float]:
    client = docker.from_env()
    container = client.containers.run(
        DEFAULT_IMAGE, ["sleep", "infinity"], detach=True, network_mode="none", labels={"daytona-bench": "pty"}
    )
    try:
        exec_id = client.api.exec_create(container.id, ["bash"], tty=True, stdin=True, user="daytona")["Id"]
        raw = client.api.exec_start(exec_id, tty=True, socket=True)
        sock: socket.socket = raw._sock  # type: ignore[union-attr]
        sock.settimeout(KEY_TIMEOUT_S)
        time.sleep(1.0)
        sock.setblocking(False)
        try:
            while sock.recv(65536):
                pass
        except BlockingIOError:
            pass
        sock.settimeout(KEY_TIMEOUT_S)

        def wait_for(wanted: bytes) -> None:
            while wanted not in sock.recv(65536):
                pass

        return keystrokes(sock.sendall, wait_for, runs)
    finally:
        container.remove(force=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with own_server() as (url, key):
        ours_ms = ours(url, key, args.runs)
    docker_ms = docker_exec(args.runs)
    print(f"keystroke echo, {args.runs} keys ({WARMUP} warm-up keys not counted), ms")
    print(f"{'':28}{'p50':>9}{'p95':>9}{'min':>9}")
    for name, values in (("ours: PTY over WebSocket", ours_ms), ("docker exec -it (Docker SDK)", docker_ms)):
        print(f"{name:28}{statistics.median(values):9.2f}{percentile(values, 95):9.2f}{min(values):9.2f}")


if __name__ == "__main__":
    main()
