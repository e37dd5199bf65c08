"""Lifecycle timings of sandboxes holding their own data, next to raw Docker, on the same image.

For each size (random, incompressible data written inside: `head -c SIZE /dev/urandom > /workspace/blob`):
  stop              `ws.stop()`                      vs `docker stop`
  start             `ws.start()` of a stopped one    vs `docker start`
  archive           `ws.archive(wait=True)` from stopped until `archived` (its container is then gone)
                    vs `docker export ID | zstd -T0 -3 > FILE` (the whole filesystem, image included)
  restore           `ws.start()` of an archived one until `started`
                    vs `zstd -d < FILE | docker import - TMP` + `docker create` + `docker start`
  archive size      the stored archive vs FILE.
The raw containers run `sleep infinity` with `--init`: without an init, PID 1 ignores SIGTERM and
every `docker stop` waits its full 10 s. The blob's SHA-256 is checked after every restore, on both
sides. MiB/s is the blob's size over the time taken. A second table splits our archive and restore
into the phases the server reports in `progress` (sampled every 50 ms, so +-0.05 s each).

Run: `.venv/bin/python bench/lifecycle.py [--sizes 100M,1G] [--runs N]` (default 3 runs for sizes
under 1 GiB, 1 run above). It starts its own server (temporary data dir, network "none") as
bench/create_exec.py does; the server must be able to read /var/lib/docker (run as root).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from create_exec import docker, own_server  # bench/ is sys.path[0] when run as a script

from daytona_sdk import Daytona, DaytonaConfig, Workspace
from daytona_server.config import DEFAULT_IMAGE

LABEL = "daytona-bench=lifecycle"
TMP_IMAGE = "daytona-bench-lifecycle"
BLOB = "/workspace/blob"
OPS = ["stop", "start", "archive", "restore"]
Samples = defaultdict[str, list[float]]


def parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+)([KMG])", text.strip().upper())
    if not match:
        raise argparse.ArgumentTypeError(f"bad size {text!r}: use e.g. 100M or 1G")
    return int(match[1]) << {"K": 10, "M": 20, "G": 30}[match[2]]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def sh(command: str) -> None:
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{command!r} failed ({done.returncode}): {done.stderr.strip()}")


def fill_command(size: str) -> str:
    return f"head -c {size} /dev/urandom > {BLOB} && sync && sha256sum {BLOB} | cut -d' ' -f1"


def check_same(where: str, before: str, after: str) -> None:
    if before != after:
        sys.exit(f"DATA CORRUPTED ({where}): {BLOB} had sha256 {before}, after restore {after}")


def with_phases(ws: Workspace, op: str, action: Callable[[], None], phases: Samples) -> float:
    """Run `action` (which waits itself) while sampling the sandbox's progress; add phase durations."""
    error: list[BaseException] = []

    def target() -> None:
        try:
            action()
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target)
    start = time.perf_counter()
    thread.start()
    seen = [(f"{op}: (before any progress)", start)]
    while thread.is_alive():
        phase = re.sub(r"[:\s]*\d.*$", "", ws.info().progress or "")  # "restoring: verifying: 1.0 GB of ..."
        if phase and seen[-1][0] != phase:
            seen.append((phase, time.perf_counter()))
        thread.join(0.05)
    total = time.perf_counter() - start
    if error:
        raise error[0]
    for (phase, at), (_, until) in zip(seen, [*seen[1:], ("", start + total)], strict=True):
        phases[phase].append(until - at)
    return total


def ours_run(daytona: Daytona, size: str, samples: Samples, phases: Samples) -> None:
    ws = daytona.create()
    try:
        before = ws.process.exec(fill_command(size), timeout=900, check=True).result.strip()
        samples["stop"].append(timed(lambda: ws.stop(timeout=120)))
        samples["start"].append(timed(lambda: ws.start(timeout=120)))
        ws.stop(timeout=120)
        samples["archive"].append(with_phases(ws, "archive", lambda: ws.archive(wait=True, timeout=900), phases))
        info = ws.info()
        samples["archive size"].append(json.loads(info.provider_metadata or "{}")["archive"]["size"])
        samples["restore"].append(with_phases(ws, "restore", lambda: ws.start(timeout=900), phases))
        after = ws.process.exec(f"sha256sum {BLOB} | cut -d' ' -f1", timeout=300, check=True).result.strip()
        check_same(f"sandbox {ws.id}", before, after)
    finally:
        daytona.remove(ws)


def docker_run(image: str, *cmd: str) -> str:
    return docker("run", "-d", "--init", "--network", "none", "--label", LABEL, image, *cmd).strip()


def docker_sha(cid: str) -> str:
    return docker("exec", cid, "sh", "-c", f"sha256sum {BLOB} | cut -d' ' -f1").strip()


def docker_runs(image: str, size: str, tmp: Path, samples: Samples, phases: Samples) -> None:
    cid = docker_run(image, "sleep", "infinity")
    tag = f"{TMP_IMAGE}:{cid[:12]}"
    archive = tmp / f"{cid[:12]}.tar.zst"
    try:
        before = docker("exec", cid, "sh", "-c", fill_command(size)).strip()
        samples["stop"].append(timed(lambda: docker("stop", cid)))
        samples["start"].append(timed(lambda: docker("start", cid)))
        docker("stop", cid)
        out = shlex.quote(str(archive))
        samples["archive"].append(timed(lambda: sh(f"docker export {cid} | zstd -q -T0 -3 -o {out}")))
        samples["archive size"].append(archive.stat().st_size)
        docker("rm", cid)
        imported = timed(lambda: sh(f"zstd -q -d -c {out} | docker import - {tag}"))
        new: list[str] = []

        def create_start() -> None:
            new.append(docker("create", "--init", "--network", "none", "--label", LABEL, tag, "sleep", "infinity"))
            docker("start", new[0].strip())

        started = timed(create_start)
        samples["restore"].append(imported + started)
        phases["docker: zstd -d | docker import"].append(imported)
        phases["docker: create + start"].append(started)
        check_same(f"docker container from {tag}", before, docker_sha(new[0].strip()))
    finally:
        leftovers = docker("ps", "-aq", "--filter", f"label={LABEL}").split()
        if leftovers:
            docker("rm", "-f", *leftovers)
        if docker("images", "-q", tag).strip():
            docker("rmi", "-f", tag)
        archive.unlink(missing_ok=True)


def fmt_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        " | ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def print_tables(results: list[tuple[str, int, int, Samples, Samples, Samples]]) -> None:
    rows = [["size", "operation", "runs", "ours s", "docker s", "ratio", "ours MiB/s", "docker MiB/s"]]
    for label, nbytes, runs, ours, theirs, _ in results:
        for op in OPS:
            o, d = statistics.median(ours[op]), statistics.median(theirs[op])
            rate = [f"{nbytes / 2**20 / v:.0f}" if op in ("archive", "restore") else "" for v in (o, d)]
            rows.append([label, op, str(runs), f"{o:.2f}", f"{d:.2f}", f"{o / d:.2f}x", *rate])
        o, d = statistics.median(ours["archive size"]), statistics.median(theirs["archive size"])
        rows.append([label, "archive size (MiB)", str(runs), f"{o / 2**20:.1f}", f"{d / 2**20:.1f}", f"{o / d:.2f}x"])
        rows[-1] += ["", ""]
    print("\nmedian seconds (ratio = ours / docker; MiB/s = blob size / time)")
    print(fmt_table(rows))
    rows = [["size", "phase", "runs", "median s"]]
    for label, _, _, _, _, phases in results:
        rows += [[label, name, str(len(v)), f"{statistics.median(v):.2f}"] for name, v in phases.items()]
    print("\nwhere the time goes (server progress phases; docker restore split)")
    print(fmt_table(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100M,1G", help="comma-separated blob sizes (default 100M,1G)")
    parser.add_argument("--runs", type=int, help="runs per size (default 3 under 1 GiB, 1 from 1 GiB)")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help=f"image for raw Docker (default {DEFAULT_IMAGE})")
    args = parser.parse_args()
    sizes = [(s.strip().upper(), parse_size(s)) for s in args.sizes.split(",") if s.strip()]
    if not sizes or (args.runs is not None and args.runs < 1):
        parser.error("need at least one size and --runs of at least 1")
    print(
        f"machine: {len(os.sched_getaffinity(0))} CPUs, docker server "
        f"{docker('version', '--format', '{{.Server.Version}}').strip()}, image {args.image}"
    )
    results: list[tuple[str, int, int, Samples, Samples, Samples]] = []
    try:
        with (
            own_server() as (url, key),
            Daytona(DaytonaConfig(api_key=key, server_url=url, target="us")) as daytona,
            tempfile.TemporaryDirectory(prefix="daytona-bench-lifecycle-") as tmp,
        ):
            try:
                for label, nbytes in sizes:
                    runs = args.runs or (3 if nbytes < 2**30 else 1)
                    ours: Samples = defaultdict(list)
                    theirs: Samples = defaultdict(list)
                    phases: Samples = defaultdict(list)
                    for i in range(runs):
                        print(f"{label}: run {i + 1}/{runs}", file=sys.stderr, flush=True)
                        ours_run(daytona, label, ours, phases)
                        docker_runs(args.image, label, Path(tmp), theirs, phases)
                    results.append((label, nbytes, runs, ours, theirs, phases))
            finally:
                for w in daytona.list():
                    daytona.remove(w)
    finally:
        leftovers = docker("ps", "-aq", "--filter", f"label={LABEL}").split()
        if leftovers:
            docker("rm", "-f", *leftovers)
    print_tables(results)


if __name__ == "__main__":
    main()
