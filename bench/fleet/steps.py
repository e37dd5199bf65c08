"""The steps of a fleet run: the sandboxes, the exec round trips, and when memory is read."""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from harness.systems import CREATE_TIMEOUT_S, DockerSdk, Ours, sweep_containers

from daytona_sdk import CreateWorkspaceParams, Workspace
from fleet.procmem import agents_memory, cpu_ticks, host_memory, memory_kib

LABEL = ("daytona-bench", "fleet")  # not the harness's: a sweep here leaves a harness run next door alone
SETTLE_BUSY = 0.25  # before timing round trips: CPUs at most this busy (the shims and agents just made settle)
SETTLE_MAX_S = 60
EXEC_TIMEOUT_S = 60  # the agent kills `true` after this (it never gets near); the HTTP call waits a little longer


class Fleet(Ours):
    """Our sandboxes as the harness makes them, but never auto-stopped mid-run, and exec bounded."""

    def create(self) -> Workspace:
        sandbox_id = f"sandbox-{uuid.uuid4().hex[:8]}"
        self.made.add(sandbox_id)
        params = CreateWorkspaceParams(id=sandbox_id, labels=dict([LABEL]), auto_stop_interval=0)
        ws: Workspace = self._keep(self.daytona.create(params, timeout=CREATE_TIMEOUT_S))
        return ws

    def exec(self, handle: Workspace) -> None:
        result = handle.process.exec("true", timeout=EXEC_TIMEOUT_S)
        if result.exit_code != 0:
            raise RuntimeError(f"process.exec('true') exited {result.exit_code}")


class Baseline(DockerSdk):
    """The Docker SDK baseline of the harness (`sleep infinity`, network "none"), with this bench's label."""

    def create(self) -> Any:
        container = self.client.containers.run(
            self.image, "sleep infinity", detach=True, network_mode="none", labels=dict([LABEL])
        )
        self._keep(container)
        self.exec(container)
        return container


def sweep(client: Any, deadline_s: float = 60) -> int:
    """Remove any container left with this bench's label; wait (bounded) till they are gone."""
    return sweep_containers(client, deadline_s, LABEL)


def settle(max_s: float = SETTLE_MAX_S, busy: float = SETTLE_BUSY) -> dict[str, Any]:
    """Wait until the CPUs were at most `busy` busy for 3 one-second windows in a row, or `max_s` passed."""
    start, quiet, seen = time.monotonic(), 0, []
    while quiet < 3 and time.monotonic() - start < max_s:
        b0, t0 = cpu_ticks()
        time.sleep(1)
        b1, t1 = cpu_ticks()
        seen.append(round((b1 - b0) / max(1, t1 - t0), 3))
        quiet = quiet + 1 if seen[-1] <= busy else 0
    return {"settled": quiet >= 3, "waited_s": round(time.monotonic() - start, 1), "busy_per_second": seen}


def _settle(out: dict[str, Any], key: str) -> None:
    out[key] = settle()
    state = "settled" if out[key]["settled"] else f"still busy after {SETTLE_MAX_S} s (another workload?)"
    print(f"  CPUs {state}: {out[key]['busy_per_second'][-1]:.0%} busy, waited {out[key]['waited_s']} s", flush=True)


def timed_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def exec_phase(
    fleet: Fleet, targets: list[Workspace], docker: DockerSdk, container: Any, rounds: int
) -> dict[str, Any]:
    """`rounds` round trips each, ours cycling through `targets`, interleaved with Docker's on `container`."""
    ours: list[float | None] = []
    theirs: list[float] = []
    errors: list[str] = []
    for i in range(rounds):
        try:
            ours.append(timed_ms(lambda: fleet.exec(targets[i % len(targets)])))  # noqa: B023 (called at once)
        except Exception as exc:
            ours.append(None)
            errors.append(f"{type(exc).__name__}: {exc}"[:300])
        theirs.append(timed_ms(lambda: docker.exec(container)))
    return {"sandboxes": len(targets), "ours_ms": ours, "docker_ms": theirs, "errors": errors}


def build(fleet: Fleet, made: list[Workspace], count: int, concurrency: int, server_pid: int) -> dict[str, Any]:
    """`count` more sandboxes into `made`, `concurrency` at a time, each answering one exec.

    Stops issuing creates after max(3, count / 20) failures."""
    total = len(made) + count
    create_ms: list[float] = []
    first_exec_ms: list[float] = []
    errors: list[str] = []
    growth: list[tuple[int, int]] = []  # (sandboxes alive, server RSS KiB) as the fleet grows
    lock, stop = threading.Lock(), threading.Event()
    max_errors = max(3, count // 20)
    every = max(1, total // 20)
    start = time.monotonic()

    def one() -> None:
        if stop.is_set():
            return
        try:
            t0 = time.perf_counter()
            ws = fleet.create()
            t1 = time.perf_counter()
            fleet.exec(ws)
            t2 = time.perf_counter()
        except Exception as exc:
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
                if len(errors) >= max_errors:
                    stop.set()
            return
        with lock:
            made.append(ws)
            create_ms.append((t1 - t0) * 1000)
            first_exec_ms.append((t2 - t1) * 1000)
            done = len(made)
            if done % every == 0 or done == total:
                rss = memory_kib(server_pid).get("rss", 0)
                growth.append((done, rss))
                print(
                    f"  {done}/{total} up after {time.monotonic() - start:.0f} s; last create {create_ms[-1]:.0f} ms,"
                    f" first exec {first_exec_ms[-1]:.0f} ms; server RSS {rss / 1024:.1f} MiB",
                    flush=True,
                )

    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fleet")
    futures: list[Future[None]] = [pool.submit(one) for _ in range(count)]
    try:
        wait(futures)
    except BaseException:
        stop.set()  # Ctrl-C: nothing new starts; creates under way end (bounded) and are removed after
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return {
        "create_ms": create_ms,
        "first_exec_ms": first_exec_ms,
        "errors": errors,
        "growth": growth,
        "wall_s": time.monotonic() - start,
    }


def remove_all(fleet: Fleet, made: list[Workspace], concurrency: int) -> None:
    """Remove the fleet a few at a time (what is left, or fails, Fleet.close() sweeps)."""
    print(f"removing {len(made)} sandbox(es) ...", flush=True)

    def one(ws: Workspace) -> None:
        try:
            fleet.remove(ws)
        except Exception as exc:
            print(f"warning: removing {ws.id}: {exc}")

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fleet-rm") as pool:
        list(pool.map(one, made))


def measure(
    args: argparse.Namespace, fleet: Fleet, docker: DockerSdk, made: list[Workspace], server_pid: int
) -> dict[str, Any]:
    """Steps 1 to 5 of the module's docstring; what was measured so far is in the answer, also on Ctrl-C."""
    out: dict[str, Any] = {"memory": {"started": host_memory(server_pid)}}
    try:
        print("warm-up: one sandbox (create, 5 execs, remove) and the Docker baseline container ...", flush=True)
        ws = fleet.create()
        for _ in range(5):
            fleet.exec(ws)
        fleet.remove(ws)
        container = docker.create()  # runs `true` once
        for _ in range(5):
            docker.exec(container)
        out["memory"]["base"] = host_memory(server_pid)

        print(f"exec round trip with 1 sandbox alive: {args.rounds} each ...", flush=True)
        made.append(fleet.create())
        fleet.exec(made[0])
        _settle(out, "settle_1")
        out["exec_1_alive"] = exec_phase(fleet, made[:1], docker, container, args.rounds)

        print(f"fleet: {args.count} sandboxes, {args.concurrency} at a time ...", flush=True)
        out["build"] = build(fleet, made, args.count - 1, args.concurrency, server_pid)
        for error in sorted(set(out["build"]["errors"])):
            print(f"  {out['build']['errors'].count(error)} failed: {error}")

        print(f"every one of the {len(made)} answers an exec ...", flush=True)
        verify: dict[str, Any] = {"ms": [], "failed": {}}
        for ws in made:
            try:
                verify["ms"].append(timed_ms(lambda: fleet.exec(ws)))  # noqa: B023 (called at once)
            except Exception as exc:
                verify["ms"].append(None)
                verify["failed"][ws.id] = f"{type(exc).__name__}: {exc}"[:300]
        out["verify"] = verify
        out["memory"]["fleet"] = host_memory(server_pid)
        out["memory"]["agents"] = agents_memory(fleet.client, {ws.id for ws in made})

        step = max(1, len(made) // args.sample)
        sample = made[::step][: args.sample]
        print(f"exec round trip with {len(made)} alive: {args.rounds} each, ours over {len(sample)} ...", flush=True)
        _settle(out, "settle_n")
        out["exec_n_alive"] = exec_phase(fleet, sample, docker, container, args.rounds)
        print(f"and ours on the 1-alive sandbox only, {len(made)} alive (is it the fleet, or the cycling?) ...")
        out["exec_n_alive_first"] = exec_phase(fleet, made[:1], docker, container, args.rounds)
        out["memory"]["after_exec_n"] = host_memory(server_pid)
    except KeyboardInterrupt:
        out["interrupted"] = True
        print("interrupted: removing what was made, then writing what was measured")
    out["alive"] = len(made)
    return out
