"""The runtime interface: what the lifecycle needs from a container backend (Docker today)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

import httpx

if TYPE_CHECKING:
    from .networks import BridgeNetworks


class RuntimeFailure(Exception):
    """A runtime operation failed; the message says what and, where possible, what to do."""


class ImageNotFound(RuntimeFailure):
    pass


@dataclass(frozen=True)
class VolumeMount:
    """A volume bound into a sandbox: `source` (the volume's directory on this host), or its `subpath`, at `target`.

    The runtime resolves `subpath` itself, never following a link (see daytona_server.volumes.binds).
    """

    source: Path
    target: str
    subpath: str | None = None
    read_only: bool = False


@dataclass(frozen=True)
class NetworkAttachment:
    """How a container joins the server's bridge: at its static address."""

    network: str
    ip: str


@dataclass
class SandboxSpec:
    """What a sandbox's container is made from."""

    sandbox_id: str
    image: str
    os_user: str
    env: dict[str, str] = field(default_factory=dict)
    cpu: int = 1
    memory_gb: int = 2
    disk_gb: int = 10
    gpu: int = 0
    entrypoint: str | None = None  # run by the agent in the background at every start
    mounts: list[VolumeMount] = field(default_factory=list)
    network: NetworkAttachment | None = None  # None: loopback only
    dns: str | None = None  # the resolver to configure (the bridge's gateway), even while off the bridge
    # A warm-pool member (daytona_server.lifecycle.pool): its agent waits for `claim` to give it the
    # sandbox's user, environment and entrypoint; until then nothing of any user runs in it.
    pool: bool = False


@dataclass
class ContainerStatus:
    exists: bool
    running: bool
    exit_code: int | None = None
    error: str | None = None


class ImageEngine(Protocol):
    """Images on a runtime's engine: what daytona_server.images needs (runner.images.ImageTools on Docker)."""

    def exists(self, name: str) -> bool: ...
    def size_gb(self, name: str) -> float | None: ...
    def image_id(self, name: str) -> str | None: ...
    def validate(self, name: str) -> str | None: ...
    def onbuild_copies_from(self, name: str) -> bool: ...
    def build(self, name: str, context: BinaryIO, dockerfile: str) -> Iterator[dict[str, Any]]: ...
    def load(self, tarball: BinaryIO) -> list[str]: ...
    def tag(self, source: str, target: str) -> None: ...
    def remove(self, name: str) -> None: ...

    build_network: str  # the network that image builds run on ("none": offline)


class Runtime(Protocol):
    """One container per sandbox. Implementations must be safe to call from several threads."""

    @property
    def images(self) -> ImageEngine:
        """The engine's images (build, load, tag, check)."""
        ...

    def image_exists(self, image: str) -> bool: ...

    def create(self, spec: SandboxSpec) -> str:
        """Create the container (not started); return its id."""
        ...

    def start(self, sandbox_id: str) -> None:
        """Start the container and return once its agent answers."""
        ...

    def claim(self, spec: SandboxSpec, member_id: str | None = None) -> None:
        """Make the started pool member `member_id` (made with `spec.pool`) the sandbox of `spec`: under
        its id (where they differ, the runtime maps the id to the member and gives it the id's hostname:
        only where `can_rename`), with its OS user, environment and entrypoint. `member_id` None: finish
        the claim of one claimed before (a no-op if it was)."""
        ...

    def id_reserved(self, sandbox_id: str) -> bool:
        """Whether `sandbox_id` is the id a pool member was made under that now serves another sandbox:
        no new sandbox may take it on this runner."""
        ...

    def can_rename(self) -> bool:
        """Whether a pool member can take another sandbox id than the one it was made under."""
        ...

    def stop(self, sandbox_id: str) -> None: ...

    def remove(self, sandbox_id: str) -> None:
        """Remove the container and everything the runtime keeps for it; missing is not an error."""
        ...

    def status(self, sandbox_id: str) -> ContainerStatus: ...

    def agent_transport(self, sandbox_id: str) -> httpx.AsyncBaseTransport:
        """A new connection pool to the sandbox's agent (a unix socket, a tunnel...); the caller closes it."""
        ...

    def agent_connect(self, sandbox_id: str) -> socket.socket:
        """A new connected socket to the sandbox's agent, for WebSockets (blocking)."""
        ...

    def agent_blocking_transport(self, sandbox_id: str) -> httpx.BaseTransport:
        """The same for blocking callers (the lifecycle thread's busy probe)."""
        ...

    def list_sandbox_ids(self) -> list[str]:
        """Ids of every sandbox container of this server known to the runtime."""
        ...

    def export_changes(
        self, sandbox_id: str, out: BinaryIO, progress: Callable[[int], None] | None = None
    ) -> tuple[str, int]:
        """Write the stopped sandbox's own changes against its image to `out`; return (sha256, size)."""
        ...

    def import_changes(self, sandbox_id: str, archive: Path, progress: Callable[[int], None] | None = None) -> None:
        """Put archived changes into a created, not yet started, container."""
        ...

    def export_running_changes(self, sandbox_id: str, out: BinaryIO) -> tuple[str, int, float]:
        """Like export_changes, of a running sandbox frozen briefly; returns (sha256, size, seconds frozen)."""
        ...

    def commit(self, sandbox_id: str, ref: str) -> float:
        """Save a running sandbox's file system as image `ref`; returns seconds frozen."""
        ...

    def update_resources(self, sandbox_id: str, cpu: int, memory_gb: int) -> None: ...

    @property
    def networks(self) -> BridgeNetworks | None:
        """The engine's bridge networks, where sandboxes can have a network; None where they cannot."""
        ...

    def supports_gpu(self) -> bool: ...

    def disk_quota(self) -> tuple[bool, str]:
        """(enforced, reason): whether each sandbox's `disk_gb` is a hard limit here, and why."""
        ...
