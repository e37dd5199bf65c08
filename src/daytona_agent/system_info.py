"""Today's informational routes: home and work directory, version, live metrics, listening ports.

`GET /system/metrics` answers the SDK's SystemMetrics with the sandbox's own numbers: the cgroup's
CPU quota and usage, memory limit and usage (cgroup v2, else v1, else /proc), and the root file
system's size. Paths are parameters so that tests can point them at fake files.
"""

from __future__ import annotations

import math
import os
import threading
import time

from . import __version__
from .http import HttpError, Request, Response, Router
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple

CPU_SAMPLE_S = 0.2
_UNLIMITED = 1 << 60  # cgroup v1 reports "no limit" as a huge number


def _read(path: str) -> Optional[str]:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def _int(text: Optional[str]) -> Optional[int]:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _keyed(text: Optional[str]) -> Dict[str, int]:
    """`name value` lines (cpu.stat, memory.stat, /proc/meminfo with its ` kB`)."""
    found: Dict[str, int] = {}
    for line in (text or "").splitlines():
        parts = line.replace(":", " ").split()
        if len(parts) >= 2 and parts[1].isdigit():
            found[parts[0]] = int(parts[1]) * (1024 if parts[2:3] == ["kB"] else 1)
    return found


class Metrics:
    """Reads the sandbox's CPU, memory and disk figures; remembers the last CPU sample for rates."""

    def __init__(self, cgroup: str = "/sys/fs/cgroup", proc: str = "/proc", disk: str = "/") -> None:
        self.cgroup, self.proc, self.disk = cgroup, proc, disk
        self._lock = threading.Lock()
        self._last: Optional[Tuple[float, int]] = None  # (monotonic time, CPU time used in µs)

    def cpu_count(self) -> int:
        """The CPUs the sandbox may use: its cgroup quota, rounded up, or the CPUs it may run on."""
        online = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        quota, period = None, None
        v2 = (_read(os.path.join(self.cgroup, "cpu.max")) or "").split()
        if len(v2) == 2 and v2[0] != "max":
            quota, period = _int(v2[0]), _int(v2[1])
        else:
            quota = _int(_read(os.path.join(self.cgroup, "cpu", "cpu.cfs_quota_us")))
            period = _int(_read(os.path.join(self.cgroup, "cpu", "cpu.cfs_period_us")))
        if quota and period and quota > 0 and period > 0:
            return max(1, min(online, math.ceil(quota / period)))
        return max(1, online)

    def _cpu_used_us(self) -> Optional[int]:
        usage = _keyed(_read(os.path.join(self.cgroup, "cpu.stat"))).get("usage_usec")
        if usage is not None:
            return usage
        v1 = _int(_read(os.path.join(self.cgroup, "cpuacct", "cpuacct.usage")))  # nanoseconds
        if v1 is not None:
            return v1 // 1000
        fields = (_read(os.path.join(self.proc, "stat")) or "").splitlines()[:1]
        if fields and fields[0].startswith("cpu "):
            ticks = [int(v) for v in fields[0].split()[1:] if v.isdigit()]
            busy = sum(ticks) - sum(ticks[3:5])  # all but idle and iowait
            return busy * 1_000_000 // (os.sysconf("SC_CLK_TCK") or 100)
        return None

    def cpu_used_pct(self, cpus: int) -> float:
        """Percent of the sandbox's CPUs in use since the last call (or over a short sample)."""
        with self._lock:
            now, used = time.monotonic(), self._cpu_used_us()
            if used is None:
                return 0.0
            last = self._last
            if last is None or now - last[0] < 0.05 or now - last[0] > 60:
                time.sleep(CPU_SAMPLE_S)
                last, now, used = (now, used), time.monotonic(), self._cpu_used_us() or used
            self._last = (now, used)
        elapsed_us = (now - last[0]) * 1_000_000
        pct = 100.0 * max(used - last[1], 0) / (elapsed_us * cpus) if elapsed_us > 0 else 0.0
        return round(min(pct, 100.0), 2)

    def memory(self) -> Tuple[int, int, int]:
        """(total, used, cache) in bytes; used leaves out reclaimable file cache, as `docker stats`."""
        meminfo = _keyed(_read(os.path.join(self.proc, "meminfo")))
        host_total = meminfo.get("MemTotal", 0)
        limit = _read(os.path.join(self.cgroup, "memory.max"))
        current = _int(_read(os.path.join(self.cgroup, "memory.current")))
        stat = _keyed(_read(os.path.join(self.cgroup, "memory.stat")))
        if current is not None:  # cgroup v2
            total = _int(limit) if limit and limit != "max" else host_total
            return total or host_total, max(current - stat.get("inactive_file", 0), 0), stat.get("file", 0)
        usage = _int(_read(os.path.join(self.cgroup, "memory", "memory.usage_in_bytes")))
        if usage is not None:  # cgroup v1
            stat = _keyed(_read(os.path.join(self.cgroup, "memory", "memory.stat")))
            total = _int(_read(os.path.join(self.cgroup, "memory", "memory.limit_in_bytes"))) or 0
            total = total if 0 < total < _UNLIMITED else host_total
            return total, max(usage - stat.get("total_inactive_file", 0), 0), stat.get("total_cache", 0)
        used = host_total - meminfo.get("MemAvailable", meminfo.get("MemFree", 0))
        return host_total, max(used, 0), meminfo.get("Cached", 0) + meminfo.get("Buffers", 0)

    def disk_usage(self) -> Tuple[int, int, int]:
        """(total, used, free) bytes of the sandbox's root file system (free: what the user may use)."""
        st = os.statvfs(self.disk)
        return st.f_blocks * st.f_frsize, (st.f_blocks - st.f_bfree) * st.f_frsize, st.f_bavail * st.f_frsize

    def snapshot(self) -> Dict[str, Any]:
        """The SystemMetrics of today's toolbox."""
        cpus = self.cpu_count()
        mem_total, mem_used, mem_cache = self.memory()
        disk_total, disk_used, disk_free = self.disk_usage()
        from datetime import datetime, timezone  # this route only

        now = datetime.now(timezone.utc)
        return {
            "cpuCount": cpus,
            "cpuUsedPct": self.cpu_used_pct(cpus),
            "memTotal": mem_total,
            "memUsed": mem_used,
            "memCache": mem_cache,
            "diskTotal": disk_total,
            "diskUsed": disk_used,
            "diskFree": disk_free,
            "timestamp": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "timestampUnix": int(now.timestamp()),
        }


def listening_ports(proc: str = "/proc") -> List[int]:
    """TCP ports something in the sandbox listens on (IPv4 and IPv6), sorted."""
    ports = set()
    for name in ("tcp", "tcp6"):
        for line in (_read(os.path.join(proc, "net", name)) or "").splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A":  # TCP_LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return sorted(ports)


def register(router: Router, user: OsUser, metrics: Optional[Metrics] = None) -> None:
    """Add `/user-home-dir`, `/work-dir`, `/version`, `/system/metrics` and `/port...`."""
    metrics = metrics or Metrics()

    @router.route("GET", "/user-home-dir")
    def home_dir(request: Request) -> Response:
        return Response(200, {"dir": user.home})

    @router.route("GET", "/work-dir")
    def work_dir(request: Request) -> Response:
        # Where relative paths start and commands run unless told otherwise: the user's home.
        return Response(200, {"dir": user.home})

    @router.route("GET", "/version")
    def version(request: Request) -> Response:
        return Response(200, {"version": __version__})

    @router.route("GET", "/system/metrics")
    def system_metrics(request: Request) -> Response:
        assert metrics is not None
        return Response(200, metrics.snapshot())

    @router.route("GET", "/port")
    def ports(request: Request) -> Response:
        assert metrics is not None
        return Response(200, {"ports": listening_ports(metrics.proc)})

    @router.route("GET", "/port/{port}/in-use")
    def port_in_use(request: Request) -> Response:
        raw = request.params["port"]
        if not raw.isdigit() or not 1 <= int(raw) <= 65535:
            raise HttpError(400, "port must be a number from 1 to 65535, got %r" % raw)
        assert metrics is not None
        return Response(200, {"isInUse": int(raw) in listening_ports(metrics.proc)})
