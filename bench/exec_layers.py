"""Where an exec round trip's time goes: `true` through each layer, interleaved run by run.

  agent        POST /process/execute straight to the sandbox agent's unix socket (http.client, keep-alive)
  agent-httpx  the same through the proxy's own client (httpx over AsyncAgentTransport, one event loop)
  raw          our server, POST /api/toolbox/{id}/toolbox/process/execute with http.client (keep-alive)
  httpx        the same with an httpx.Client
  sdk          our SDK: `workspace.process.exec("true")`
  official     the published daytona-sdk 0.10 (in .venv-official, `make official-sdk`), in a process of its own
  docker       the Docker SDK: `container.exec_run("true")` on a warm container of the same image
Prints p50 / p95 / min in ms, each layer's ratio to Docker's p50, and the CPU ms the client itself
spent per call (this process, or the official SDK's): what of a round trip is the client's own.

Run: `.venv/bin/python bench/exec_layers.py --runs 200` (starts its own server, as create_exec.py).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import docker
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: create_exec
from create_exec import own_server

from daytona_sdk import Daytona, DaytonaConfig
from daytona_server.config import DEFAULT_IMAGE
from daytona_server.runner.agent_socket import AsyncAgentTransport

REPO = Path(__file__).resolve().parent.parent
OFFICIAL_PY = REPO / ".venv-official" / "bin" / "python"
SOCKET_MOUNT_NAME = "agent.sock"
BODY = json.dumps({"command": "true"}).encode()

# The published SDK in its own venv: one timed exec per line on stdin, its milliseconds on stdout.
OFFICIAL_LOOP = """
import sys, time
from daytona_sdk import Daytona, DaytonaConfig
daytona = Daytona(DaytonaConfig(api_key=sys.argv[1], server_url=sys.argv[2], target="us"))
ws = daytona.get_current_workspace(sys.argv[3])
ws.process.exec("true")
print("ready", flush=True)
for _ in sys.stdin:
    t, cpu = time.perf_counter(), time.process_time()
    assert ws.process.exec("true").exit_code == 0
    print((time.perf_counter() - t) * 1000, (time.process_time() - cpu) * 1000, flush=True)
"""


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("agent")
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def post(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> None:
    conn.request("POST", path, body=BODY, headers={"Content-Type": "application/json", **headers})
    response = conn.getresponse()
    data = response.read()
    if response.status != 200 or json.loads(data)["exitCode"] != 0:
        raise RuntimeError(f"{path}: {response.status} {data[:200]!r}")


def official_exec(official: subprocess.Popen[str]) -> tuple[float, float]:
    """One exec by the published SDK's loop: its wall and CPU milliseconds."""
    assert official.stdin is not None and official.stdout is not None
    official.stdin.write("\n")
    official.stdin.flush()
    wall, cpu = official.stdout.readline().split()
    return float(wall), float(cpu)


def agent_socket(client: docker.DockerClient, sandbox_id: str) -> str:
    """The agent's socket on the host: the source of the container's socket mount."""
    (container,) = client.containers.list(filters={"label": f"io.daytona.sandbox={sandbox_id}"})
    for mount in container.attrs["Mounts"]:
        candidate = Path(mount["Source"]) / SOCKET_MOUNT_NAME
        if candidate.is_socket():
            return str(candidate)
    raise RuntimeError("no agent socket among the container's mounts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--no-official", action="store_true", help="skip the published SDK")
    args = parser.parse_args()
    client = docker.from_env()
    with own_server() as (url, key):
        daytona = Daytona(DaytonaConfig(api_key=key, server_url=url, target="us"))
        ws = daytona.create()
        container = client.containers.run(DEFAULT_IMAGE, "sleep infinity", detach=True, network_mode="none")
        loop = asyncio.new_event_loop()
        official: subprocess.Popen[str] | None = None
        try:
            sock = agent_socket(client, ws.id)
            agent = UnixHTTPConnection(sock)
            async_agent = httpx.AsyncClient(transport=AsyncAgentTransport(sock), base_url="http://agent")
            port = int(url.split(":")[-1].split("/")[0])
            raw = http.client.HTTPConnection("127.0.0.1", port)
            auth = {"Authorization": f"Bearer {key}"}
            toolbox = f"/api/toolbox/{ws.id}/toolbox/process/execute"
            hx = httpx.Client(base_url=url.removesuffix("/api"), headers=auth, trust_env=False)
            wire = {"x-daytona-toolbox-wire": "v014"}

            async def via_httpx() -> None:
                r = await async_agent.post("/process/execute", content=BODY, headers=wire)
                if r.status_code != 200:
                    raise RuntimeError(r.text)

            def sdk_exec() -> None:
                assert ws.process.exec("true").exit_code == 0

            def hx_exec() -> None:
                r = hx.post(toolbox, content=BODY, headers={"Content-Type": "application/json"})
                assert r.status_code == 200, r.text

            layers: dict[str, Callable[[], object]] = {
                "agent": lambda: post(agent, "/process/execute", wire),
                "agent-httpx": lambda: loop.run_until_complete(via_httpx()),
                "raw": lambda: post(raw, toolbox, auth),
                "httpx": hx_exec,
                "sdk": sdk_exec,
                "docker": lambda: container.exec_run("true"),
            }
            if not args.no_official and OFFICIAL_PY.exists():
                official = subprocess.Popen(
                    [str(OFFICIAL_PY), "-c", OFFICIAL_LOOP, key, url, ws.id],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert official.stdin is not None and official.stdout is not None
                if official.stdout.readline().strip() != "ready":
                    raise RuntimeError("the official SDK's loop did not start")
            times: dict[str, list[float]] = {name: [] for name in [*layers, *(["official"] if official else [])]}
            client_cpu = dict.fromkeys(times, 0.0)  # seconds of this process (or the official SDK's) per layer
            for fn in layers.values():
                fn()  # warm-up, uncounted
            order = [*times]
            for _ in range(args.runs):
                # A shuffled order each round: what Docker leaves running after an exec lands on all alike.
                random.shuffle(order)
                for name in order:
                    if name == "official":  # timed by itself, so the pipe is not counted
                        assert official is not None
                        wall, cpu_ms = official_exec(official)
                        times[name].append(wall)
                        client_cpu[name] += cpu_ms / 1000
                        continue
                    start, cpu = time.perf_counter(), time.process_time()
                    layers[name]()
                    times[name].append((time.perf_counter() - start) * 1000)
                    client_cpu[name] += time.process_time() - cpu
        finally:
            if official is not None:
                official.kill()
                official.wait()
            loop.close()
            container.remove(force=True)
            daytona.remove(ws)
    docker_p50 = statistics.median(times["docker"])
    print(f"{'layer':12} {'p50':>7} {'p95':>7} {'min':>7} {'/docker':>8} {'client cpu':>11}")
    for name, values in times.items():
        p50 = statistics.median(values)
        p95 = statistics.quantiles(values, n=20)[-1]
        cpu = 1000 * client_cpu[name] / args.runs
        print(f"{name:12} {p50:7.2f} {p95:7.2f} {min(values):7.2f} {p50 / docker_p50:7.3f}x {cpu:10.2f}")


if __name__ == "__main__":
    main()
