"""An idle agent's memory and start-up, next to bare python3 in a container of the same image.

Against a server this run starts (throwaway data dir, DAYTONA_NETWORK=off, no warm pool), `--count`
times each, one after the other:
  - ours: `daytona.create()`, then, after `--idle-s`, VmRSS and Pss of the container's PID 1 (the
    agent) read from /proc on the host (the engine shares this PID namespace); start-up is the
    agent's socket's mtime (it binds the socket once it can serve) less the container's StartedAt;
  - bare: a container of the same image running the agent's interpreter, `python3 -I -B -c "import
    time; time.sleep(1e9)"` (it first creates a file on a bind mount: that file's mtime less
    StartedAt is its start-up), read the same way.
Prints medians side by side and writes bench/results/<UTC time>-agent-memory.json (every raw number).
`--agent-source DIR` runs the server with another copy of daytona_agent (DIR holds the package), to
compare versions in one sitting; `--compile` writes the agent's bytecode first (what the runtime does
at start once agent_bytecode.compile_agent is hooked in); otherwise the __pycache__ is left as found.

Run: .venv/bin/python bench/agent_memory.py [--count 5] [--agent-source /tmp/old] [--compile]
"""

from __future__ import annotations

import argparse
import calendar
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: create_exec and harness

from create_exec import own_server
from harness import report
from harness.systems import SANDBOX_LABEL, docker_client, sweep_containers

from daytona_sdk import CreateWorkspaceParams, Daytona, DaytonaConfig
from daytona_server.config import DEFAULT_IMAGE
from daytona_server.runner.docker_runtime import LABEL_AGENT_PYTHON, SOCKET_MOUNT, SOCKET_NAME

LABEL = ("daytona-bench", "agent-memory")
REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 60


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=5, help="sandboxes and bare containers, each (default 5)")
    parser.add_argument("--idle-s", type=float, default=2.0, help="idle time before memory is read (default 2)")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help=f"image of both (default {DEFAULT_IMAGE})")
    parser.add_argument("--agent-source", type=Path, help="a directory holding another daytona_agent package")
    parser.add_argument("--compile", action="store_true", help="compile the agent's bytecode before the run")
    args = parser.parse_args()
    if not 1 <= args.count <= 50:
        parser.error("--count must be between 1 and 50")
    if not 0 <= args.idle_s <= 60:
        parser.error("--idle-s must be between 0 and 60")
    if args.agent_source and not (args.agent_source / "daytona_agent" / "__init__.py").is_file():
        parser.error(f"{args.agent_source} holds no daytona_agent package")
    return args


def agent_package(source: Path | None) -> Path:
    if source is not None:
        return (source / "daytona_agent").resolve()
    spec = importlib.util.find_spec("daytona_agent")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).resolve().parent


def bytecode_state(package: Path) -> dict[str, int]:
    """Sources of the package and the CPython 3.11 bytecode files next to them (the default image's)."""
    sources = list(package.glob("*.py"))
    cached = [p for p in sources if (package / "__pycache__" / f"{p.stem}.cpython-311.pyc").is_file()]
    return {"sources": len(sources), "cpython_311_pyc": len(cached)}


def unix_time(docker_time: str) -> float:
    """Docker's RFC 3339 time with nanoseconds (`2026-01-02T03:04:05.123456789Z`) as Unix time."""
    whole, _, fraction = docker_time.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + float("0." + (fraction or "0"))


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (/proc/<pid>/status) and Pss (smaps_rollup) in KiB."""
    out: dict[str, int] = {}
    for name, key, field in (("status", "rss", "VmRSS:"), ("smaps_rollup", "pss", "Pss:")):
        lines = Path(f"/proc/{pid}/{name}").read_text().splitlines()
        out[key] = next(int(line.split()[1]) for line in lines if line.startswith(field))
    return out


def wait_for(path: Path, what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: {path} did not appear within {READY_TIMEOUT_S} s")
        time.sleep(0.05)


def measure_sandbox(daytona: Daytona, client: Any, idle_s: float) -> dict[str, Any]:
    began = time.perf_counter()
    ws = daytona.create(CreateWorkspaceParams(labels=dict([LABEL]), auto_stop_interval=0))
    create_ms = (time.perf_counter() - began) * 1000
    try:
        (container,) = client.containers.list(filters={"label": f"{SANDBOX_LABEL}={ws.id}"})
        mounts = {m["Destination"]: m["Source"] for m in container.attrs["Mounts"]}
        socket_path = Path(mounts[SOCKET_MOUNT]) / SOCKET_NAME
        wait_for(socket_path, "the agent's socket")
        started = unix_time(container.attrs["State"]["StartedAt"])
        startup_ms = (socket_path.stat().st_mtime - started) * 1000
        time.sleep(idle_s)
        return {"create_ms": create_ms, "startup_ms": startup_ms, **memory_kib(container.attrs["State"]["Pid"])}
    finally:
        daytona.remove(ws)


def measure_bare(client: Any, image: str, python: str, idle_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="agent-memory-") as tmp:
        os.chmod(tmp, 0o777)  # the image's user may not be root
        ready = Path(tmp) / "up"
        code = "import time; open('/ready/up', 'w').close(); time.sleep(1e9)"
        began = time.perf_counter()
        container = client.containers.run(
            image,
            [python, "-I", "-B", "-c", code],
            detach=True,
            network_mode="none",
            labels=dict([LABEL]),
            volumes={tmp: {"bind": "/ready", "mode": "rw"}},
        )
        try:
            wait_for(ready, "bare python3's file")
            create_ms = (time.perf_counter() - began) * 1000
            container.reload()
            startup_ms = (ready.stat().st_mtime - unix_time(container.attrs["State"]["StartedAt"])) * 1000
            time.sleep(idle_s)
            return {"create_ms": create_ms, "startup_ms": startup_ms, **memory_kib(container.attrs["State"]["Pid"])}
        finally:
            container.remove(force=True)


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    return {
        system: {key: round(statistics.median(r[key] for r in rows), 1) for key in rows[0]}
        for system, rows in runs.items()
    }


def table(summary: dict[str, dict[str, float]], count: int) -> str:
    rows = [(f"median of {count}", "agent", "bare python3", "agent - bare")]
    for key, name, scale in (
        ("rss", "idle RSS (MiB)", 1 / 1024),
        ("pss", "idle Pss (MiB)", 1 / 1024),
        ("startup_ms", "start-up (ms)", 1.0),
        ("create_ms", "create -> ready (ms)", 1.0),
    ):
        ours, bare = summary["agent"][key] * scale, summary["bare"][key] * scale
        rows.append((name, f"{ours:.1f}", f"{bare:.1f}", f"{ours - bare:+.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> int:
    args = parse_args()
    package = agent_package(args.agent_source)
    if args.compile:
        from daytona_server.runner.agent_bytecode import compile_agent

        compile_agent(package)
    client = docker_client(pool=4)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    machine = report.machine_info(client, args.image)
    labels = client.images.get(args.image).labels or {}
    python = labels.get(LABEL_AGENT_PYTHON) or "python3"
    print(f"machine: {machine['cpus']} CPUs, docker {machine['docker_server']}, image {args.image} ({python})")
    print(f"agent: {package} ({bytecode_state(package)})")
    os.environ["DAYTONA_POOL_SIZE"] = "0"  # every sandbox starts its own agent at create
    if args.agent_source:
        os.environ["PYTHONPATH"] = str(args.agent_source.resolve())
    runs: dict[str, list[dict[str, Any]]] = {"agent": [], "bare": []}
    try:
        with own_server() as (url, key), Daytona(DaytonaConfig(api_key=key, server_url=url, target="us")) as daytona:
            for i in range(args.count):
                runs["agent"].append(measure_sandbox(daytona, client, args.idle_s))
                runs["bare"].append(measure_bare(client, args.image, python, args.idle_s))
                print(f"run {i + 1}/{args.count}: agent {runs['agent'][-1]}, bare {runs['bare'][-1]}", flush=True)
    finally:
        sweep_containers(client, 60, LABEL)
    summary = summarize(runs)
    print("\n" + table(summary, args.count))
    result = {
        "started_utc": stamp,
        "machine": machine,
        "parameters": {
            "count": args.count,
            "idle_s": args.idle_s,
            "image": args.image,
            "agent_python": python,
            "agent_package": str(package),
            "bytecode": bytecode_state(package),
            "compiled_first": args.compile,
            "memory": "KiB, /proc/<PID 1 of the container>/status VmRSS and smaps_rollup Pss, after idle_s",
            "startup": "ms: agent socket mtime (bare: its file's) less the container's State.StartedAt",
            "create": "ms: daytona.create() (bare: containers.run until its file appears)",
            "bare": f"{python} -I -B -c 'import time; time.sleep(1e9)' (after creating its file)",
        },
        "summary": summary,
        "raw": runs,
    }
    report.RESULTS.mkdir(exist_ok=True)
    path = report.RESULTS / f"{stamp}-agent-memory.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
