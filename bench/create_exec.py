"""Latency of our sandbox server next to raw Docker, on the same image.

Measures, N times each (after one uncounted warm-up), ours and Docker interleaved run by run:
  1. create -> first successful exec: `daytona.create()` + `process.exec("true")` vs
     `docker run -d --network none IMAGE sleep infinity` + `docker exec ID true` (removal not timed);
  2. exec round trip on one warm sandbox vs `docker exec ID true` on one warm container;
  3. python round trip: `process.code_run("print(1)")` vs `docker exec ID python3 -c 'print(1)'`.
Docker is driven through its CLI, as a user would. Prints median, p90 and min in milliseconds.

Run: `make bench` or `.venv/bin/python bench/create_exec.py --runs 20`. By default it starts its own
server (temporary data dir, sandbox network "none"); `--server-url URL --api-key KEY`, or `--external`
with DAYTONA_SERVER_URL / DAYTONA_API_KEY, uses a running one instead.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from daytona_sdk import Daytona, DaytonaConfig, Workspace
from daytona_server.config import DEFAULT_IMAGE

REPO = Path(__file__).resolve().parent.parent
DAYTONA_BIN = REPO / ".venv" / "bin" / "daytona"
DOCKER_LABEL = "daytona-bench=create_exec"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def own_server(pool_size: int = 0) -> Iterator[tuple[str, str]]:
    """Start `daytona server` on a free port with a throwaway data dir, with a warm pool of `pool_size`
    (none by default: cold creates); yield (SDK URL, API key)."""
    port, key = free_port(), secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="daytona-bench-") as tmp:
        # Sockets under tmp too, so that nothing outlives the run.
        env = {**os.environ, "DAYTONA_BOOTSTRAP_API_KEY": key, "DAYTONA_NETWORK": "off"}
        env["DAYTONA_POOL_SIZE"] = env["DAYTONA_POOL_MAX"] = str(pool_size)
        env["DAYTONA_RUN_DIR"] = str(Path(tmp) / "run")
        log_path = Path(tmp) / "server.log"
        with log_path.open("wb") as log:
            cmd = [str(DAYTONA_BIN), "server", "--port", str(port), "--data-dir", str(Path(tmp) / "data")]
            # Its own session: a Ctrl-C in the terminal stops the bench, whose cleanup still needs
            # the server; the server gets SIGTERM below once the bench has removed its sandboxes.
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            with httpx.Client(trust_env=False, timeout=2) as client:
                while True:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        sys.exit(f"the server did not come up; its log:\n{log_path.read_text(errors='replace')}")
                    try:
                        if client.get(f"http://127.0.0.1:{port}/api/health").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}/api", key
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)  # it removes its warm pool's members first
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def docker(*args: str) -> str:
    """Run the docker CLI; return its stdout, fail loudly on a non-zero exit."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def docker_run(image: str) -> str:
    return docker("run", "-d", "--network", "none", "--label", DOCKER_LABEL, image, "sleep", "infinity").strip()


def timed(fn: Callable[[], object]) -> float:
    """Milliseconds that fn takes."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def measure(runs: int, ours: Callable[[], float], theirs: Callable[[], float]) -> tuple[list[float], list[float]]:
    """One uncounted warm-up of each, then `runs` rounds, ours and Docker interleaved."""
    ours(), theirs()
    ours_ms: list[float] = []
    docker_ms: list[float] = []
    for _ in range(runs):
        ours_ms.append(ours())
        docker_ms.append(theirs())
    return ours_ms, docker_ms


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[8] if len(values) > 1 else values[0]


def check_exec(ws: Workspace, command: str = "true") -> None:
    r = ws.process.exec(command)
    if r.exit_code != 0:
        raise RuntimeError(f"exec {command!r} exited {r.exit_code}: {r.result!r}")


def check_code_run(ws: Workspace) -> None:
    r = ws.process.code_run("print(1)")
    if r.exit_code != 0 or r.result.strip() != "1":
        raise RuntimeError(f"code_run exited {r.exit_code}: {r.result!r}")


def run_bench(daytona: Daytona, image: str, runs: int) -> list[tuple[str, list[float], list[float]]]:
    def ours_create() -> float:
        start = time.perf_counter()
        ws = daytona.create()
        check_exec(ws)
        elapsed = (time.perf_counter() - start) * 1000
        daytona.remove(ws)
        return elapsed

    def docker_create() -> float:
        start = time.perf_counter()
        cid = docker_run(image)
        try:
            docker("exec", cid, "true")
            return (time.perf_counter() - start) * 1000
        finally:
            docker("rm", "-f", cid)

    results = [("create -> first exec", *measure(runs, ours_create, docker_create))]

    ws = daytona.create()
    cid = docker_run(image)
    try:
        ours_exec, docker_exec = (
            (lambda: timed(lambda: check_exec(ws))),
            (lambda: timed(lambda: docker("exec", cid, "true"))),
        )
        results.append(("exec round trip", *measure(runs, ours_exec, docker_exec)))
        py_cmd = ("exec", cid, "python3", "-c", "print(1)")
        ours_py, docker_py = (lambda: timed(lambda: check_code_run(ws))), (lambda: timed(lambda: docker(*py_cmd)))
        results.append(("code_run python round trip", *measure(runs, ours_py, docker_py)))
    finally:
        daytona.remove(ws)
        docker("rm", "-f", cid)
    return results


def print_table(results: list[tuple[str, list[float], list[float]]], runs: int) -> None:
    headers = [
        "measurement",
        "ours median",
        "docker median",
        "ours p90",
        "docker p90",
        "ours min",
        "docker min",
        "ratio",
    ]
    rows = [headers]
    for name, ours, theirs in results:
        ours_med, docker_med = statistics.median(ours), statistics.median(theirs)
        nums = [ours_med, docker_med, p90(ours), p90(theirs), min(ours), min(theirs)]
        rows.append([name, *(f"{v:.1f}" for v in nums), f"{ours_med / docker_med:.2f}x"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    lines = [
        " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    print(f"\nmilliseconds, {runs} runs each (ratio = ours median / docker median)")
    print("\n".join(lines))


def parse_bench_args(doc: str | None) -> argparse.Namespace:
    """The options every latency bench shares: runs, image, and which server to use."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="measured runs per measurement (default 20)")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help=f"image for raw Docker (default {DEFAULT_IMAGE})")
    parser.add_argument("--server-url", help="use this running server (SDK URL, ending in /api)")
    parser.add_argument("--api-key", help="API key for --server-url")
    parser.add_argument("--external", action="store_true", help="use DAYTONA_SERVER_URL / DAYTONA_API_KEY")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.external:
        args.server_url = args.server_url or os.environ.get("DAYTONA_SERVER_URL")
        args.api_key = args.api_key or os.environ.get("DAYTONA_API_KEY")
    if bool(args.server_url) != bool(args.api_key):
        parser.error("an external server needs both a URL and an API key")
    print(
        f"machine: {os.cpu_count()} CPUs, docker server {docker('version', '--format', '{{.Server.Version}}').strip()}"
        f", python {sys.version.split()[0]}, image {args.image}"
    )
    return args


@contextmanager
def bench_client(args: argparse.Namespace) -> Iterator[Daytona]:
    """An SDK client for the chosen server, or for a server of its own (its sandboxes removed after)."""
    if args.server_url:
        with Daytona(DaytonaConfig(api_key=args.api_key, server_url=args.server_url, target="us")) as daytona:
            yield daytona
        return
    with own_server() as (url, key), Daytona(DaytonaConfig(api_key=key, server_url=url, target="us")) as daytona:
        try:
            yield daytona
        finally:
            for w in daytona.list():
                daytona.remove(w)


def main() -> None:
    args = parse_bench_args(__doc__)
    try:
        with bench_client(args) as daytona:
            results = run_bench(daytona, args.image, args.runs)
    finally:
        leftovers = docker("ps", "-aq", "--filter", f"label={DOCKER_LABEL}").split()
        if leftovers:
            docker("rm", "-f", *leftovers)
    print_table(results, args.runs)


if __name__ == "__main__":
    main()
