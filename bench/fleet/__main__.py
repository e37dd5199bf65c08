"""A fleet of idle sandboxes on one machine: does every one answer, does exec stay fast, what does each cost?

Against a server this run starts (throwaway data dir, DAYTONA_NETWORK=off, as bench/harness does):
  1. one uncounted sandbox (create, a few execs, remove) warms the server up; its RSS is the base;
  2. exec round trip with 1 sandbox alive: `process.exec("true")`, interleaved with the Docker SDK's
     `container.exec_run("true")` on a container of the same image (network "none"), the baseline;
  3. N sandboxes (`--count`, default 200) made through our SDK, `--concurrency` at a time, each
     answering one exec as it comes up; then every one of the N is asked for one more exec;
  4. memory with N alive: the server's RSS and Pss (from /proc, against the base: per sandbox), the
     agents' (PID 1 of each container), the engine's (dockerd, containerd, the shims), the host's;
  5. exec round trip with N alive, ours cycling through `--sample` of the N, Docker as in 2; then
     ours on the sandbox of step 2 alone (the fleet's effect without the cycling).
Round trips are timed once the CPUs have settled (at most 25% busy for 3 s; 60 s at most).
Every sandbox and container made is removed at the end, also on Ctrl-C or an error (then a sweep
by label). Goals checked: all N answer; p50 with N alive within 1.5x of p50 with 1; server memory
per sandbox at most 0.5 MB. Writes bench/results/<UTC time>-fleet.json (machine, every raw number).

Run: .venv/bin/python bench/fleet --count 200 (or --count 20 for a quick look)
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/: create_exec, harness and this package

from create_exec import own_server
from harness import report
from harness.systems import docker_client

from daytona_sdk import Daytona, DaytonaConfig, Workspace
from daytona_server.config import DEFAULT_IMAGE
from fleet.procmem import find_server
from fleet.steps import EXEC_TIMEOUT_S, Baseline, Fleet, measure, remove_all, sweep
from fleet.summary import summarize, table


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200, help="sandboxes alive at once (default 200)")
    parser.add_argument("--concurrency", type=int, default=4, help="creates at a time (default 4)")
    parser.add_argument(
        "--sample", type=int, default=20, help="sandboxes the N-alive round trips cycle through (default 20)"
    )
    parser.add_argument("--rounds", type=int, default=100, help="round trips per system and phase (default 100)")
    parser.add_argument(
        "--image", default=DEFAULT_IMAGE, help=f"image of the Docker baseline (default {DEFAULT_IMAGE})"
    )
    args = parser.parse_args()
    for flag, low, high in (("count", 2, 500), ("concurrency", 1, 16), ("sample", 1, 500), ("rounds", 1, 10_000)):
        if not low <= getattr(args, flag) <= high:  # bounded: every sandbox is a real container
            parser.error(f"--{flag} must be between {low} and {high}")
    return args


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C


def cleanup(fleet: Fleet, docker: Baseline, made: list[Workspace], concurrency: int) -> None:
    try:
        remove_all(fleet, made, concurrency)
    except KeyboardInterrupt:
        print("interrupted again: removing the rest one by one, then by label")
    for system in (fleet, docker):
        try:
            system.close()
        except Exception as exc:
            print(f"warning: {system.name}: cleanup failed: {exc}")
    if swept := sweep(fleet.client):
        print(f"removed {swept} leftover container(s) by label")


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    client = docker_client(pool=args.concurrency + 8)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    machine = report.machine_info(client, args.image)
    print(
        f"machine: {machine['cpus']} CPUs, {machine['memory_gib']} GiB, kernel {machine['kernel']}, docker "
        f"{machine['docker_server']} ({machine['docker_storage_driver']}), load {machine['loadavg_at_start'][0]:.2f}"
    )
    made: list[Workspace] = []
    with ExitStack() as stack:
        url, key = stack.enter_context(own_server())
        server_pid = find_server(int(url.rsplit(":", 1)[1].split("/")[0]))
        daytona = stack.enter_context(Daytona(DaytonaConfig(api_key=key, server_url=url, target="us")))
        fleet, docker = Fleet(daytona, client), Baseline(client, args.image)
        stack.callback(cleanup, fleet, docker, made, args.concurrency)  # before the SDK client closes, the server stops
        out = measure(args, fleet, docker, made, server_pid)
    s = summarize(out)
    print("\n" + table(s, out["alive"]))
    run = {
        "started_utc": stamp,
        "interrupted": out.pop("interrupted", False),
        "machine": machine,
        "parameters": {
            "count": args.count,
            "concurrency": args.concurrency,
            "sample": args.sample,
            "rounds": args.rounds,
            "image": args.image,
            "network": "none (ours: DAYTONA_NETWORK=off; Docker: network_mode=none)",
            "ours_sandbox": "default class (1 CPU, 2 GiB, 10 GiB disk), auto_stop_interval=0",
            "exec": f"ours: process.exec('true', timeout={EXEC_TIMEOUT_S}); Docker: container.exec_run('true')",
            "memory": "KiB from /proc/<pid>/status VmRSS and smaps_rollup Pss; per sandbox = (with N alive - "
            "after warm-up with 0 alive) / N; agents: PID 1 of each container",
            "percentiles": "linear interpolation between closest ranks (statistics.quantiles, inclusive)",
        },
        "summary": s,
        "raw": out,
    }
    report.RESULTS.mkdir(exist_ok=True)
    path = report.RESULTS / f"{stamp}-fleet.json"
    path.write_text(json.dumps(run, indent=2, default=str) + "\n")
    print(f"\nwrote {path}")
    return 130 if run["interrupted"] else 0


if __name__ == "__main__":
    sys.exit(main())
