"""How creates are issued (sequential, staggered, burst, as ComputeSDK measures hosted providers)
and the numbers drawn from them. Sandboxes live until their batch ends; removal is never timed."""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from harness.systems import System

STAGGER_S = 0.2


@dataclass
class Batch:
    """One system in one mode: each sandbox's latency in ms (None where it failed), and the wall time."""

    ms: list[float | None] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def ok(self) -> list[float]:
        return [v for v in self.ms if v is not None]

    def to_json(self) -> dict[str, Any]:
        return {"ms": self.ms, "errors": self.errors, "wall_s": self.wall_s, "summary": summary(self)}


def percentile(values: Sequence[float], pct: int) -> float:
    """Linear interpolation between the closest ranks (the 'inclusive' method); one value is itself."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def summary(batch: Batch) -> dict[str, Any]:
    ok = batch.ok
    out: dict[str, Any] = {"success": len(ok), "attempts": len(batch.ms), "wall_s": round(batch.wall_s, 3)}
    if ok:
        out |= {f"p{p}": percentile(ok, p) for p in (50, 95, 99)} | {"min": min(ok), "max": max(ok)}
    return out


def _attempt(system: System, made: list[Any], batch: Batch, slot: int, lock: threading.Lock) -> tuple[float, float]:
    """Time one create + first exec into batch.ms[slot]; return its start and end (perf_counter)."""
    start = time.perf_counter()
    try:
        handle = system.create()
    except Exception as exc:
        end = time.perf_counter()
        with lock:
            batch.errors.append(f"{type(exc).__name__}: {exc}"[:500])
        return start, end
    end = time.perf_counter()
    with lock:
        batch.ms[slot] = (end - start) * 1000
        made.append(handle)
    return start, end


def _remove_all(system: System, made: list[Any]) -> None:
    for handle in made:
        try:
            system.remove(handle)
        except Exception as exc:
            print(f"warning: {system.name}: removal failed: {exc}")


def sequential(systems: Sequence[System], n: int) -> dict[str, Batch]:
    """N creates one after another, the systems interleaved run by run (so load drifts hit all alike)."""
    batches = {s.name: Batch(ms=[None] * n) for s in systems}
    made: dict[str, list[Any]] = {s.name: [] for s in systems}
    spans: dict[str, list[tuple[float, float]]] = {s.name: [] for s in systems}
    lock = threading.Lock()
    try:
        for i in range(n):
            for s in systems:
                spans[s.name].append(_attempt(s, made[s.name], batches[s.name], i, lock))
                s.settle()
    finally:
        for s in systems:
            _remove_all(s, made[s.name])
    for s in systems:  # interleaved, so wall time is the sum of this system's own creates
        batches[s.name].wall_s = sum(end - start for start, end in spans[s.name])
    return batches


def _threaded(system: System, n: int, delay: Callable[[int], float]) -> Batch:
    """N creates from N threads, the i-th issued delay(i) seconds after the first; wall = first start to last end."""
    batch, lock = Batch(ms=[None] * n), threading.Lock()
    made: list[Any] = []
    stop = threading.Event()
    ready = threading.Barrier(n + 1, timeout=60)
    t0: list[float] = []

    def worker(i: int) -> tuple[float, float] | None:
        ready.wait()
        if stop.wait(max(0.0, t0[0] + delay(i) - time.perf_counter())):
            return None  # Ctrl-C or an error: issue nothing new
        return _attempt(system, made, batch, i, lock)

    try:
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix=f"bench-{system.name}") as pool:
            futures = [pool.submit(worker, i) for i in range(n)]
            try:
                t0.append(time.perf_counter())
                ready.wait()
                spans = [span for f in futures if (span := f.result()) is not None]
            except BaseException:
                stop.set()
                ready.abort()
                raise
        batch.wall_s = max(end for _, end in spans) - min(start for start, _ in spans) if spans else 0.0
    finally:
        _remove_all(system, made)
    system.settle()
    return batch


def staggered(systems: Sequence[System], n: int) -> dict[str, Batch]:
    """One create every 200 ms, N in all, each system on its own."""
    return {s.name: _threaded(s, n, lambda i: i * STAGGER_S) for s in systems}


def burst(systems: Sequence[System], n: int) -> dict[str, Batch]:
    """N creates at once from N threads, each system on its own."""
    return {s.name: _threaded(s, n, lambda i: 0.0) for s in systems}


def exec_round_trip(systems: Sequence[System], n: int) -> dict[str, Batch]:
    """`true` N times in one warm sandbox per system (one uncounted exec first), interleaved in a new
    random order each round."""
    handles = {}
    try:
        for s in systems:
            handles[s.name] = s.create()
            s.exec(handles[s.name])
        batches = {s.name: Batch() for s in systems}
        order = list(systems)
        for _ in range(n):
            random.shuffle(order)  # Docker's exec leaves the CPUs busy a while: nobody always follows it
            for s in order:
                start = time.perf_counter()
                s.exec(handles[s.name])
                elapsed = time.perf_counter() - start
                batches[s.name].ms.append(elapsed * 1000)
                batches[s.name].wall_s += elapsed
        return batches
    finally:
        for s in systems:
            if s.name in handles:
                _remove_all(s, [handles[s.name]])
