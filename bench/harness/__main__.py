"""Create -> first exec and exec round trip: our server next to the Docker SDK and llm-sandbox.

All three on the same image (daytona_server.config.DEFAULT_IMAGE), sandboxes without network:
  ours         Daytona.create() + workspace.process.exec("true"), against a server this run starts
               (throwaway data dir, DAYTONA_NETWORK=off, no warm pool: every create is cold;
               default class: 1 CPU, 2 GiB, 10 GiB disk);
  ours-pool    the same against a second server whose warm pool (--pool-size, default the most any
               mode makes) is full before each mode; its refills run untimed after each of its
               creates (sequential) or after its batch, never during another system's turn;
  Docker SDK   client.containers.run(image, "sleep infinity", detach=True, network_mode="none")
               + container.exec_run("true");
  llm-sandbox  SandboxSession(backend="docker", image=..., skip_environment_setup=True).open()
               + execute_command("true") (see harness/systems.py for why those settings).
Modes, as ComputeSDK measures hosted providers: sequential (N creates one after another, the systems
interleaved run by run), staggered (one create every 200 ms, N in all), burst (N at once from N
threads), and exec (N `true` round trips in one warm sandbox). One uncounted create per system
first; sandboxes live until their batch ends, removal is never timed, and everything made is
removed at the end, also on Ctrl-C or an error.

Needs the bench extra (matplotlib, llm-sandbox): `.venv/bin/pip install -e '.[bench]'` (without
llm-sandbox its column says why it is missing). Run:
  .venv/bin/python bench/harness --runs 10 --burst 20
  .venv/bin/python bench/harness --burst 50 --modes burst --baseline bench/results/<earlier>-harness.json
Writes bench/results/<UTC time>-harness.{json,png} (machine, parameters, every raw timing) and
bench/results/latest-harness.png.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/: create_exec and this package

from create_exec import own_server

from daytona_sdk import Daytona, DaytonaConfig
from daytona_server.config import DEFAULT_IMAGE
from harness import modes, report
from harness.systems import (
    CREATE_TIMEOUT_S,
    DockerSdk,
    LlmSandbox,
    Ours,
    OursPool,
    System,
    docker_client,
    sweep_containers,
)

MODES = {
    "sequential": modes.sequential,
    "staggered": modes.staggered,
    "burst": modes.burst,
    "exec": modes.exec_round_trip,
}
SYSTEMS = ("ours", "ours-pool", "docker", "llm-sandbox")


def parse_args() -> argparse.Namespace:
    def names(allowed: tuple[str, ...] | list[str]) -> Callable[[str], list[str]]:
        def parse(text: str) -> list[str]:
            picked = [n.strip() for n in text.split(",") if n.strip()]
            if not picked or any(n not in allowed for n in picked):
                raise argparse.ArgumentTypeError(f"pick from {','.join(allowed)}")
            return [n for n in allowed if n in picked]

        return parse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="creates in sequential and staggered mode (default 10)")
    parser.add_argument("--burst", type=int, default=20, help="creates at once in burst mode (default 20)")
    parser.add_argument("--exec-runs", type=int, default=50, help="round trips in exec mode (default 50)")
    parser.add_argument(
        "--modes", type=names(list(MODES)), default=list(MODES), help="default: all of " + ",".join(MODES)
    )
    parser.add_argument(
        "--only", type=names(SYSTEMS), default=list(SYSTEMS), help="default: all of " + ",".join(SYSTEMS)
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="an earlier harness JSON: its sequential p50 for the burst ratio of a run without one",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=0,
        help="ours-pool: its server's DAYTONA_POOL_SIZE (default: the most any mode makes, so every create hits)",
    )
    parser.add_argument("--image", default=DEFAULT_IMAGE, help=f"image for every system (default {DEFAULT_IMAGE})")
    args = parser.parse_args()
    args.pool_size = args.pool_size or max(args.runs, args.burst)
    for flag in ("runs", "burst", "exec_runs", "pool_size"):
        if not 1 <= getattr(args, flag) <= 200:  # bounded: every create here is a real container
            parser.error(f"--{flag.replace('_', '-')} must be between 1 and 200")
    if args.baseline and not args.baseline.is_file():
        parser.error(f"--baseline {args.baseline}: no such file")
    return args


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C


def cleanup(systems: list[System], client: Any) -> None:
    for system in systems:
        try:
            system.close()
        except Exception as exc:
            print(f"warning: {system.name}: cleanup failed: {exc}")
    if swept := sweep_containers(client):
        print(f"removed {swept} leftover container(s) by label")


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    client = docker_client(pool=max(args.burst, args.runs) + 8)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    machine = report.machine_info(client, args.image)
    print(
        f"machine: {machine['cpus']} CPUs, {machine['memory_gib']} GiB, kernel {machine['kernel']}, docker "
        f"{machine['docker_server']} ({machine['docker_storage_driver']}), load {machine['loadavg_at_start'][0]:.2f}"
        f", image {args.image}"
    )
    skipped: dict[str, str] = {}
    results: dict[str, dict[str, modes.Batch]] = {}
    interrupted = False
    with ExitStack() as stack:
        systems: list[System] = []
        if "ours" in args.only:
            url, key = stack.enter_context(own_server())
            daytona = stack.enter_context(Daytona(DaytonaConfig(api_key=key, server_url=url, target="us")))
            systems.append(Ours(daytona, client))
        if "ours-pool" in args.only:
            url, key = stack.enter_context(own_server(pool_size=args.pool_size))
            daytona = stack.enter_context(Daytona(DaytonaConfig(api_key=key, server_url=url, target="us")))
            systems.append(OursPool(daytona, client, url, args.pool_size))
        stack.callback(cleanup, systems, client)  # before the SDK client closes and the server stops
        if "docker" in args.only:
            systems.append(DockerSdk(client, args.image))
        if "llm-sandbox" in args.only:
            try:
                systems.append(LlmSandbox(client, args.image))
            except ImportError as exc:
                skipped["llm-sandbox"] = f"not installed ({exc}): .venv/bin/pip install -e '.[bench]'"
        try:
            for system in list(systems):  # warm-up, uncounted: caches, first requests, a working setup
                try:
                    system.remove(system.create())
                except Exception as exc:
                    if system.name != "llm-sandbox":
                        raise
                    skipped[system.name] = f"its warm-up create failed: {type(exc).__name__}: {exc}"[:300]
                    system.close()
                    systems.remove(system)
            for name, reason in skipped.items():
                print(f"{name}: left out: {reason}")
            for mode in args.modes:
                n = {"burst": args.burst, "exec": args.exec_runs}.get(mode, args.runs)
                for system in systems:
                    system.prepare(n)
                print(f"{mode}: {n} per system ({', '.join(s.name for s in systems)}) ...", flush=True)
                results[mode] = MODES[mode](systems, n)
        except KeyboardInterrupt:
            interrupted = True
            print("interrupted: removing what was made, then writing what was measured")
    if not results:
        return 130 if interrupted else 1
    for batches in results.values():
        for name, batch in batches.items():
            for error in sorted(set(batch.errors)):
                print(f"{name}: {batch.errors.count(error)} failed: {error}")
    sequential = results.get("sequential")
    if sequential is None and args.baseline:
        sequential = report.load_sequential(args.baseline)
        print(f"burst ratio against the sequential p50 of {args.baseline}")
    print("\n" + report.table(results, sequential))
    for name, reason in skipped.items():
        print(f"{name}: left out: {reason}")

    run = {
        "started_utc": stamp,
        "interrupted": interrupted,
        "machine": machine,
        "parameters": {
            "runs": args.runs,
            "burst": args.burst,
            "exec_runs": args.exec_runs,
            "modes": args.modes,
            "systems": args.only,
            "stagger_s": modes.STAGGER_S,
            "baseline": str(args.baseline) if args.baseline and "sequential" not in results else None,
            "image": args.image,
            "network": "none (ours: DAYTONA_NETWORK=off)",
            "ours_pool_size": args.pool_size if "ours-pool" in args.only else None,
            "ours": "no warm pool (DAYTONA_POOL_SIZE=0): every create is cold",
            "create_timeout_s": CREATE_TIMEOUT_S,
            "ours_sandbox_class": "small (1 CPU, 2 GiB memory, 10 GiB disk); Docker SDK and llm-sandbox: no limits",
            "llm_sandbox_settings": "backend=docker, lang=python, skip_environment_setup=True, "
            "runtime_configs={command: 'sleep infinity', network_mode: 'none'}",
            "lifetime": "one uncounted create per system first; sandboxes live until their mode's batch ends; "
            "removal is not timed",
            "percentiles": "linear interpolation between closest ranks (statistics.quantiles, inclusive)",
        },
        "left_out": skipped,
    }
    report.RESULTS.mkdir(exist_ok=True)
    json_path = report.RESULTS / f"{stamp}-harness.json"
    report.write_json(json_path, run, results, sequential)
    png_paths = [report.RESULTS / f"{stamp}-harness.png", report.RESULTS / "latest-harness.png"]
    subtitle = (
        f"{stamp}: {machine['cpus']} CPUs, {machine['memory_gib']} GiB, docker {machine['docker_server']}\n"
        f"image {args.image}, no network"
    )
    try:
        report.write_chart(png_paths, results, subtitle)
        print(f"\nwrote {json_path}, {png_paths[0]} and {png_paths[1]}")
    except ImportError as exc:
        print(f"\nwrote {json_path}; no chart ({exc}): .venv/bin/pip install -e '.[bench]'")
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
