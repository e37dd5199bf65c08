"""File transfer throughput of our SDK next to `docker cp`, on the same image.

Measures, N times each (after one uncounted warm-up), ours and Docker interleaved run by run, a
100 MB file of random bytes:
  1. upload: `workspace.fs.upload_file(path, Path(local))` (streamed: SDK -> server -> agent -> disk)
     vs `docker cp local CONTAINER:path`;
  2. download: `workspace.fs.download_file(path, local)` vs `docker cp CONTAINER:path local`.
Docker gets a plain container of the same image (`--network none`). Every transfer is checked by
SHA-256 once. Prints MB/s (1 MB = 2**20 bytes): median, min and max.

Run: `.venv/bin/python bench/transfer.py [--runs 5] [--size-mb 100]`. Starts its own server like
bench/create_exec.py (or uses `--server-url URL --api-key KEY`).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from create_exec import DOCKER_LABEL, docker, docker_run, own_server  # type: ignore[import-not-found]

from daytona_sdk import Daytona, DaytonaConfig, Workspace
from daytona_server.config import DEFAULT_IMAGE

MB = 1 << 20
REMOTE = "/workspace/bench.bin"


def make_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(size // MB):
            block = os.urandom(MB)
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(MB):
            digest.update(block)
    return digest.hexdigest()


def rate(size: int, fn: Callable[[], object]) -> float:
    """MB/s of one call of fn moving `size` bytes."""
    start = time.perf_counter()
    fn()
    return size / MB / (time.perf_counter() - start)


def run_bench(daytona: Daytona, image: str, runs: int, size: int) -> list[tuple[str, list[float], list[float]]]:
    with tempfile.TemporaryDirectory(prefix="daytona-bench-transfer-") as tmp:
        local, back = Path(tmp) / "up.bin", Path(tmp) / "down.bin"
        expected = make_file(local, size)
        ws: Workspace = daytona.create()
        cid = docker_run(image)
        try:
            docker("exec", cid, "mkdir", "-p", "/workspace")

            def ours_up() -> float:
                return rate(size, lambda: ws.fs.upload_file(REMOTE, local, timeout=300))

            def docker_up() -> float:
                return rate(size, lambda: docker("cp", str(local), f"{cid}:{REMOTE}"))

            def ours_down() -> float:
                return rate(size, lambda: ws.fs.download_file(REMOTE, back, timeout=300))

            def docker_down() -> float:
                return rate(size, lambda: docker("cp", f"{cid}:{REMOTE}", str(back)))

            results = []
            for name, ours, theirs in (("upload", ours_up, docker_up), ("download", ours_down, docker_down)):
                ours(), theirs()  # warm-up, uncounted
                ours_rates: list[float] = []
                docker_rates: list[float] = []
                for _ in range(runs):
                    ours_rates.append(ours())
                    docker_rates.append(theirs())
                results.append((name, ours_rates, docker_rates))
            # Check what moved: in the sandbox, in the container, and what came back.
            ours_remote = ws.process.exec(f"sha256sum {REMOTE}").result.split()[0]
            docker_remote = docker("exec", cid, "sha256sum", REMOTE).split()[0]
            ws.fs.download_file(REMOTE, back)
            if {ours_remote, docker_remote, sha256_of(back)} != {expected}:
                raise RuntimeError("a transfer corrupted the file: checksums differ")
        finally:
            daytona.remove(ws)
            docker("rm", "-f", cid)
    return results


def print_table(results: list[tuple[str, list[float], list[float]]], runs: int, size: int) -> None:
    headers = ["MB/s", "ours median", "docker cp median", "ours min", "docker cp min", "ours max", "docker cp max"]
    rows = [headers]
    for name, ours, theirs in results:
        nums = [statistics.median(ours), statistics.median(theirs), min(ours), min(theirs), max(ours), max(theirs)]
        rows.append([name, *(f"{v:.0f}" for v in nums)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    lines = [
        " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    print(f"\n{size // MB} MB file, {runs} runs each, MB/s (higher is better)")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="measured runs per direction (default 5)")
    parser.add_argument("--size-mb", type=int, default=100, help="file size in MB (default 100)")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help=f"image for raw Docker (default {DEFAULT_IMAGE})")
    parser.add_argument("--server-url", help="use this running server (SDK URL, ending in /api)")
    parser.add_argument("--api-key", help="API key for --server-url")
    args = parser.parse_args()
    if args.runs < 1 or args.size_mb < 1:
        parser.error("--runs and --size-mb must be at least 1")
    if bool(args.server_url) != bool(args.api_key):
        parser.error("an external server needs both a URL and an API key")
    size = args.size_mb * MB
    engine = docker("version", "--format", "{{.Server.Version}}").strip()
    print(
        f"machine: {os.cpu_count()} CPUs, docker server {engine}, python {sys.version.split()[0]}, image {args.image}"
    )
    try:
        if args.server_url:
            with Daytona(DaytonaConfig(api_key=args.api_key, server_url=args.server_url, target="us")) as daytona:
                results = run_bench(daytona, args.image, args.runs, size)
        else:
            with (
                own_server() as (url, key),
                Daytona(DaytonaConfig(api_key=key, server_url=url, target="us")) as daytona,
            ):
                results = run_bench(daytona, args.image, args.runs, size)
    finally:
        leftovers = docker("ps", "-aq", "--filter", f"label={DOCKER_LABEL}").split()
        if leftovers:
            docker("rm", "-f", *leftovers)
    print_table(results, args.runs, size)


if __name__ == "__main__":
    main()
