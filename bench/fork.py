"""Fork of a running sandbox: how long the source is frozen and how long the fork takes, next to `docker commit`.

For each size (100 MB and 1 GB of fresh random bytes written in the sandbox), N times:
  ours:   `POST /api/sandbox/{id}/fork` through today's API; the source's freeze is the
          `X-Daytona-Frozen-Ms` header, the total is until the fork answers (started);
  docker: `docker commit` of the same running container, which pauses it for the whole commit
          (what copying a running container takes with Docker alone; the image is removed after).
Prints medians in milliseconds. Run: `.venv/bin/python bench/fork.py --runs 3` (starts its own server).
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
from create_exec import docker, own_server

SIZES_MB = (100, 1000)


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with own_server() as (url, key), httpx.Client(base_url=url, timeout=900, trust_env=False) as api:
        api.headers["Authorization"] = f"Bearer {key}"
        for size in SIZES_MB:
            source = api.post("/sandbox", json={}).raise_for_status().json()["id"]
            try:
                write = f"head -c {size * 1000 * 1000} /dev/urandom > /home/daytona/data"
                done = api.post(f"/toolbox/{source}/process/execute", json={"command": write, "timeout": 600})
                if done.raise_for_status().json()["exitCode"] != 0:
                    raise SystemExit(f"writing {size} MB failed: {done.text}")
                container = docker("ps", "-q", "--filter", f"label=io.daytona.sandbox={source}").strip()
                frozen, total, commit = [], [], []
                for _ in range(args.runs):
                    began = time.perf_counter()
                    fork = api.post(f"/sandbox/{source}/fork", json={}).raise_for_status()
                    total.append((time.perf_counter() - began) * 1000)
                    frozen.append(float(fork.headers["X-Daytona-Frozen-Ms"]))
                    api.delete(f"/sandbox/{fork.json()['id']}").raise_for_status()
                    began = time.perf_counter()
                    image = docker("commit", container).strip()
                    commit.append((time.perf_counter() - began) * 1000)
                    docker("rmi", image)
            finally:
                api.delete(f"/sandbox/{source}")
            rows.append((size, median(frozen), median(total), median(commit)))
    print(f"medians of {args.runs} runs, milliseconds")
    print("changes | ours: source frozen | ours: fork total | docker commit (frozen throughout)")
    for size, frozen_ms, total_ms, commit_ms in rows:
        print(f"{size:>4} MB | {frozen_ms:>19.1f} | {total_ms:>16.1f} | {commit_ms:>10.1f}")


if __name__ == "__main__":
    main()
