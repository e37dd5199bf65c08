"""A stand-in Runtime for in-process API tests: containers in a dict, images in StubImages; runs nothing."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import httpx

from daytona_server.runner.agent_socket import AgentTransport, AsyncAgentTransport
from daytona_server.runner.base import ContainerStatus, Runtime, SandboxSpec

from .stub_images import StubImages


class StubRuntime:
    """Keeps containers in a dict (id -> running); enough for the API's bookkeeping, runs nothing.

    Implements the whole `Runtime` protocol (checked by mypy below): a test that needs more of a
    runtime subclasses it (see api_runtime.ApiRuntime).
    """

    def __init__(self) -> None:
        self.containers: dict[str, bool] = {}
        self.specs: dict[str, SandboxSpec] = {}  # what each container was made from (its mounts...)
        self.claims: dict[str, SandboxSpec] = {}  # pool members given an identity (see claim)
        self.images = StubImages()
        self.networks = None  # sandboxes here have no network

    def image_exists(self, image: str) -> bool:
        return self.images.exists(image)

    def create(self, spec: SandboxSpec) -> str:
        self.containers[spec.sandbox_id] = False
        self.specs[spec.sandbox_id] = spec
        return f"c-{spec.sandbox_id}"

    def start(self, sandbox_id: str) -> None:
        self.containers[sandbox_id] = True

    def claim(self, spec: SandboxSpec, member_id: str | None = None) -> None:
        if member_id is not None and member_id != spec.sandbox_id:  # renamed
            self.containers[spec.sandbox_id] = self.containers.pop(member_id)
            self.specs[spec.sandbox_id] = self.specs.pop(member_id)
        if self.specs[spec.sandbox_id].pool:  # any other agent has its identity from the start
            self.claims.setdefault(spec.sandbox_id, spec)

    def can_rename(self) -> bool:
        return True

    def id_reserved(self, sandbox_id: str) -> bool:
        return False

    def stop(self, sandbox_id: str) -> None:
        self.containers[sandbox_id] = False

    def remove(self, sandbox_id: str) -> None:
        self.containers.pop(sandbox_id, None)
        self.specs.pop(sandbox_id, None)
        self.claims.pop(sandbox_id, None)

    def status(self, sandbox_id: str) -> ContainerStatus:
        running = self.containers.get(sandbox_id)
        return ContainerStatus(exists=running is not None, running=bool(running))

    def agent_socket(self, sandbox_id: str) -> Path:
        """Where the sandbox's agent would listen: nowhere (ApiRuntime serves a real one for some)."""
        return Path("/nonexistent") / sandbox_id

    def agent_transport(self, sandbox_id: str) -> httpx.AsyncBaseTransport:
        return AsyncAgentTransport(self.agent_socket(sandbox_id))

    def agent_blocking_transport(self, sandbox_id: str) -> httpx.BaseTransport:
        return AgentTransport(self.agent_socket(sandbox_id))

    def agent_connect(self, sandbox_id: str) -> socket.socket:
        from daytona_server.runner import agent_socket

        return agent_socket.connect(self.agent_socket(sandbox_id), timeout=10)

    def list_sandbox_ids(self) -> list[str]:
        return list(self.containers)

    def export_changes(
        self, sandbox_id: str, out: BinaryIO, progress: Callable[[int], None] | None = None
    ) -> tuple[str, int]:
        data = b"changes of " + sandbox_id.encode()
        out.write(data)
        return hashlib.sha256(data).hexdigest(), len(data)

    def import_changes(self, sandbox_id: str, archive: Path, progress: Callable[[int], None] | None = None) -> None:
        pass

    def export_running_changes(self, sandbox_id: str, out: BinaryIO) -> tuple[str, int, float]:
        return (*self.export_changes(sandbox_id, out), 0.0)

    def commit(self, sandbox_id: str, ref: str) -> float:
        return 0.0

    def update_resources(self, sandbox_id: str, cpu: int, memory_gb: int) -> None:
        pass

    def supports_gpu(self) -> bool:
        return True

    def disk_quota(self) -> tuple[bool, str]:
        return False, "a stand-in runtime runs nothing"


_: Runtime = StubRuntime()  # mypy: the stand-in keeps up with the protocol
