"""The warm pool: started sandboxes kept ready, so that a create takes one instead of waiting for Docker.

A member is a container made and started like any sandbox, under a sandbox id of its own, but with
its agent waiting for an identity (daytona_agent.identity): nothing of any user runs in it, and it
is in no user's quota. A create without an id takes the member's; one with an id (the seed's SDK
always sends one) has the runtime map that id to the member and set its hostname (the runtime's claim). A create
that a member can serve (same engine image and disk size; no volumes, GPU, Dockerfile or fork)
takes one: the service records the sandbox under the member's id and address, then the runtime
claims it (OS user, environment, entrypoint), its resources and network policy are applied, and it
is the user's (SandboxService.provision).

Sizing: `pool_size` members of the default image at all times, more for an image (the default
included) while it is in demand: after two creates within DEMAND_WINDOW_S, as many as the largest
number of its creates within any BURST_SPAN_S of that window. Never more than `pool_max` in all,
never one while creates are in flight or within QUIET_S of the last (it would compete with them for
the engine and the CPUs), and never one while the host has less than `pool_min_free_mb` of memory
available. One background thread
makes and removes members, one at a time; members of an image whose tag moved are replaced.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Settings
from ..network.manager import SandboxNetworks
from ..runner.base import NetworkAttachment, Runtime, RuntimeFailure, SandboxSpec
from .requests import new_sandbox_id

log = logging.getLogger("daytona.pool")

DEMAND_WINDOW_S = 600.0
BURST_SPAN_S = 10.0
IDLE_WAKE_S = 2.0  # how often the pool looks at its targets when nothing wakes it
IMAGE_CHECK_S = 15.0  # how often it checks that its members' images are still what their tags name
FAILURE_BACKOFF_S = 30.0  # after a member of a key failed to start, none of that key for this long
QUIET_S = 1.0  # no member is made until creates have stopped for this long (a burst is not slowed)


@dataclass(frozen=True)
class PoolKey:
    """What a member can serve: sandboxes of this engine image with this disk size."""

    image: str
    disk_gb: int


@dataclass
class Member:
    sandbox_id: str
    key: PoolKey
    ip: str | None  # its address on the bridge (None: loopback only)
    cpu: int
    memory_gb: int
    image_id: str | None = None
    container_id: str = ""
    made_at: float = field(default_factory=time.monotonic)


class Demand:
    """Recent creates per key, and how many members that asks for."""

    def __init__(self, window_s: float = DEMAND_WINDOW_S, span_s: float = BURST_SPAN_S) -> None:
        self.window_s, self.span_s = window_s, span_s
        self._creates: dict[PoolKey, deque[float]] = {}

    def note(self, key: PoolKey, now: float) -> None:
        self._creates.setdefault(key, deque()).append(now)

    def wanted(self, now: float) -> dict[PoolKey, int]:
        """Per key in demand: the largest number of its creates within any span of the window."""
        wanted: dict[PoolKey, int] = {}
        for key, times in list(self._creates.items()):
            while times and now - times[0] > self.window_s:
                times.popleft()
            if not times:
                del self._creates[key]
            elif len(times) >= 2:
                peak, first = 0, 0
                for last, stamp in enumerate(times):
                    while stamp - times[first] > self.span_s:
                        first += 1
                    peak = max(peak, last - first + 1)
                wanted[key] = peak
        return wanted


def available_memory_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


class WarmPool:
    def __init__(
        self,
        settings: Settings,
        runtime: Runtime,
        networks: SandboxNetworks,
        allocate: Callable[[set[str]], str | None],
        address_lock: threading.Lock,
        id_taken: Callable[[str], bool],
    ) -> None:
        """`allocate(extra in use)` hands out a bridge address (under `address_lock`, which the service
        holds for its own allocations too); `id_taken` says whether a sandbox id is in use."""
        self.settings = settings
        self.runtime = runtime
        self.networks = networks
        self.allocate = allocate
        self.address_lock = address_lock
        self.id_taken = id_taken
        self._creating = 0  # creates in flight (members adopted, or cold): the pool makes none meanwhile
        self._quiet_from = 0.0  # monotonic time from which no create has been in flight for QUIET_S
        self.default_key = PoolKey(settings.default_image, settings.default_disk_gb)
        self.demand = Demand()
        self.hits = self.misses = 0
        self._ready: dict[PoolKey, list[Member]] = {}
        self._making: Member | None = None
        self._taken: dict[str, Member] = {}  # taken by a create, until the service claims or returns it
        self._backoff: dict[PoolKey, float] = {}
        self._images_checked = 0.0
        self._low_memory = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        # Whether this replica runs the background work (daytona_server.cluster): only its pool has members.
        self.leading: Callable[[], bool] = lambda: True

    @property
    def enabled(self) -> bool:
        return self.settings.pool_size > 0 and self.leading()

    # -- what the service asks -------------------------------------------------------------------

    def take(self, key: PoolKey, sandbox_id: str | None = None) -> Member | None:
        """A ready member for `key` (the oldest), now the caller's, for the sandbox `sandbox_id` (None:
        under the member's own id); None when there is none."""
        if not self.enabled:
            return None
        with self._lock:
            now = time.monotonic()
            self.demand.note(key, now)
            # Quiet from now on: the create that took it (or missed) has not reached the engine yet,
            # and the rest of its burst is on its way.
            self._quiet_from = max(self._quiet_from, now + QUIET_S)
            members = self._ready.get(key)
            member = members.pop(0) if members else None
            if member is None:
                self.misses += 1
            else:
                self.hits += 1
                self._taken[sandbox_id or member.sandbox_id] = member
        self._wake.set()
        return member

    def give_back(self, member: Member) -> None:
        """A member taken by a create that was refused before its sandbox was recorded."""
        with self._lock:
            for sandbox_id, taken in list(self._taken.items()):
                if taken is member:
                    del self._taken[sandbox_id]
                    self._ready.setdefault(member.key, []).insert(0, member)
                    self.hits -= 1

    def claimed(self, sandbox_id: str) -> Member | None:
        """The member a recorded sandbox was made from (once: the service adopts it now), if any."""
        with self._lock:
            return self._taken.pop(sandbox_id, None)

    def adopt(self, member: Member, spec: SandboxSpec) -> str | None:
        """Make a taken member the sandbox of `spec`: its resources, network policy, then its identity.
        Its container id; None when that failed (the member is gone: the caller creates it cold)."""
        with self._creation():
            return self._adopt(member, spec)

    def _adopt(self, member: Member, spec: SandboxSpec) -> str | None:
        try:  # on the member's container, under the name it has until the claim
            if (spec.cpu, spec.memory_gb) != (member.cpu, member.memory_gb):
                self.runtime.update_resources(member.sandbox_id, spec.cpu, spec.memory_gb)
            if spec.network is None and member.ip is not None:
                self.networks.detach(member.sandbox_id)  # blocked: off the bridge before anything of the user runs
            self.runtime.claim(spec, member.sandbox_id)
            return member.container_id
        except RuntimeFailure as exc:
            log.warning("sandbox %s: the pool member could not be adopted (%s): creating it anew", spec.sandbox_id, exc)
            self.runtime.remove(spec.sandbox_id)
            self.runtime.remove(member.sandbox_id)  # if it was not mapped to the sandbox yet
            return None

    def create_cold(self, spec: SandboxSpec) -> str:
        """Create and start the container of `spec` as any runtime does (no member could serve it)."""
        with self._creation():
            container_id = self.runtime.create(spec)
            self.runtime.start(spec.sandbox_id)
            return container_id

    @contextmanager
    def _creation(self) -> Iterator[None]:
        with self._lock:
            self._creating += 1
        try:
            yield
        finally:
            with self._lock:
                self._creating -= 1
                self._quiet_from = time.monotonic() + QUIET_S
            self._wake.set()  # it sleeps until then, then refills

    def holds(self, sandbox_id: str) -> bool:
        with self._lock:
            return any(m.sandbox_id == sandbox_id for m in self._members())

    def addresses(self) -> set[str]:
        """Bridge addresses of members (ready, being made, or taken and not yet recorded)."""
        with self._lock:
            return {m.ip for m in (*self._members(), *self._taken.values()) if m.ip is not None}

    def _members(self) -> list[Member]:
        ready = [m for members in self._ready.values() for m in members]
        return [*ready, self._making] if self._making is not None else ready

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "size": self.settings.pool_size if self.enabled else 0,
                "ready": sum(len(m) for m in self._ready.values()),
                "starting": int(self._making is not None),
                "hits": self.hits,
                "misses": self.misses,
            }

    def drain(self, image: str) -> None:
        """Remove the ready members of engine image `image` now (its tag moves, or it is deleted)."""
        with self._lock:
            gone = [m for key, members in self._ready.items() if key.image == image for m in members]
            for key in [k for k in self._ready if k.image == image]:
                del self._ready[key]
        for member in gone:
            self._remove(member)
        self._wake.set()

    # -- the background thread -------------------------------------------------------------------

    def start(self) -> None:
        if self.settings.pool_size > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="warm-pool", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop refilling and remove every member no create has taken."""
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=120)
        with self._lock:
            members = [m for members in self._ready.values() for m in members]
            self._ready.clear()
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="warm-pool-close") as removals:
            list(removals.map(self._remove, members))  # at once: a shutdown must not take minutes

    def _run(self) -> None:
        while not self._closed.is_set():
            self._wake.clear()
            try:
                more = self.step()
            except Exception:
                log.exception("warm pool")
                more = False
            if not more:
                quiet = self._quiet_from - time.monotonic()
                self._wake.wait(min(IDLE_WAKE_S, max(quiet, 0.05)) if quiet > 0 else IDLE_WAKE_S)

    def targets(self, now: float) -> dict[PoolKey, int]:
        """Members wanted per key: the default image's floor, and what demand asks, within pool_max."""
        wanted = {self.default_key: self.settings.pool_size}
        for key, peak in self.demand.wanted(now).items():
            wanted[key] = max(wanted.get(key, 0), min(peak, self.settings.pool_max))
        targets, room = {}, self.settings.pool_max
        for key in sorted(wanted, key=lambda k: (k != self.default_key, -wanted[k])):
            targets[key] = min(wanted[key], room)
            room -= targets[key]
        return targets

    def step(self) -> bool:
        """One change towards the targets (remove a stale or surplus member, or make one); True if
        there may be more to do at once."""
        if not self.leading():
            return False
        now = time.monotonic()
        if now - self._images_checked > IMAGE_CHECK_S:
            self._images_checked = now
            self._drop_stale()
        with self._lock:
            targets = self.targets(now)
            surplus = next(
                (ms[-1] for key, ms in self._ready.items() if len(ms) > targets.get(key, 0)), None
            )  # the newest: the oldest go first to creates
            if surplus is not None:
                self._ready[surplus.key].remove(surplus)
            short = [
                key
                for key, target in targets.items()
                if len(self._ready.get(key, [])) < target and self._backoff.get(key, 0) <= now
            ]
        if surplus is not None:
            self._remove(surplus)
            return True
        if not short or self._creating or now < self._quiet_from or not self._memory_ok():
            return False
        key = max(short, key=lambda k: targets[k] - len(self._ready.get(k, [])))
        self._make(key)
        return True

    def _memory_ok(self) -> bool:
        free = available_memory_mb()
        low = free is not None and free < self.settings.pool_min_free_mb
        if low and not self._low_memory:
            log.warning(
                "warm pool: not refilling, %s MB of memory available (DAYTONA_POOL_MIN_FREE_MB=%s)",
                free,
                self.settings.pool_min_free_mb,
            )
        self._low_memory = low
        return not low

    def _make(self, key: PoolKey) -> None:
        sandbox_id = new_sandbox_id()
        while self.id_taken(sandbox_id):
            sandbox_id = new_sandbox_id()
        settings = self.settings
        with self.address_lock:
            ip = self.allocate(self.addresses())
            member = Member(sandbox_id, key, ip, settings.default_cpu, settings.default_memory_gb)
            with self._lock:
                self._making = member
        try:
            member.image_id = self.runtime.images.image_id(key.image)
            spec = SandboxSpec(
                sandbox_id=sandbox_id,
                image=key.image,
                os_user="daytona",
                cpu=member.cpu,
                memory_gb=member.memory_gb,
                disk_gb=key.disk_gb,
                network=NetworkAttachment(self.networks.network_name, ip) if ip is not None else None,
                dns=self.networks.dns,
                pool=True,
            )
            member.container_id = self.runtime.create(spec)
            self.runtime.start(sandbox_id)
        except RuntimeFailure as exc:
            log.warning("warm pool: cannot start a member of %s: %s", key.image, exc)
            with self._lock:
                self._making = None
                self._backoff[key] = time.monotonic() + FAILURE_BACKOFF_S
            self._remove(member)
            return
        with self._lock:
            self._making = None
            if self._closed.is_set():
                closing = True
            else:
                closing = False
                self._ready.setdefault(key, []).append(member)
        if closing:
            self._remove(member)

    def _drop_stale(self) -> None:
        """Remove members whose image is no longer the one their key's tag names."""
        with self._lock:
            keys = list(self._ready)
        for key in keys:
            current = self.runtime.images.image_id(key.image)
            with self._lock:
                stale = [m for m in self._ready.get(key, []) if m.image_id != current]
                for member in stale:
                    self._ready[key].remove(member)
            for member in stale:
                log.info("warm pool: %s changed, replacing member %s", key.image, member.sandbox_id)
                self._remove(member)

    def _remove(self, member: Member) -> None:
        try:
            self.runtime.remove(member.sandbox_id)
        except RuntimeFailure as exc:
            log.warning("warm pool: cannot remove member %s: %s", member.sandbox_id, exc)
