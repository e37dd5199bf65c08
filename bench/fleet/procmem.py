"""Memory of the server, the agents and the engine, read from /proc (the engine shares this PID namespace)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from harness.systems import SANDBOX_LABEL

ENGINE = ("dockerd", "containerd", "containerd-shim")  # comm is cut at 15 characters: shims match the last


def processes() -> dict[int, tuple[str, int]]:
    """pid -> (comm, ppid) of every process visible here (the engine shares this PID namespace)."""
    table: dict[int, tuple[str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        close = stat.rindex(")")
        table[int(entry.name)] = (stat[stat.index("(") + 1 : close], int(stat[close + 2 :].split()[1]))
    return table


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (/proc/<pid>/status) and Pss (smaps_rollup) in KiB; empty if the process is gone."""
    out: dict[str, int] = {}
    for name, key, field in (("status", "rss", "VmRSS:"), ("smaps_rollup", "pss", "Pss:")):
        try:
            lines = Path(f"/proc/{pid}/{name}").read_text().splitlines()
        except OSError:
            continue
        found = [int(line.split()[1]) for line in lines if line.startswith(field)]
        if found:
            out[key] = found[0]
    return out


def _sum(pids: list[int]) -> dict[str, int]:
    seen = [memory_kib(p) for p in pids]
    return {
        "processes": len(pids),
        "rss": sum(m.get("rss", 0) for m in seen),
        "pss": sum(m.get("pss", 0) for m in seen),
    }


def descendants(table: dict[int, tuple[str, int]], root: int) -> list[int]:
    """root and every process below it."""
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, (_, ppid) in table.items() if ppid in frontier]
        found += frontier
    return found


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat (idle and iowait count as not busy)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - fields[3] - fields[4], total


def mem_available_kib() -> int:
    lines = Path("/proc/meminfo").read_text().splitlines()
    return next(int(line.split()[1]) for line in lines if line.startswith("MemAvailable:"))


def find_server(port: int) -> int:
    """The pid of `daytona server --port <port>` (own_server does not hand it out)."""
    for pid in processes():
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "server" in args and "--port" in args[:-1] and args[args.index("--port") + 1] == str(port):
            return pid
    sys.exit(f"no `daytona server --port {port}` process found in /proc")


def host_memory(server_pid: int) -> dict[str, Any]:
    """The server (and anything it started), the engine and the host, in KiB."""
    table = processes()
    engine = [pid for pid, (comm, _) in table.items() if comm in ENGINE]
    return {
        "server": memory_kib(server_pid),
        "server_tree": _sum(descendants(table, server_pid)),
        "engine": _sum(engine),
        "mem_available": mem_available_kib(),
        "loadavg": os.getloadavg(),
    }


def cgroup_memory_bytes(pid: int) -> int | None:
    """What the memory cgroup of `pid` holds (page cache included), cgroup v1 or v2; None if unreadable."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    candidates: list[str] = []
    for line in lines:
        _, controllers, group = line.split(":", 2)
        if "memory" in controllers.split(","):
            candidates.insert(0, f"/sys/fs/cgroup/memory{group}/memory.usage_in_bytes")
        elif not controllers:
            candidates += [f"/sys/fs/cgroup{group}/memory.current", f"/sys/fs/cgroup/unified{group}/memory.current"]
    for path in candidates:
        try:
            return int(Path(path).read_text())
        except (OSError, ValueError):
            continue
    return None


def agents_memory(client: Any, ids: set[str]) -> dict[str, Any]:
    """PID 1 of each of our containers (the agent), its whole tree, and the container's cgroup."""
    table = processes()
    pids, trees, cgroup_bytes = [], [], []
    for container in client.containers.list(filters={"label": SANDBOX_LABEL}):
        pid = container.attrs["State"]["Pid"]
        if container.labels.get(SANDBOX_LABEL) not in ids or not pid:
            continue
        pids.append(pid)
        trees += descendants(table, pid)
        if (used := cgroup_memory_bytes(pid)) is not None:
            cgroup_bytes.append(used)
    return {
        "containers": len(pids),
        "pid1": _sum(pids),
        "tree": _sum(trees),
        "cgroup_memory_kib": sum(cgroup_bytes) // 1024 if cgroup_bytes else None,
        "cgroups_read": len(cgroup_bytes),
    }
